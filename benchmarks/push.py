"""What pushing changes to open pages gives: latency of a status change, health under open
streams, and the cluster requests many viewers cost.

Dynamote runs as its image runs it (gunicorn with one uvicorn worker, dynamote/gunicorn.py,
DEBUG off, a fresh SQLite database) against a sandbox cluster in this process. One function
per measurement, each printing its figures and returning them:

- `status_change_latency`: a DGD's status changed in the sandbox, until an open Chromium
  dashboard shows it (p95 over 20 changes; target <= 1 s, polling alone took up to 10 s).
- `health_with_streams`: /api/health latency with 500 event streams open (target < 100 ms).
- `cluster_requests`: the requests the sandbox counts over a period with 200 open streams and
  50 pollers (the dashboard's 10 s polling).

Run: uv run python benchmarks/push.py [--only latency|health|requests] [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.health_under_load import PASSWORD, USERNAME, Dynamote, _free_port  # noqa: E402
from sandbox import ManualClock, SandboxCluster  # noqa: E402
from tests.sandbox.manifests import GROUP, PLURAL, dgd_v1beta1  # noqa: E402

NAMESPACE = "default"
DASHBOARD = f"/deployments/?namespace={NAMESPACE}"
STREAM = f"/deployments/stream/?namespace={NAMESPACE}"


@contextmanager
def served(sandbox: SandboxCluster) -> Iterator[Dynamote]:
    """Dynamote as the image starts it, pointed at `sandbox`."""
    with tempfile.TemporaryDirectory(prefix="dynamote-push-") as tmp:
        folder = Path(tmp)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(folder),
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "benchmark-only-secret-key-benchmark-only-0123456789abcdef",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DYNAMOTE_VAR_DIR": str(folder / "var"),
            "DYNAMOTE_KUBECONFIG": str(sandbox.kubeconfig_path),
            "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
        }
        manage = [sys.executable, "manage.py"]
        for command in (
            ["collectstatic", "--noinput", "-v", "0"],
            ["migrate", "--noinput", "-v", "0"],
            ["createsuperuser", "--noinput", "--username", USERNAME, "--email", "b@example.com"],
        ):
            subprocess.run([*manage, *command], cwd=ROOT, env=env, check=True, capture_output=True)
        port = _free_port()
        server = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn", "--config", "python:dynamote.gunicorn"),
                *("--bind", f"127.0.0.1:{port}", "--access-logfile", "/dev/null"),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        app = Dynamote(port)
        try:
            deadline = time.monotonic() + 60
            while app.health_ms() is None:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("Dynamote did not start under gunicorn.")
                time.sleep(0.2)
            yield app
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


@contextmanager
def sandbox_with(deployments: int, folder: Path) -> Iterator[SandboxCluster]:
    """A sandbox on a manual clock with `deployments` Ready DGDs in the default namespace."""
    from kubernetes import client, config

    sandbox = SandboxCluster(port=0, clock=ManualClock(), kubeconfig_path=folder / "kc").start()
    api = client.CustomObjectsApi(config.new_client_from_config(str(sandbox.kubeconfig_path)))
    for n in range(deployments):
        api.create_namespaced_custom_object(
            GROUP, "v1beta1", NAMESPACE, PLURAL, dgd_v1beta1(f"bench-{n}")
        )
    sandbox.advance(180)
    try:
        yield sandbox
    finally:
        sandbox.close()


def _scale(sandbox: SandboxCluster, name: str, replicas: int) -> None:
    from kubernetes import client, config

    api = client.CustomObjectsApi(config.new_client_from_config(str(sandbox.kubeconfig_path)))
    dgd = api.get_namespaced_custom_object(GROUP, "v1beta1", NAMESPACE, PLURAL, name)
    for component in dgd["spec"]["components"]:
        if component["type"] == "worker":
            component["replicas"] = replicas
    api.replace_namespaced_custom_object(GROUP, "v1beta1", NAMESPACE, PLURAL, name, dgd)
    sandbox.reconcile()


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def status_change_latency(changes: int = 20) -> dict:
    """Seconds from a status change in the sandbox to an open Chromium dashboard showing it."""
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("DYNAMOTE_CHROMIUM") or shutil.which("chromium") or "chromium"
    delays: list[float] = []
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        sandbox = stack.enter_context(sandbox_with(1, folder))
        app = stack.enter_context(served(sandbox))
        browser = stack.enter_context(sync_playwright()).chromium.launch(executable_path=chromium)
        page = browser.new_page()
        base = f"http://127.0.0.1:{app.port}"
        page.goto(f"{base}/login/")
        page.get_by_label("Username").fill(USERNAME)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{base}/models/")
        page.goto(f"{base}{DASHBOARD}")
        row = "tr[data-deployment='default/bench-0']"
        page.wait_for_selector(f"{row}[data-status='ready']", timeout=30_000)
        page.wait_for_selector("#deployments-table[data-streaming]", timeout=30_000)
        while len(delays) < changes:
            # Up: a new worker starting makes it Deploying; the clock then makes it Ready.
            for change, status in (
                (lambda: _scale(sandbox, "bench-0", 2), "deploying"),
                (lambda: sandbox.advance(180), "ready"),
            ):
                change()
                started = time.monotonic()
                page.wait_for_selector(f"{row}[data-status='{status}']", timeout=30_000)
                delays.append(time.monotonic() - started)
            _scale(sandbox, "bench-0", 1)
            sandbox.advance(180)
            time.sleep(1)
        browser.close()
    figures = {
        "changes": len(delays),
        "p50_s": statistics.median(delays),
        "p95_s": _percentile(delays, 0.95),
        "max_s": max(delays),
    }
    print(
        f"status change -> open page: {figures['changes']} changes, median "
        f"{figures['p50_s']:.2f} s, p95 {figures['p95_s']:.2f} s, max {figures['max_s']:.2f} s "
        "(target p95 <= 1 s)"
    )
    return figures


def _open_streams(app: Dynamote, cookies: dict, count: int) -> list[socket.socket]:
    """`count` event streams held open on raw sockets (their answers are left unread)."""
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    request = (
        f"GET {STREAM} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
        "Accept: text/event-stream\r\n\r\n"
    ).encode()
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", app.port), timeout=30)
        sock.sendall(request)
        sockets.append(sock)
    for sock in sockets:  # each answered 200 and started its stream
        head = sock.recv(4096)
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"A stream was refused: {head[:200]!r}")
    return sockets


def health_with_streams(streams: int = 500, probes: int = 100) -> dict:
    """/api/health latency (ms) with `streams` event streams open."""
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        sandbox = stack.enter_context(sandbox_with(20, folder))
        app = stack.enter_context(served(sandbox))
        sockets = _open_streams(app, app.login(), streams)
        time.sleep(3)  # every stream has read its page once
        latencies = []
        for _ in range(probes):
            latency = app.health_ms()
            latencies.append(latency if latency is not None else float("inf"))
            time.sleep(0.05)
        for sock in sockets:
            sock.close()
    figures = {
        "streams": streams,
        "p50_ms": statistics.median(latencies),
        "p95_ms": _percentile(latencies, 0.95),
        "max_ms": max(latencies),
    }
    print(
        f"/api/health with {streams} open streams: median {figures['p50_ms']:.1f} ms, "
        f"p95 {figures['p95_ms']:.1f} ms, max {figures['max_ms']:.1f} ms (target < 100 ms)"
    )
    return figures


def cluster_requests(streams: int = 200, pollers: int = 50, seconds: float = 60) -> dict:
    """Cluster requests (the sandbox's counter) over `seconds` with streams and pollers."""
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        sandbox = stack.enter_context(sandbox_with(20, folder))
        app = stack.enter_context(served(sandbox))
        cookies = app.login()
        sockets = _open_streams(app, cookies, streams)
        stop = threading.Event()

        def poll() -> None:  # as an open page without a stream: the table every 10 s
            while not stop.wait(10):
                app.request("GET", DASHBOARD + "&sort=name", cookies=cookies)

        threads = [threading.Thread(target=poll, daemon=True) for _ in range(pollers)]
        time.sleep(3)
        sandbox.reset_counters()
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        log = sandbox.request_log
        stop.set()
        for sock in sockets:
            sock.close()
    counts = Counter(f"{entry['verb']} {entry['resource']}" for entry in log)
    figures = {"seconds": seconds, "streams": streams, "pollers": pollers, **counts}
    listed = ", ".join(f"{key}: {n}" for key, n in sorted(counts.items()))
    print(
        f"cluster requests in {seconds:.0f} s with {streams} streams and {pollers} pollers: "
        f"{sum(counts.values())} ({listed})"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["latency", "health", "requests"])
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    if args.only in (None, "latency"):
        status_change_latency()
    if args.only in (None, "health"):
        health_with_streams()
    if args.only in (None, "requests"):
        cluster_requests(seconds=args.seconds)


if __name__ == "__main__":
    main()
