"""How long listing 500 DGDs and 5,000 pods takes through the official client (target < 100 ms).

Pods are timed four ways, to separate the sandbox (serving the bytes) from the client
(decoding ~10 MB of JSON, then building V1Pod models), and as Dynamote's cluster module
reads them (dicts, parsed with the garbage collector paused).
Run: uv run python benchmarks/sandbox_lists.py
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from kubernetes import client, config

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox import ManualClock, SandboxCluster

DGDS, WORKERS = 500, 9  # 500 deployments x (1 frontend + 9 workers) = 5,000 pods
SELECTOR = "nvidia.com/dynamo-graph-deployment-name=bench-0042"
ROUNDS = 15
TARGET_MS = 100.0


def timed(call, rounds: int = ROUNDS) -> tuple[float, float]:
    """(median, best) milliseconds over the rounds, after one warm-up call."""
    call()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), min(samples)


def dynamote_cluster(kubeconfig: Path):
    """Dynamote's cluster module, pointed at the sandbox."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dynamote.settings")
    import django
    from django.conf import settings

    django.setup()
    from deployments import cluster

    settings.DYNAMOTE_KUBECONFIG = str(kubeconfig)
    return cluster


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        sandbox = SandboxCluster(
            clock=ManualClock(), kubeconfig_path=Path(directory) / "kubeconfig"
        )
        started = time.perf_counter()
        sandbox.seed_deployments(DGDS, workers=WORKERS)
        seeded = time.perf_counter() - started
        sandbox.start()
        try:
            api = config.new_client_from_config(config_file=str(sandbox.kubeconfig_path))
            cluster = dynamote_cluster(sandbox.kubeconfig_path)
            dgds, core = client.CustomObjectsApi(api), client.CoreV1Api(api)
            pods_raw = lambda: json.loads(  # noqa: E731
                core.list_pod_for_all_namespaces(_preload_content=False).data
            )
            checks = {
                "500 DGDs (CustomObjectsApi, dicts)": lambda: dgds.list_cluster_custom_object(
                    "nvidia.com", "v1beta1", "dynamographdeployments"
                ),
                "500 DGDs in v1alpha1 (converted)": lambda: dgds.list_cluster_custom_object(
                    "nvidia.com", "v1alpha1", "dynamographdeployments"
                ),
                "5,000 pods (CoreV1Api, bytes only)": lambda: (
                    core.list_pod_for_all_namespaces(_preload_content=False).data
                ),
                "5,000 pods (CoreV1Api, bytes + json.loads)": pods_raw,
                "5,000 pods as Dynamote reads them (dicts)": lambda: cluster.pods(namespace=None),
                "5,000 pods (CoreV1Api, V1Pod models)": lambda: core.list_pod_for_all_namespaces(),
                "10 pods by DGD label (V1Pod models)": lambda: core.list_namespaced_pod(
                    "default", label_selector=SELECTOR
                ),
            }
            counts = {
                "dgds": len(
                    dgds.list_cluster_custom_object(
                        "nvidia.com", "v1beta1", "dynamographdeployments"
                    )["items"]
                ),
                "pods": len(pods_raw()["items"]),
            }
            print(
                f"sandbox: {sandbox.url}  seeded {counts['dgds']} DGDs and "
                f"{counts['pods']} pods in {seeded:.1f} s"
            )
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
            print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f}")
            print(f"{'request':<42} {'median ms':>10} {'best ms':>9}  target")
            for label, call in checks.items():
                median, best = timed(call, 5 if "models" in label and "5,000" in label else ROUNDS)
                verdict = "ok" if median < TARGET_MS else "over"
                print(f"{label:<42} {median:>10.1f} {best:>9.1f}  {verdict}")
        finally:
            sandbox.close()


if __name__ == "__main__":
    main()
