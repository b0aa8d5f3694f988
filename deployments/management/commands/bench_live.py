"""`manage.py bench_live`: Dynamote's mirror against the raw cost of listing, side by side.

The sandbox runs in its own process, seeded with 500 DGDs and 5,000 pods by default. One run
measures the raw-LIST floor (a plain HTTP client), the dashboard table's first request after
a start and its p50 (through Django), the cluster requests per resource while 50 viewers
poll, and the mirror's memory. Each figure is one function in `benchmarks/live.py`; add a
measurement by adding one to MEASUREMENTS.
"""

import secrets
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.test import Client
from django.test.utils import override_settings

from deployments import cluster, mirror

sys.path.insert(0, str(Path(settings.BASE_DIR)))

from benchmarks import live

HALF, ONE_AND_A_HALF, MEMORY_MB = 0.5, 1.5, 100.0


@dataclass
class Run:
    """What every measurement may use."""

    raw: live.Raw
    kubeconfig: Path
    user: object
    runs: int
    pollers: int
    seconds: float
    session: str | None = None

    def client(self) -> Client:
        """A signed-in test client; every client shares one session (no database writes)."""
        if self.session is None:
            first = Client()
            first.force_login(self.user)
            self.session = first.cookies[settings.SESSION_COOKIE_NAME].value
        client = Client()
        client.cookies[settings.SESSION_COOKIE_NAME] = self.session
        return client

    def table(self, client: Client | None = None):
        client = client or self.client()
        return lambda: client.get(live.TABLE, headers=live.HTMX)


def floor(run: Run) -> dict:
    return live.measure_floor(run.raw)


def first(run: Run) -> dict:
    return live.measure_first(run.table(), mirror.reset)


def served(run: Run) -> dict:
    return live.measure_first_served(run.kubeconfig)


def table(run: Run) -> dict:
    return live.measure_table(run.table(), run.runs)


def requests(run: Run) -> dict:
    clients = {}

    def poll():
        key = threading.get_ident()
        if key not in clients:
            clients[key] = run.client()
        return clients[key].get(live.TABLE, headers=live.HTMX)

    return live.measure_requests(
        run.raw, poll, mirror.reset, pollers=run.pollers, seconds=run.seconds
    )


def memory(run: Run) -> dict:
    def fill() -> None:
        mirror.start("dgds", "pods", "events", namespace="default")
        mirror.dgds("default"), mirror.pods("default"), mirror.events("default")
        mirror.nodes(), mirror.namespaces()

    return live.measure_memory(fill, mirror.reset)


MEASUREMENTS = [floor, first, served, table, requests, memory]


class Command(BaseCommand):
    help = (
        "Start a seeded sandbox in its own process and measure, side by side: the raw LIST "
        "floor, the dashboard table's first request and p50, cluster requests with many "
        "pollers, and the mirror's memory."
    )

    def add_arguments(self, parser):
        parser.add_argument("--deployments", type=int, default=500)
        parser.add_argument("--workers", type=int, default=9, help="worker pods per DGD")
        parser.add_argument("--runs", type=int, default=100, help="table requests timed")
        parser.add_argument("--pollers", type=int, default=50)
        parser.add_argument("--seconds", type=float, default=20.0, help="of polling")
        parser.add_argument(
            "--minutes",
            type=float,
            default=1.0,
            help="with --push: how long the cluster requests of 200 streams and 50 pollers are "
            "counted (the issue's figure: 10)",
        )
        parser.add_argument(
            "--push",
            action="store_true",
            help="then also the pushed updates (benchmarks/push.py): a status change until an "
            "open Chromium page shows it, /api/health with 500 open streams, and the cluster "
            "requests of 200 streams and 50 pollers",
        )

    def handle(self, *args, deployments, workers, runs, pollers, seconds, minutes, push, **options):
        with tempfile.TemporaryDirectory(prefix="dynamote-bench-") as folder:
            kubeconfig = Path(folder) / "kubeconfig"
            self.stdout.write(f"Starting a sandbox with {deployments} DGDs x {workers + 1} pods…")
            with live.sandbox_process(kubeconfig, deployments, workers):
                overrides = {
                    "DYNAMOTE_KUBECONFIG": str(kubeconfig),
                    "DYNAMOTE_KUBE_CONTEXT": "",
                    "DYNAMOTE_IN_CLUSTER": False,
                    "DYNAMOTE_NAMESPACES": [],
                    "ALLOWED_HOSTS": [*settings.ALLOWED_HOSTS, "testserver"],
                }
                with override_settings(**overrides):
                    user = get_user_model().objects.create_user(
                        f"dynamote-bench-{secrets.token_hex(4)}", password=None
                    )
                    cluster.reset()
                    mirror.reset()
                    run = Run(live.Raw(kubeconfig), kubeconfig, user, runs, pollers, seconds)
                    figures: dict = {}
                    try:
                        for measure in MEASUREMENTS:
                            figures.update(measure(run))
                    finally:
                        mirror.reset()
                        cluster.reset()
                        user.delete()  # the benchmark's account is not kept
        self.report(figures)
        if push:
            from benchmarks import push as pushed

            pushed.status_change_latency()
            pushed.health_with_streams()
            pushed.cluster_requests(minutes=minutes)

    def report(self, f: dict) -> None:
        floor_ms = f["floor_ms"]
        write = self.stdout.write
        write(
            f"Raw LIST floor (DGDs + pods, plain HTTP): {floor_ms:.0f} ms, "
            f"{f['floor_bytes'] / 2**20:.1f} MiB"
        )
        write(
            f"Table, first request after start: {f['first_ms']:.0f} ms "
            f"= {f['first_ms'] / floor_ms:.2f}x floor ({f['rows']} rows; target <= 1.5x)"
        )
        write(
            f"  (the process's very first request, loading the client's API classes too: "
            f"{f['first_process_ms']:.0f} ms)"
        )
        write(
            f"Table, first request after a server start (gunicorn, once /api/health answers; "
            f"the mirror lists at start): {f['served_first_ms']:.0f} ms "
            f"= {f['served_first_ms'] / floor_ms:.2f}x floor ({f['served_rows']} rows); "
            f"then one namespace's table {f['served_namespace_ms']:.0f} ms"
        )
        write(
            f"Table p50: {f['p50_ms']:.1f} ms = {f['p50_ms'] / floor_ms:.2f}x floor, "
            f"p95 {f['p95_ms']:.1f} ms (target p50 <= 0.5x)"
        )
        write(f"{f['polls']} polls by {self.pollers_label(f)}; cluster requests (LIST, WATCH):")
        for resource, (lists, watches) in f["requests"].items():
            write(f"  {resource}: {lists} LIST, {watches} WATCH")
        write(f"  other requests: {f['other_requests']}")
        write(f"Mirror memory above an empty mirror: {f['memory_mb']:.1f} MB (target <= 100 MB)")
        met = {
            "p50": f["p50_ms"] <= HALF * floor_ms,
            "first after a server start": f["served_first_ms"] <= ONE_AND_A_HALF * floor_ms,
            "first after a mirror reset": f["first_ms"] <= ONE_AND_A_HALF * floor_ms,
            "one list": all(lists <= 1 for lists, _ in f["requests"].values()),
            "memory": f["memory_mb"] <= MEMORY_MB,
        }
        verdict = ", ".join(f"{name} {'met' if ok else 'MISSED'}" for name, ok in met.items())
        write(f"Targets: {verdict}.")

    @staticmethod
    def pollers_label(f: dict) -> str:
        return (
            "the pollers"
            if f.get("failed_polls", 0) == 0
            else f"pollers ({f['failed_polls']} failed)"
        )
