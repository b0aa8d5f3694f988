"""The Cluster page and GET /api/cluster/capacity: who holds the cluster's GPUs."""

import pytest

from deployments import cluster, mirror
from tests.dashboard.conftest import dgd_manifest
from tests.factories import grant_role

H100 = "NVIDIA-H100-80GB-HBM3"


@pytest.fixture(autouse=True)
def fresh_cache():
    mirror.reset()
    yield
    mirror.reset()


@pytest.fixture
def stuck(cluster_sandbox):
    """llama Ready on 2 GPUs; big asks for three 8-GPU workers: two run, one stays Pending."""
    cluster.dgd_create(manifest=dgd_manifest("llama", workers=2))
    cluster_sandbox.advance(60)
    cluster.dgd_create(manifest=dgd_manifest("big", gpus=8, workers=3))
    cluster_sandbox.advance(60)
    return cluster_sandbox


def holders(answer: dict, name: str) -> list[dict]:
    return [h for n in answer["nodes"] for h in n["holders"] if h["deployment"] == name]


def test_each_gpu_node_with_its_product_memory_and_free_gpus(member_client, cluster_sandbox):
    answer = member_client.get("/api/cluster/capacity").json()
    assert len(answer["nodes"]) == 3
    h100 = [n for n in answer["nodes"] if n["gpuProduct"] == H100]
    assert [(n["allocatable"], n["used"], n["free"]) for n in h100] == [(8, 0, 8), (8, 0, 8)]
    assert h100[0]["gpu"] == "H100 80GB" and h100[0]["gpuMemoryMiB"] == 81559
    assert {t["gpu"]: (t["nodes"], t["allocatable"], t["free"]) for t in answer["totals"]} == {
        "H100 80GB": (2, 16, 16),
        "L40S 48GB": (1, 4, 4),
    }
    assert answer["notReadyHoldingGpus"] == []


def test_holders_per_node_and_a_deployment_holding_gpus_while_pending(member_client, stuck):
    answer = member_client.get("/api/cluster/capacity").json()
    llama = holders(answer, "llama")
    assert sum(h["gpus"] for h in llama) == 2
    assert {h["status"] for h in llama} == {"Ready"} and not any(h["flagged"] for h in llama)
    big = holders(answer, "big")
    assert sum(h["gpus"] for h in big) == 16
    assert all(h["flagged"] and h["status"] == "Pending" for h in big)
    assert answer["notReadyHoldingGpus"] == [
        {
            "namespace": "default",
            "deployment": "big",
            "status": "Pending",
            "heldGpus": 16,
            "waitingGpus": 8,
            "message": "holds 16 GPUs while Pending: its pending pods need 8 more.",
        }
    ]
    assert sum(t["used"] for t in answer["totals"]) == 18
    assert {t["gpu"]: t["free"] for t in answer["totals"]}["H100 80GB"] == 0


def test_the_cluster_page_shows_nodes_holders_and_the_flag(member_client, stuck):
    response = member_client.get("/cluster/")
    assert response.status_code == 200
    found = response.context["capacity"]
    assert [s.name for s in found.stuck] == ["big"]
    html = response.content.decode()
    assert "Holding GPUs while not Ready" in html
    assert "default/big" in html and "holds 16 GPUs while Pending" in html


def test_deployments_in_namespaces_the_viewer_cannot_see_are_not_named(
    client, stuck, django_user_model, settings
):
    settings.DYNAMOTE_DEFAULT_ROLE = ""
    viewer = django_user_model.objects.create_user("vic", password="x" * 12)
    grant_role(viewer, "viewer", namespace="dynamo")
    client.force_login(viewer)
    answer = client.get("/api/cluster/capacity").json()
    assert holders(answer, "big") == [] and holders(answer, "llama") == []
    hidden = [h for n in answer["nodes"] for h in n["holders"]]
    assert sum(h["gpus"] for h in hidden) == 18 and {h["namespace"] for h in hidden} == {""}
    assert answer["notReadyHoldingGpus"] == []


def test_the_capacity_api_needs_credentials(client, cluster_sandbox):
    assert client.get("/api/cluster/capacity").status_code == 401


def test_an_unreachable_cluster_is_a_message(member_client, cluster_sandbox):
    cluster_sandbox.stop()
    response = member_client.get("/api/cluster/capacity")
    assert response.status_code == 503
    assert (
        "cannot be reached" in response.json()["error"]
        or "did not answer" in (response.json()["error"])
    )
    page = member_client.get("/cluster/")
    assert page.status_code == 200
    assert "Cluster unreachable" in page.content.decode()
