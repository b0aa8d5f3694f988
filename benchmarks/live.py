"""What `manage.py bench_live` measures, one function per figure.

The sandbox runs in its own process (seeded with DGDs and their pods), so serving its bytes
does not compete with Dynamote for the interpreter. Each measurement returns a dict of
figures; the command prints them side by side.
"""

from __future__ import annotations

import base64
import gc
import json
import ssl
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

HTMX = {"HX-Request": "true"}
TABLE = "/deployments/?namespace=default"
DASHBOARD_TABLE = "/deployments/"  # the dashboard as the menu opens it
MIRRORED = ("dynamographdeployments", "pods", "events", "nodes", "namespaces")


@contextmanager
def sandbox_process(kubeconfig: Path, deployments: int, workers: int) -> Iterator[None]:
    """A seeded sandbox serving from another process until the block ends."""
    script = Path(__file__).with_name("live_sandbox.py")
    process = subprocess.Popen(
        [
            sys.executable,
            str(script),
            str(kubeconfig),
            "--deployments",
            str(deployments),
            "--workers",
            str(workers),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"the sandbox did not start: {line!r}")
        yield
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


class Raw:
    """A plain HTTP client for the sandbox (urllib: no Kubernetes client, no JSON parsing)."""

    def __init__(self, kubeconfig: Path) -> None:
        config = yaml.safe_load(kubeconfig.read_text())
        cluster = config["clusters"][0]["cluster"]
        self.server = cluster["server"]
        self.token = config["users"][0]["user"]["token"]
        self.context = None
        if cluster.get("certificate-authority-data"):
            authority = base64.b64decode(cluster["certificate-authority-data"]).decode()
            self.context = ssl.create_default_context(cadata=authority)

    def get(self, path: str, method: str = "GET") -> bytes:
        request = urllib.request.Request(
            f"{self.server}{path}",
            headers={"Authorization": f"Bearer {self.token}"},
            method=method,
        )
        with urllib.request.urlopen(request, timeout=60, context=self.context) as answer:
            return answer.read()

    def requests(self, *, reset: bool = False) -> dict[tuple[str, str], int]:
        """The sandbox's request counter by (verb, resource), namespaces summed."""
        body = json.loads(self.get("/sandbox/requests", "POST" if reset else "GET"))
        counts: dict[tuple[str, str], int] = {}
        for row in body["requests"]:
            key = (row["verb"], row["resource"])
            counts[key] = counts.get(key, 0) + row["count"]
        return counts


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def measure_floor(raw: Raw, rounds: int = 15) -> dict:
    """The raw-LIST floor: one DGD LIST plus one pod LIST, bytes only, by a plain client."""
    samples, size = [], 0
    for _ in range(rounds + 1):
        started = time.perf_counter()
        dgds = raw.get("/apis/nvidia.com/v1beta1/namespaces/default/dynamographdeployments")
        pods = raw.get("/api/v1/namespaces/default/pods")
        samples.append(_ms(started))
        size = len(dgds) + len(pods)
    samples = samples[1:]  # the first opened the connection
    return {"floor_ms": statistics.median(samples), "floor_bytes": size}


def measure_first(get: Callable[[], object], reset: Callable[[], None]) -> dict:
    """The dashboard table's first request after a start (the mirror empty: it lists).

    Measured twice: in this process as it is (the very first request also loads the
    Kubernetes client's API classes, a one-time cost of the process), then with the code
    loaded and the mirror emptied, as a restarted mirror meets it.
    """
    reset()
    started = time.perf_counter()
    get()
    cold_process = _ms(started)
    reset()
    started = time.perf_counter()
    response = get()
    return {
        "first_ms": _ms(started),
        "first_process_ms": cold_process,
        "rows": response.content.count(b"data-deployment="),
    }


def measure_first_served(kubeconfig: Path) -> dict:
    """The first request after a start as a viewer meets it: Dynamote started as its image
    starts it (gunicorn, uvicorn), once /api/health answers, the dashboard's table asked by a
    browser that kept its session across the restart; then the table of one namespace."""
    from benchmarks.served import gunicorn

    with gunicorn(kubeconfig) as app:
        started = time.perf_counter()
        status, _, body = app.request("GET", DASHBOARD_TABLE, cookies=app.session, headers=HTMX)
        first = _ms(started)
        started = time.perf_counter()
        app.request("GET", TABLE, cookies=app.session, headers=HTMX)
        namespaced = _ms(started)
    if status != 200:
        raise RuntimeError(f"the served dashboard answered {status}")
    return {
        "served_first_ms": first,
        "served_namespace_ms": namespaced,
        "served_rows": body.count("data-deployment="),
    }


def measure_table(get: Callable[[], object], runs: int = 100) -> dict:
    """The dashboard table's p50 and p95 once the mirror is filled."""
    get()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        get()
        samples.append(_ms(started))
    ordered = sorted(samples)
    return {
        "p50_ms": statistics.median(samples),
        "p95_ms": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
    }


def measure_requests(
    raw: Raw,
    poll: Callable[[], object],
    reset: Callable[[], None],
    *,
    pollers: int = 50,
    seconds: float = 20.0,
    interval: float = 1.0,
) -> dict:
    """Cluster requests per resource while `pollers` viewers poll the table for `seconds`,
    counted by the sandbox from a fresh start of the mirror."""
    reset()
    raw.requests(reset=True)
    deadline = time.monotonic() + seconds
    done, failed = [0], []

    def viewer() -> None:
        while time.monotonic() < deadline:
            response = poll()
            if response.status_code != 200:
                failed.append(response.status_code)
            done[0] += 1
            time.sleep(interval)

    threads = [threading.Thread(target=viewer) for _ in range(pollers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts = raw.requests()
    return {
        "polls": done[0],
        "failed_polls": len(failed),
        "requests": {
            resource: (counts.get(("list", resource), 0), counts.get(("watch", resource), 0))
            for resource in MIRRORED
        },
        "other_requests": sum(
            n for (verb, resource), n in counts.items() if resource not in MIRRORED
        ),
    }


def measure_memory(fill: Callable[[], None], reset: Callable[[], None]) -> dict:
    """The mirror's memory above an empty mirror (tracemalloc), once every watch is synced."""
    reset()
    gc.collect()
    tracemalloc.start()
    try:
        empty = tracemalloc.get_traced_memory()[0]
        fill()
        gc.collect()
        full = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return {"memory_mb": (full - empty) / 2**20}
