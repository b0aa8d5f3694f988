"""Fixtures for changing deployments: a disaggregated deployment Dynamote created."""

import time

import kubernetes
import pytest

from deployments import mirror
from sandbox import ManualClock
from tests.deploy.conftest import NEW_URL, form_data
from tests.fixtures.sandbox import sandbox_api_client


@pytest.fixture(autouse=True)
def fresh_cache():
    mirror.reset()
    yield
    mirror.reset()


@pytest.fixture
def sandbox(make_sandbox):
    """The default sandbox, its clock ten minutes back (ages do not tick between requests)."""
    return make_sandbox(clock=ManualClock(start=time.time() - 600))


@pytest.fixture
def custom(cluster_sandbox):
    """The official client's CustomObjectsApi on the sandbox: changes made outside Dynamote."""
    return kubernetes.client.CustomObjectsApi(sandbox_api_client(cluster_sandbox))


@pytest.fixture
def disagg(member_client, cluster_sandbox):
    """A disaggregated deployment `qwen` (frontend, prefill, decode) created with the form."""
    response = member_client.post(
        NEW_URL, form_data(idempotency_key="disagg", name="qwen", mode="disaggregated")
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    cluster_sandbox.advance(120)
    return cluster_sandbox


def component_pod_uids(sandbox, name: str = "qwen") -> dict[str, set[str]]:
    """The uids of the live pods of each component."""
    result: dict[str, set[str]] = {}
    for pod in sandbox.list("pods", "default"):
        labels = pod["metadata"].get("labels") or {}
        if labels.get("nvidia.com/dynamo-graph-deployment-name") != name:
            continue
        if pod["metadata"].get("deletionTimestamp"):
            continue
        result.setdefault(labels["nvidia.com/dynamo-component"], set()).add(pod["metadata"]["uid"])
    return result
