"""Fixtures for the dashboard: a sandbox Dynamote is connected to, and DGDs to put in it."""

import time

import pytest

from deployments import cluster, mirror
from deployments.manifests import ENGINE_LABEL, MANAGED_BY, MANAGED_BY_LABEL, MODEL_ID_KEY
from sandbox import ManualClock

IMAGE = "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.0"


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts with an empty mirror (it is process-wide)."""
    mirror.reset()
    yield
    mirror.reset()


@pytest.fixture
def sandbox(make_sandbox):
    """The default sandbox, its clock standing ten minutes back.

    Ages then read "10m" for the whole test instead of ticking by the second, so a page's
    fingerprint taken now still matches a poll made a moment later on a slow machine.
    """
    return make_sandbox(clock=ManualClock(start=time.time() - 600))


def dgd_manifest(
    name: str,
    *,
    namespace: str = "default",
    gpus: int = 1,
    workers: int = 1,
    secret: str | None = "hf-token-secret",
    model: str = "Qwen/Qwen3-0.6B",
    image: str = IMAGE,
    external: bool = False,
) -> dict:
    """A v1beta1 DGD shaped like the ones Dynamote creates (aggregated vLLM)."""
    env_from = [{"secretRef": {"name": secret}}] if secret else []
    labels = {} if external else {MANAGED_BY_LABEL: MANAGED_BY, ENGINE_LABEL: "vllm"}
    annotations = {} if external else {MODEL_ID_KEY: model.split("/")[-1].lower()}
    frontend = {"name": "main", "image": image, "env": [{"name": "DYN_ROUTER_MODE", "value": "kv"}]}
    worker = {
        "name": "main",
        "image": image,
        "command": ["python3", "-m", "dynamo.vllm"],
        "args": ["--model", model, "--tensor-parallel-size", str(gpus)],
        "resources": {"limits": {"nvidia.com/gpu": str(gpus)}},
    }
    if env_from:
        frontend["envFrom"] = env_from
        worker["envFrom"] = env_from
    return {
        "apiVersion": "nvidia.com/v1beta1",
        "kind": "DynamoGraphDeployment",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": {
            "backendFramework": "vllm",
            "components": [
                {
                    "name": "Frontend",
                    "type": "frontend",
                    "replicas": 1,
                    "podTemplate": {"spec": {"containers": [frontend]}},
                },
                {
                    "name": "VllmWorker",
                    "type": "worker",
                    "replicas": workers,
                    "podTemplate": {"spec": {"containers": [worker]}},
                },
            ],
        },
    }


@pytest.fixture
def create_dgd(cluster_sandbox):
    """Creates a DGD on the connected sandbox: create_dgd("name", gpus=2, ...)."""

    def create(name: str, **kwargs) -> dict:
        return cluster.dgd_create(manifest=dgd_manifest(name, **kwargs))

    return create
