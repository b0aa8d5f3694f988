"""A slow cluster costs a request one timeout, not one per call; pages that need no cluster
and the header never wait for it.

The cluster's timeouts are shortened (read 1.5 s instead of 10 s) and the sandbox's latency
with them (2 s instead of 12 s): the path is the one `--fault latency=12` takes, where every
answer must come within one timeout plus a margin.
"""

import time

import pytest
from django.contrib.messages import get_messages

from deployments import cluster, mirror, selectors
from tests.dashboard.conftest import dgd_manifest
from tests.deploy.conftest import form_data

READ_TIMEOUT = 1.5
LATENCY = 2.0
WITHIN = READ_TIMEOUT + 1.0  # one timeout and a margin; two timeouts would be 3 s
NO_ANSWER = "did not answer in time"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def slow_cluster(member_client, cluster_sandbox, monkeypatch):
    """A Ready deployment "llama", then a cluster that answers nothing within the timeout."""
    cluster.dgd_create(manifest=dgd_manifest("llama"))
    cluster_sandbox.advance(60)
    # A running Dynamote: code loaded and templates compiled; then nothing cached.
    for path, query, headers, _ in ROUTES:
        member_client.get(path, data=query, headers=headers)
    mirror.reset()
    monkeypatch.setattr(cluster, "TIMEOUT", (1, READ_TIMEOUT))
    cluster_sandbox.set_latency(LATENCY)
    yield cluster_sandbox
    cluster_sandbox.set_latency(0)


def timed(client, path, **kwargs):
    started = time.monotonic()
    response = client.get(path, **kwargs)
    return response, time.monotonic() - started


PREVIEW = {**form_data(), "name": "qwen3-8b-vllm"}

ROUTES = [
    # (path, query, headers, what the answer says)
    ("/deployments/", {}, {}, "Cluster: Unreachable"),
    ("/deployments/", {"wait": "1"}, {}, NO_ANSWER),
    ("/deployments/", {}, HTMX, NO_ANSWER),
    ("/deployments/default/llama/", {}, {}, NO_ANSWER),
    ("/deployments/default/llama/", {}, HTMX, NO_ANSWER),
    ("/deployments/new/", {"model": "qwen3-8b"}, {}, NO_ANSWER),
    ("/deployments/new/", PREVIEW, HTMX, NO_ANSWER),
    ("/api/deployments", {}, {}, NO_ANSWER),
    ("/api/deployments/llama", {}, {}, NO_ANSWER),
    ("/api/deployments/llama/pods", {}, {}, NO_ANSWER),
    ("/api/cluster/status", {}, {}, NO_ANSWER),
]


def test_each_route_answers_within_one_timeout(member_client, slow_cluster):
    wrong = []
    for path, query, headers, says in ROUTES:
        mirror.reset()  # each route meets the slow cluster itself (a new process's mirror)
        response, elapsed = timed(member_client, path, data=query, headers=headers)
        html = response.content.decode()
        where = f"{path} {query} {headers}"
        if elapsed >= WITHIN:
            wrong.append(f"{where} took {elapsed:.1f} s")
        if says not in html:
            wrong.append(f"{where} does not say {says!r}")
        if path.startswith("/api/deployments") and response.status_code != 503:
            wrong.append(f"{where} answered {response.status_code}")
        if headers and 'data-cluster-state="unreachable"' not in html:
            wrong.append(f"{where}: the header of an open tab does not say unreachable")
    assert not wrong, "\n".join(wrong)


def test_the_delete_confirmation_answers_within_one_timeout(member_client, slow_cluster):
    response, elapsed = timed(member_client, "/deployments/default/llama/delete/")
    assert elapsed < WITHIN
    assert response.status_code == 302
    [message] = get_messages(response.wsgi_request)
    assert "Cannot delete llama" in str(message) and NO_ANSWER in str(message)


def test_the_catalog_and_the_header_never_wait(member_client, slow_cluster):
    # Nothing known about the cluster yet: the page waits a moment at most, then says Checking.
    response, elapsed = timed(member_client, "/models/")
    assert elapsed < selectors.STATUS_WAIT + 0.5
    assert "Cluster: Checking" in response.content.decode()
    # The check goes on in the background; the status API waits for it (one timeout).
    response, elapsed = timed(member_client, "/api/cluster/status")
    assert elapsed < WITHIN
    assert response.json()["state"] == "unreachable"
    # The next pages show it without asking the cluster again.
    for _ in range(3):
        response, elapsed = timed(member_client, "/models/")
        assert elapsed < 0.5
        assert "Cluster: Unreachable" in response.content.decode()
