"""Kubernetes load does not grow with viewers: 50 polling dashboards, one LIST and one WATCH
per resource and namespace."""

import threading
import time
import urllib.request

import pytest

from deployments import mirror
from tests.fixtures.cluster import count_from_now, eventually

VIEWERS = 50
POLLS = 4


@pytest.mark.django_db(transaction=True)
def test_fifty_polling_dashboards_cost_one_list_per_namespace(
    live_server, client, django_user_model, cluster_sandbox, create_dgd, settings
):
    settings.DYNAMOTE_NAMESPACES = ["default", "dynamo"]
    for name in ("alpha", "bravo", "charlie"):
        create_dgd(name)
    create_dgd("delta", namespace="dynamo")
    client.force_login(django_user_model.objects.create_user("viewer", password="unused-pw-1"))
    cookie = client.cookies["sessionid"].value
    mirror.reset()  # a process starting: its mirror lists and watches once
    count_from_now(cluster_sandbox)
    scopes = ["?namespace=default", "?namespace=dynamo", ""]
    statuses = []

    def dashboard(scope: str) -> None:
        for _ in range(POLLS):
            request = urllib.request.Request(
                f"{live_server.url}/deployments/{scope}",
                headers={"Cookie": f"sessionid={cookie}", "HX-Request": "true"},
            )
            with urllib.request.urlopen(request, timeout=20) as response:
                statuses.append(response.status)
                assert b"data-deployment" in response.read()
            time.sleep(0.2)

    threads = [threading.Thread(target=dashboard, args=(scopes[i % 3],)) for i in range(VIEWERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200] * (VIEWERS * POLLS)
    eventually(watching)  # each watch opens once its LIST has answered
    for namespace in ("default", "dynamo"):  # each allowed namespace, whatever the viewers
        for resource in ("dynamographdeployments", "pods"):
            assert cluster_sandbox.request_count("list", resource, namespace) == 1
            assert cluster_sandbox.request_count("watch", resource, namespace) == 1
    assert cluster_sandbox.request_count("list", "dynamographdeployments", "") == 0


def watching() -> None:
    assert all(r.watching for r in mirror.running())
