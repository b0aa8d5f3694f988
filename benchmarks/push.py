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

Run: uv run python benchmarks/push.py [--only latency|health|requests] [--minutes 10]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
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

from benchmarks.served import PASSWORD, USERNAME, Dynamote, gunicorn  # noqa: E402
from sandbox import ManualClock, SandboxCluster  # noqa: E402
from tests.sandbox.manifests import GROUP, PLURAL, dgd_v1beta1  # noqa: E402

NAMESPACE = "default"
DASHBOARD = f"/deployments/?namespace={NAMESPACE}"
STREAM = f"/deployments/stream/?namespace={NAMESPACE}"


@contextmanager
def served(sandbox: SandboxCluster) -> Iterator[Dynamote]:
    """Dynamote as the image starts it, pointed at `sandbox`."""
    with gunicorn(sandbox.kubeconfig_path) as app:
        yield app


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


MIRRORED = ("dynamographdeployments", "pods", "events", "nodes", "namespaces")


def cluster_requests(streams: int = 200, pollers: int = 50, minutes: float = 1.0) -> dict:
    """Cluster requests (the sandbox's request counter) from Dynamote's start until `minutes`
    after 200 streams opened and 50 pollers began: 1 LIST per resource plus WATCH renewals
    (the server ends a watch every 5-10 minutes) is the target, whatever the viewers."""
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        sandbox = stack.enter_context(sandbox_with(20, folder))
        sandbox.reset_counters()  # the process starts now: its first LISTs count
        app = stack.enter_context(served(sandbox))
        cookies = app.session
        sockets = _open_streams(app, cookies, streams)
        stop = threading.Event()

        def poll() -> None:  # as an open page without a stream: the table every 10 s
            while not stop.wait(10):
                app.request("GET", DASHBOARD + "&sort=name", cookies=cookies)

        threads = [threading.Thread(target=poll, daemon=True) for _ in range(pollers)]
        for thread in threads:
            thread.start()
        time.sleep(minutes * 60)
        with sandbox.api.lock:
            counted = dict(sandbox.api.counters)
        stop.set()
        for sock in sockets:
            sock.close()
    counts: Counter = Counter()
    for (verb, resource, _), n in counted.items():
        counts[(verb, resource)] += n
    per_resource = {r: (counts[("list", r)], counts[("watch", r)]) for r in MIRRORED}
    other = sum(n for (verb, r), n in counts.items() if r not in MIRRORED)
    print(
        f"cluster requests from the start to {minutes:g} min with {streams} open streams and "
        f"{pollers} pollers (LIST, WATCH):"
    )
    for resource, (lists, watches) in per_resource.items():
        print(f"  {resource}: {lists} LIST, {watches} WATCH")
    others = ", ".join(f"{v} {r}: {n}" for (v, r), n in sorted(counts.items()) if r not in MIRRORED)
    print(f"  other requests: {other} ({others or 'none'})")
    met = all(lists <= 1 for lists, _ in per_resource.values())
    print(f"  target (1 LIST per resource, then WATCH renewals only): {'met' if met else 'MISSED'}")
    return {
        "minutes": minutes,
        "streams": streams,
        "pollers": pollers,
        "requests": per_resource,
        "other_requests": other,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["latency", "health", "requests"])
    parser.add_argument(
        "--minutes", type=float, default=1.0, help="of streams and polling counted (issue: 10)"
    )
    args = parser.parse_args()
    if args.only in (None, "latency"):
        status_change_latency()
    if args.only in (None, "health"):
        health_with_streams()
    if args.only in (None, "requests"):
        cluster_requests(minutes=args.minutes)


if __name__ == "__main__":
    main()
