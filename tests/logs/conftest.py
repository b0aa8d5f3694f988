"""Fixtures for the logs: a connected sandbox with a deployment of two workers in it."""

import pytest

from deployments import cluster, mirror
from tests.dashboard.conftest import dgd_manifest


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts with an empty shared cache (it is process-wide)."""
    mirror.reset()
    yield
    mirror.reset()


@pytest.fixture
def deployed(cluster_sandbox):
    """DGD llama (a frontend and two vLLM workers) Ready in namespace default, and qwen."""
    cluster.dgd_create(manifest=dgd_manifest("llama", workers=2))
    cluster.dgd_create(manifest=dgd_manifest("qwen"))
    cluster_sandbox.advance(60)
    return cluster_sandbox


def pods_of(sandbox, dgd: str, component: str = "VllmWorker") -> list[str]:
    pods = sandbox.api.store.entries("pods")
    return sorted(
        e.obj["metadata"]["name"]
        for e in pods
        if e.obj["metadata"]["labels"].get("nvidia.com/dynamo-graph-deployment-name") == dgd
        and e.obj["metadata"]["labels"].get("nvidia.com/dynamo-component") == component
    )


def log_reads(sandbox) -> list[dict]:
    return [r for r in sandbox.api.request_log if r["resource"] == "pods/log"]


def scale(workers: int) -> None:
    """Sets DGD llama's number of workers."""
    cluster.dgd_patch(
        namespace="default",
        name="llama",
        version="v1beta1",
        ops=[{"op": "replace", "path": "/spec/components/1/replicas", "value": workers}],
    )
