"""`manage.py bench_dashboard`: server time of the dashboard partial on a large sandbox cluster."""

import statistics
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test import Client
from django.test.utils import override_settings

from deployments import cluster, mirror

HTMX = {"HX-Request": "true"}


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class Command(BaseCommand):
    help = (
        "Seed a sandbox cluster with many DGDs and pods, then time the dashboard's table "
        "partial (cache warm and cold) and measure the bytes of an unchanged poll."
    )

    def add_arguments(self, parser):
        parser.add_argument("--deployments", type=int, default=500)
        parser.add_argument("--workers", type=int, default=9, help="worker pods per DGD")
        parser.add_argument("--runs", type=int, default=100)

    def handle(self, *args, deployments: int, workers: int, runs: int, **options):
        from sandbox import SandboxCluster

        # Its kubeconfig lives in a temporary folder that close() removes.
        sandbox = SandboxCluster(port=0).start()
        try:
            started = time.perf_counter()
            sandbox.seed_deployments(deployments, workers=workers)
            pods = len(sandbox.list("pods", "default"))
            self.stdout.write(
                f"Seeded {deployments} DGDs and {pods} pods in "
                f"{time.perf_counter() - started:.1f} s."
            )
            overrides = {
                "DYNAMOTE_KUBECONFIG": str(sandbox.kubeconfig_path),
                "DYNAMOTE_KUBE_CONTEXT": "",
                "DYNAMOTE_IN_CLUSTER": False,
                "ALLOWED_HOSTS": [*settings.ALLOWED_HOSTS, "testserver"],
            }
            with override_settings(**overrides), transaction.atomic():
                cluster.reset()
                self._measure(runs)
                # The benchmark's account is not kept.
                transaction.set_rollback(True)
        finally:
            cluster.reset()
            mirror.reset()
            sandbox.close()

    def _measure(self, runs: int) -> None:
        user = get_user_model().objects.create_user("dynamote-bench", password=None)
        client = Client()
        client.force_login(user)
        url = "/deployments/?namespace=default"

        def timed(**params) -> tuple[float, object]:
            started = time.perf_counter()
            response = client.get(url, params, headers=HTMX)
            return (time.perf_counter() - started) * 1000, response

        mirror.reset()
        timed()  # connect, discover the API versions
        cold, warm = [], []
        for _ in range(max(runs // 5, 5)):
            mirror.reset()
            cold.append(timed()[0])
        for _ in range(runs):
            warm.append(timed()[0])
        _, response = timed()
        rows = response.content.count(b"data-deployment=")
        fingerprint = response.content.split(b'"fp": "', 1)[1].split(b'"', 1)[0].decode()
        _, unchanged = timed(fp=fingerprint)
        status_line = f"HTTP/1.1 {unchanged.status_code} {unchanged.reason_phrase}\r\n".encode()
        poll_bytes = len(status_line) + len(unchanged.serialize_headers()) + 4
        poll_bytes += len(unchanged.content)

        self.stdout.write(f"Table partial: {rows} rows, {len(response.content) / 1024:.0f} KiB.")
        for label, samples in (("cache warm", warm), ("cache cold", cold)):
            self.stdout.write(
                f"  {label}: p50 {statistics.median(samples):.1f} ms, "
                f"p95 {_percentile(samples, 0.95):.1f} ms ({len(samples)} requests)"
            )
        self.stdout.write(
            f"Unchanged poll: HTTP {unchanged.status_code}, {poll_bytes} bytes "
            f"(headers included, body {len(unchanged.content)} bytes)."
        )
        target = statistics.median(warm) < 50 and _percentile(warm, 0.95) < 100
        verdict = "meets" if target and poll_bytes < 300 else "misses"
        self.stdout.write(f"Targets (p50 < 50 ms, p95 < 100 ms, poll < 300 bytes): {verdict}.")
