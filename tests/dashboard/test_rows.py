"""What a dashboard row and the details page say: workers per role, the model's name, rows
of deleted deployments."""

import copy

import pytest
from django.urls import reverse

from deployments import cluster, mirror
from tests.dashboard.conftest import dgd_manifest

HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def no_ttl(monkeypatch):
    monkeypatch.setattr(mirror, "LIST_TTL", 0)


def rows(client) -> dict:
    response = client.get(reverse("deployments:index"), headers=HTMX)
    assert response.status_code == 200
    return {row.name: row for row in response.context_data["listing"].rows}


def disaggregated(name: str, *, prefill: int, decode: int) -> dict:
    manifest = dgd_manifest(name)
    frontend, worker = manifest["spec"]["components"]
    roles = []
    for role, replicas in (("prefill", prefill), ("decode", decode)):
        component = copy.deepcopy(worker)
        component.update(name="VllmPrefillWorker" if role == "prefill" else "VllmDecodeWorker")
        component.update(type=role, replicas=replicas)
        main = component["podTemplate"]["spec"]["containers"][0]
        main["args"] = [*main["args"], "--disaggregation-mode", role]
        roles.append(component)
    manifest["spec"]["components"] = [frontend, *roles]
    return manifest


def test_a_one_worker_deployment_shows_one_of_one_workers(
    member_client, cluster_sandbox, create_dgd
):
    create_dgd("llama")
    cluster_sandbox.advance(60)
    row = rows(member_client)["llama"]
    assert (row.ready, row.desired, row.workers_text) == (1, 1, "1/1")
    html = member_client.get(reverse("deployments:index"), headers=HTMX).content.decode()
    assert "2/2" not in html
    body = member_client.get("/api/deployments").json()["deployments"][0]
    assert body["replicas"]["ready"] == 1 and body["replicas"]["desired"] == 1
    assert body["replicas"]["text"] == "1/1"
    detail = member_client.get(reverse("deployments:detail", args=["default", "llama"]))
    assert detail.context_data["detail"].summary["workers"] == "1/1"


def test_disaggregated_workers_are_counted_per_role(member_client, cluster_sandbox):
    cluster.dgd_create(manifest=disaggregated("split", prefill=1, decode=2))
    cluster_sandbox.advance(60)
    row = rows(member_client)["split"]
    assert row.workers_text == "prefill 1/1 · decode 2/2"
    body = member_client.get("/api/deployments").json()["deployments"][0]
    assert body["replicas"]["roles"] == [
        {"role": "prefill", "ready": 1, "desired": 1},
        {"role": "decode", "ready": 2, "desired": 2},
    ]
    detail = member_client.get(reverse("deployments:detail", args=["default", "split"]))
    assert detail.context_data["detail"].summary["workers"] == "prefill 1/1 · decode 2/2"
    assert "prefill 1/1 · decode 2/2" in detail.content.decode()


def test_the_model_column_shows_the_catalog_name_else_the_hugging_face_id(
    member_client, cluster_sandbox, create_dgd
):
    create_dgd("known", model="Qwen/Qwen3-8B")
    create_dgd("unknown", model="acme/secret-model-7B", external=True)
    found = rows(member_client)
    assert found["known"].model_name == "Qwen3 8B"
    assert found["unknown"].model_name == "acme/secret-model-7B"
    body = member_client.get("/api/deployments").json()["deployments"]
    assert {d["name"]: d["modelName"] for d in body} == {
        "known": "Qwen3 8B",
        "unknown": "acme/secret-model-7B",
    }
    detail = member_client.get(reverse("deployments:detail", args=["default", "known"]))
    assert detail.context_data["detail"].summary["model_name"] == "Qwen3 8B"


def test_a_row_being_deleted_keeps_its_model_and_engine(member_client, cluster_sandbox, create_dgd):
    create_dgd("llama", model="meta-llama/Llama-3.1-8B-Instruct")
    cluster_sandbox.advance(60)
    rows(member_client)
    cluster.dgd_delete(namespace="default", name="llama")
    # The operator's finalizer keeps the DGD, marked for deletion, while its pods go.
    row = rows(member_client)["llama"]
    assert row.badge.key == "deleting" and not row.gone
    assert (row.model_name, row.engine_label) == ("Llama 3.1 8B Instruct", "vLLM")
    # Without a finalizer (or once it is removed) the DGD goes first and its pods remain.
    _remove_finalizers(cluster_sandbox, "llama")
    row = rows(member_client)["llama"]
    assert row.gone and row.badge.key == "deleting"
    assert (row.model_name, row.engine_label) == ("Llama 3.1 8B Instruct", "vLLM")


def _remove_finalizers(sandbox, name: str) -> None:
    from kubernetes import client as k8s

    from tests.fixtures.sandbox import sandbox_api_client

    k8s.CustomObjectsApi(sandbox_api_client(sandbox)).patch_namespaced_custom_object(
        cluster.GROUP,
        "v1beta1",
        "default",
        cluster.DGD_PLURAL,
        name,
        {"metadata": {"finalizers": []}},
    )


def test_a_row_being_deleted_keeps_them_even_when_first_seen_deleting(
    member_client, cluster_sandbox, create_dgd
):
    """A fresh process has no earlier list: the pods still tell the model and engine."""
    create_dgd("llama", model="meta-llama/Llama-3.1-8B-Instruct")
    cluster_sandbox.advance(60)
    cluster.dgd_delete(namespace="default", name="llama")
    _remove_finalizers(cluster_sandbox, "llama")
    row = rows(member_client)["llama"]
    assert row.gone
    assert (row.model_name, row.engine_label) == ("Llama 3.1 8B Instruct", "vLLM")
