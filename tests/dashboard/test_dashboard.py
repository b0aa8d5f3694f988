"""The dashboard, details, delete and JSON routes against the sandbox cluster."""

import re

import pytest
from django.conf import settings
from django.urls import reverse

from deployments import cluster, mirror
from deployments.models import DeploymentDeletion, DeploymentSubmission, Outcome
from tests.fixtures.cluster import eventually

HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def no_ttl(monkeypatch):
    """Every read asks the sandbox, so each step of a test sees the cluster as it is."""
    monkeypatch.setattr(mirror, "LIST_TTL", 0)


def badge(html: str, name: str) -> str:
    row = re.search(rf'data-deployment="default/{name}" data-status="(\w+)"', html)
    return row.group(1) if row else ""


def table(client, **params) -> str:
    response = client.get(reverse("deployments:index"), params, headers=HTMX)
    assert response.status_code == 200
    return response.content.decode()


def test_lifecycle_pending_deploying_ready(member_client, cluster_sandbox, create_dgd):
    create_dgd("llama")
    assert badge(table(member_client), "llama") == "pending"
    cluster_sandbox.advance(2)
    assert badge(table(member_client), "llama") == "deploying"
    cluster_sandbox.advance(60)
    html = table(member_client)
    assert badge(html, "llama") == "ready"
    assert "1/1" in html  # one worker; the frontend is not counted


def test_full_page_lists_rows_with_model_engine_age_and_external(
    member_client, cluster_sandbox, create_dgd
):
    create_dgd("llama", model="meta-llama/Llama-3.1-8B-Instruct")
    create_dgd("theirs", external=True)
    html = member_client.get("/deployments/?wait=1").content.decode()
    assert "llama-3.1-8b-instruct" in html
    assert ">vLLM<" in html
    assert "external" in html.split('data-deployment="default/theirs"')[1].split("</tr>")[0]
    assert re.search(r'<time datetime="[^"]+" title="\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC">', html)


def test_first_load_shows_a_skeleton_then_the_table(member_client, cluster_sandbox):
    html = member_client.get("/deployments/").content.decode()
    assert "data-skeleton" in html
    assert 'hx-trigger="load"' in html


def test_empty_state_links_to_the_catalog(member_client, cluster_sandbox):
    html = table(member_client)
    assert "data-empty" in html
    assert 'href="/models/"' in html or f'href="{reverse("catalog:index")}"' in html


def test_namespace_filter_and_sorting(member_client, cluster_sandbox, create_dgd):
    create_dgd("bravo")
    create_dgd("alpha")
    create_dgd("other", namespace="dynamo")
    html = table(member_client, namespace="default")
    assert "alpha" in html and "other" not in html
    assert html.index("default/alpha") < html.index("default/bravo")
    html = table(member_client, sort="-name")
    assert html.index("default/bravo") < html.index("default/alpha")


def test_unchanged_poll_answers_204_with_no_body(member_client, cluster_sandbox, create_dgd):
    create_dgd("llama")
    html = table(member_client)
    fingerprint = re.search(r'"fp": "(\w+)"', html).group(1)
    response = member_client.get("/deployments/", {"fp": fingerprint}, headers=HTMX)
    assert response.status_code == 204
    assert response.content == b""
    assert len(response.serialize_headers()) + len("HTTP/1.1 204 No Content\r\n\r\n") < 300
    cluster_sandbox.advance(2)
    assert member_client.get("/deployments/", {"fp": fingerprint}, headers=HTMX).status_code == 200


def test_insufficient_gpus_explained(member_client, cluster_sandbox, create_dgd):
    create_dgd("huge", gpus=16)
    cluster_sandbox.advance(3)
    html = member_client.get("/deployments/default/huge/").content.decode()
    assert "Not enough free GPUs: the VllmWorker pod needs 16 GPUs on one node" in html
    assert "8 GPUs are missing" in html
    assert badge(table(member_client), "huge") == "pending"


def test_missing_secret_explained_with_the_command(member_client, cluster_sandbox, create_dgd):
    create_dgd("nosecret", secret="hf-missing")
    cluster_sandbox.advance(8)
    html = member_client.get("/deployments/default/nosecret/").content.decode()
    assert "The Secret &quot;hf-missing&quot; does not exist" in html
    assert "kubectl create secret generic hf-missing" in html


def test_detail_shows_configuration_pods_events_manifest_and_how_to_reach(
    member_client, member, cluster_sandbox, create_dgd
):
    manifest = create_dgd("llama", model="Qwen/Qwen3-0.6B")
    DeploymentSubmission.objects.create(
        user=member,
        namespace="default",
        name="llama",
        model_slug="qwen3-0.6b",
        engine="vllm",
        api_version="v1beta1",
        config={},
        manifest=manifest,
        outcome=Outcome.SUCCEEDED,
    )
    cluster_sandbox.advance(60)
    html = member_client.get("/deployments/default/llama/").content.decode()
    for text in [
        "kubectl port-forward svc/llama-frontend 8080:8000 -n default",
        "curl http://localhost:8080/v1/models",
        "/v1/chat/completions",
        "&quot;model&quot;: &quot;Qwen/Qwen3-0.6B&quot;",
        "hf-token-secret",
        'Deployed by <span class="text-zinc-200">grace</span>',
        "kind: DynamoGraphDeployment",
        'data-pod="llama-frontend',
        "Started",
        "all_resources_are_ready",
    ]:
        assert text in html, text
    # Every pod is ready: the live section polls less often, but still polls.
    live = html.split('id="live"')[1].split(">")[0]
    assert f'data-poll="{settings.DYNAMOTE_POLL_SECONDS * 3}"' in live


def test_detail_polls_until_ready_then_slower(member_client, cluster_sandbox, create_dgd):
    create_dgd("llama")
    cluster_sandbox.advance(2)
    html = member_client.get("/deployments/default/llama/", headers=HTMX).content.decode()
    assert "data-poll" in html.split(">")[0]
    fingerprint = re.search(r'"fp": "(\w+)"', html).group(1)
    assert (
        member_client.get(
            "/deployments/default/llama/", {"fp": fingerprint}, headers=HTMX
        ).status_code
        == 204
    )
    cluster_sandbox.advance(60)
    html = member_client.get("/deployments/default/llama/", headers=HTMX).content.decode()
    assert f'data-poll="{settings.DYNAMOTE_POLL_SECONDS * 3}"' in html.split(">")[0]
    fingerprint = re.search(r'"fp": "(\w+)"', html).group(1)
    response = member_client.get("/deployments/default/llama/", {"fp": fingerprint}, headers=HTMX)
    assert response.status_code == 204  # not 286: polling never stops while the tab is open
    # A delete made outside Dynamote shows on the next poll.
    cluster.dgd_delete(namespace="default", name="llama")
    cluster_sandbox.advance(60)
    mirror.reset()
    response = member_client.get("/deployments/default/llama/", {"fp": fingerprint}, headers=HTMX)
    assert response.status_code == 200 and "There is no deployment" in response.content.decode()


def test_detail_of_an_absent_deployment_is_404_page(member_client, cluster_sandbox):
    response = member_client.get("/deployments/default/nothing/")
    assert response.status_code == 404
    assert b"There is no deployment" in response.content


def test_delete_ready_needs_the_typed_name(member_client, member, cluster_sandbox, create_dgd):
    create_dgd("llama")
    cluster_sandbox.advance(60)
    dialog = member_client.get(
        "/deployments/default/llama/delete/", {"from": "index"}, headers=HTMX
    ).content.decode()
    assert "<dialog" in dialog and "Type <strong" in dialog
    response = member_client.post(
        "/deployments/default/llama/delete/", {"from": "index", "confirm": "wrong"}, headers=HTMX
    )
    assert b"Type &quot;llama&quot; to delete" in response.content
    assert cluster_sandbox.get("dgd", "default", "llama") is not None

    response = member_client.post(
        "/deployments/default/llama/delete/", {"from": "index", "confirm": "llama"}, headers=HTMX
    )
    assert response.headers["HX-Retarget"] == "#deployments-table"
    # The operator's finalizer keeps it, marked for deletion, until its pods are gone.
    assert cluster_sandbox.get("dgd", "default", "llama")["metadata"]["deletionTimestamp"]
    html = response.content.decode()
    assert badge(html, "llama") == "deleting"
    assert "Deleting &quot;llama&quot;" in html  # the toast
    record = DeploymentDeletion.objects.get()
    assert (record.user, record.name, record.outcome) == (member, "llama", Outcome.SUCCEEDED)
    assert record.manifest["metadata"]["name"] == "llama"

    # The cascade: pods shut down, then the row disappears.
    cluster_sandbox.advance(6)
    assert "default/llama" not in table(member_client)


def test_delete_not_ready_needs_no_typing(member_client, cluster_sandbox, create_dgd):
    create_dgd("llama")
    dialog = member_client.get("/deployments/default/llama/delete/", headers=HTMX)
    assert b"data-confirm-name" not in dialog.content
    response = member_client.post("/deployments/default/llama/delete/", {}, headers=HTMX)
    assert response.headers["HX-Redirect"] == "/deployments/"
    assert cluster_sandbox.get("dgd", "default", "llama") is None


def test_delete_failure_shows_the_cluster_message(member_client, cluster_sandbox, create_dgd):
    create_dgd("llama")
    cluster_sandbox.fail_next(2, 500)
    response = member_client.post("/deployments/default/llama/delete/", {}, headers=HTMX)
    html = response.content.decode()
    assert "Deleting llama failed" in html and "HTTP 500" in html
    assert DeploymentDeletion.objects.get().outcome == Outcome.FAILED


def test_delete_without_javascript(member_client, cluster_sandbox, create_dgd):
    create_dgd("llama")
    page = member_client.get("/deployments/default/llama/delete/").content.decode()
    assert "Delete llama?" in page and 'action="/deployments/default/llama/delete/"' in page
    response = member_client.post("/deployments/default/llama/delete/", {})
    assert response.status_code == 302


def test_cluster_down_shows_stale_data_never_500(member_client, cluster_sandbox, create_dgd):
    create_dgd("llama")
    assert badge(table(member_client), "llama") == "pending"
    cluster_sandbox.stop()
    response = member_client.get("/deployments/", headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Cluster unreachable" in html and "data-stale" in html
    assert badge(html, "llama") == "pending"
    page = member_client.get("/deployments/?wait=1")
    assert page.status_code == 200 and b"Unreachable" in page.content
    cluster_sandbox.restart()
    assert "data-cluster-banner" not in table(member_client)


def test_cluster_down_before_any_data(member_client, cluster_sandbox):
    cluster_sandbox.stop()
    html = table(member_client)
    assert "Cluster unreachable" in html and "data-stale" not in html
    response = member_client.get("/api/deployments")
    assert response.status_code == 503 and "error" in response.json()


def test_api_server_errors_show_a_banner(member_client, cluster_sandbox, create_dgd):
    create_dgd("llama")
    table(member_client)
    # The mirror falls behind (its watch hears nothing while a DGD is added), the cluster
    # forgets the changes since (410 Gone), and every LIST again answers HTTP 500.
    cluster_sandbox.api.apply_faults({"stallWatches": True})
    create_dgd("mistral")
    cluster_sandbox.api.apply_faults(
        {"failLists": {"count": 1000, "code": 500}, "compact": True, "stallWatches": False}
    )

    def banner() -> str:
        html = table(member_client)
        assert "The cluster answered HTTP 500" in html
        return html

    html = eventually(banner)
    assert badge(html, "llama") == "pending"
    cluster_sandbox.clear_faults()

    def recovered() -> None:
        html = table(member_client)
        assert badge(html, "mistral") == "pending" and "data-cluster-banner" not in html

    eventually(recovered)


class TestJson:
    def test_list(self, member_client, cluster_sandbox, create_dgd):
        create_dgd("llama")
        create_dgd("other", namespace="dynamo")
        body = member_client.get("/api/deployments", {"namespace": "default"}).json()
        assert [d["name"] for d in body["deployments"]] == ["llama"]
        assert body["deployments"][0]["status"] == "Pending"
        assert len(member_client.get("/api/deployments").json()["deployments"]) == 2

    def test_detail_and_404(self, member_client, cluster_sandbox, create_dgd):
        create_dgd("llama", namespace="dynamo")
        body = member_client.get("/api/deployments/llama", {"namespace": "dynamo"}).json()
        assert body["name"] == "llama" and body["manifest"]["kind"] == "DynamoGraphDeployment"
        missing = member_client.get("/api/deployments/nothing")
        assert missing.status_code == 404 and "error" in missing.json()

    def test_pods(self, member_client, cluster_sandbox, create_dgd):
        create_dgd("llama")
        cluster_sandbox.advance(60)
        pods = member_client.get("/api/deployments/llama/pods").json()["pods"]
        assert {p["component"] for p in pods} == {"Frontend", "VllmWorker"}
        assert all(p["ready"] for p in pods)

    def test_delete(self, member_client, cluster_sandbox, create_dgd):
        create_dgd("llama")
        response = member_client.delete("/api/deployments/llama")
        assert response.status_code == 202
        assert cluster_sandbox.get("dgd", "default", "llama") is None
        assert member_client.delete("/api/deployments/llama").status_code == 404

    def test_cluster_status(self, member_client, cluster_sandbox):
        body = member_client.get("/api/cluster/status").json()
        assert body["state"] == "connected"
        assert body["dgdVersions"] == ["v1beta1", "v1alpha1"]
        assert body["server"] == cluster_sandbox.url
        assert body["sandbox"] is True


def test_header_shows_connected_and_popover(member_client, cluster_sandbox):
    html = member_client.get("/models/").content.decode()
    assert "Cluster: Connected" in html
    assert cluster_sandbox.url in html and "v1beta1, v1alpha1" in html


def test_header_shows_unreachable(member_client, cluster_sandbox):
    cluster_sandbox.stop()
    assert "Cluster: Unreachable" in member_client.get("/models/").content.decode()


def test_header_follows_an_outage_the_dashboard_saw(member_client, cluster_sandbox):
    assert "Cluster: Connected" in member_client.get("/models/").content.decode()
    cluster_sandbox.stop()  # the mirror's watches are cut: the table says so
    assert "Cluster unreachable" in table(member_client)
    # Within the header's 30 s, the next page already says what the table saw.
    assert "Cluster: Unreachable" in member_client.get("/models/").content.decode()
    cluster_sandbox.start()
    table(member_client)
    assert "Cluster: Connected" in member_client.get("/models/").content.decode()


def test_header_shows_dynamo_not_installed(member_client, cluster_sandbox):
    # A cluster without the Dynamo platform: no DGD API in discovery.
    cluster_sandbox.api.crds.clear()
    assert "Cluster: Dynamo not installed" in member_client.get("/models/").content.decode()


def test_benchmark_command_runs(db, capsys):
    from django.core.management import call_command

    call_command("bench_dashboard", deployments=20, workers=1, runs=5)
    out = capsys.readouterr().out
    assert "Seeded 20 DGDs and 40 pods" in out
    assert "Table partial: 20 rows" in out
    assert "Unchanged poll: HTTP 204" in out
