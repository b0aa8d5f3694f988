"""Deploying against the sandbox with the real Dynamo CRDs: versions, refusals, faults, fit."""

import copy
import json
import time

import pytest
from django.test import Client

from deployments import cluster, mirror
from deployments.models import DeploymentSubmission, Outcome
from sandbox import compact_crd
from tests.deploy.conftest import NEW_URL, form_data
from tests.fixtures.cluster import count_from_now

CRDS = {
    "dynamo-1.5": "crds/dynamo-1.5.0/nvidia.com_dynamographdeployments.yaml",
    "dynamo-0.6": "crds/dynamo-0.6.1/nvidia.com_dynamographdeployments.yaml",
}


@pytest.mark.parametrize(
    ("profile", "version"), [("dynamo-1.5", "v1beta1"), ("dynamo-0.6", "v1alpha1")]
)
@pytest.mark.parametrize("engine", ["vllm", "sglang"])
def test_create_in_the_version_the_cluster_serves(
    member_client, make_sandbox, use_cluster, shared_dynamo, profile, version, engine
):
    sandbox = make_sandbox(profile=profile, crds=[shared_dynamo / CRDS[profile]])
    use_cluster(sandbox)
    response = member_client.post(
        NEW_URL, form_data(idempotency_key=f"{profile}-{engine}", engine=engine, name="qwen")
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    created = sandbox.get("dgd", "default", "qwen")
    assert created["apiVersion"] == f"nvidia.com/{version}"
    assert DeploymentSubmission.objects.get().api_version == version


def test_the_new_deployment_shows_at_once_after_the_redirect(member_client, cluster_sandbox):
    def table() -> str:
        return member_client.get("/deployments/", headers={"HX-Request": "true"}).content.decode()

    # A dashboard viewed just before fills the shared cache without the new deployment.
    assert "data-deployment=" not in table()
    response = member_client.post(NEW_URL, form_data(idempotency_key="fresh", name="fresh-one"))
    detail = member_client.get(response["Location"]).content.decode()
    assert "There is no deployment" not in detail
    assert 'data-deployment="default/fresh-one"' in table()


def test_a_taken_name_suggests_a_free_one(member_client, cluster_sandbox):
    member_client.post(NEW_URL, form_data(idempotency_key="a"))
    response = member_client.post(NEW_URL, form_data(idempotency_key="b"))
    html = response.content.decode()
    taken = "A deployment named qwen3-8b-vllm already exists in default."
    assert f"{taken} Try qwen3-8b-vllm-2." in html
    assert DeploymentSubmission.objects.filter(outcome=Outcome.FAILED).count() == 1


def test_the_suggested_name_skips_names_taken_too(member_client, cluster_sandbox):
    member_client.post(NEW_URL, form_data(idempotency_key="a"))
    member_client.post(NEW_URL, form_data(idempotency_key="a2", name="qwen3-8b-vllm-2"))
    count_from_now(cluster_sandbox)
    html = member_client.post(NEW_URL, form_data(idempotency_key="b")).content.decode()
    assert "Try qwen3-8b-vllm-3." in html
    # The names come from the mirror, not one read per candidate name (nor a new list).
    assert cluster_sandbox.request_count("get", "dynamographdeployments") == 0
    assert cluster_sandbox.request_count("list", "dynamographdeployments") == 0


def test_a_422_from_the_cluster_lands_on_the_field_it_names(
    member_client, cluster_sandbox, shared_dynamo
):
    member_client.get(NEW_URL, {"model": "qwen3-8b"})  # Dynamote caches the CRD it saw
    # The cluster's CRD is upgraded meanwhile to allow at most 2 worker replicas.
    stricter = copy.deepcopy(compact_crd())
    for version in stricter["spec"]["versions"]:
        if version["name"] == "v1beta1":
            item = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"][
                "components"
            ]["items"]
            item["properties"]["replicas"]["maximum"] = 2
    cluster_sandbox.api.install_crd(stricter)
    response = member_client.post(NEW_URL, form_data(idempotency_key="c", replicas=3))
    html = response.content.decode()
    errors = html[html.index('id="id_replicas_errors"') :][:600]
    assert "maximum" in errors or "less than or equal to 2" in errors
    assert cluster_sandbox.get("dgd", "default", "qwen3-8b-vllm") is None


def test_a_forbidden_namespace_gives_an_error_toast_naming_what_was_refused(
    member_client, cluster_sandbox
):
    cluster_sandbox.forbid_dgd_create("dynamo")
    response = member_client.post(
        NEW_URL, form_data(idempotency_key="d", namespace="dynamo"), headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert 'hx-swap-oob="beforeend:#toasts"' in html
    assert (
        "Forbidden: Dynamote may not create dynamographdeployments in namespace "
        "&quot;dynamo&quot;" in html
    )


def test_a_slow_cluster_is_answered_with_a_message(member_client, cluster_sandbox, monkeypatch):
    member_client.get(NEW_URL, {"model": "qwen3-8b"})
    # The read timeout shortened so the test stays fast; the path is the one a 10 s timeout takes.
    monkeypatch.setattr(cluster, "TIMEOUT", (3, 0.5))
    cluster_sandbox.set_latency(1.0)
    started = time.monotonic()
    response = member_client.post(NEW_URL, form_data(idempotency_key="e"))
    elapsed = time.monotonic() - started
    assert "did not answer in time" in response.content.decode()
    assert elapsed < 3  # one timeout per request, not one per call


def test_the_fit_counts_gpus_in_use(member_client, cluster_sandbox):
    def fit_text(**overrides):
        html = member_client.get(
            NEW_URL, form_data(**overrides), headers={"HX-Request": "true"}
        ).content.decode()
        return html[html.index("data-gpu-fit") : html.index("</ul>", html.index("data-gpu-fit"))]

    assert "Fits: 2 nodes have 8 free H100 80GB" in fit_text(tensor_parallel_size=8)
    # One 8-GPU worker takes a whole H100 node.
    member_client.post(NEW_URL, form_data(idempotency_key="f", tensor_parallel_size=8, name="big"))
    cluster_sandbox.advance(30)
    assert "Fits: 1 node has 8 free H100 80GB" in fit_text(tensor_parallel_size=8)
    assert "Room for 1 of 2 workers now" in fit_text(tensor_parallel_size=8, replicas=2)


def test_the_secret_check_sees_a_secret_created_later(member_client, cluster_sandbox, monkeypatch):
    monkeypatch.setattr(mirror, "LIST_TTL", 0.2)

    def secret_html():
        html = member_client.get(
            NEW_URL, form_data(hf_token_secret="late"), headers={"HX-Request": "true"}
        ).content.decode()
        return html[html.index('id="secret-check"') :]

    assert "kubectl create secret generic late" in secret_html()
    cluster_sandbox.create_secret("default", "late", {"HF_TOKEN": "x"})
    time.sleep(0.3)  # within one cache window
    assert "Secret late exists in default." in secret_html()


# --- JSON ----------------------------------------------------------------------------------

API = "/api/deployments"


def post_json(client, body, query=""):
    return client.post(f"{API}{query}", json.dumps(body), content_type="application/json")


def test_api_creates_with_201(member_client, cluster_sandbox):
    response = post_json(member_client, {"modelId": "qwen3-8b", "name": "api-one", "replicas": 2})
    assert response.status_code == 201
    body = response.json()
    assert body["deployment"]["metadata"]["name"] == "api-one"
    assert body["url"] == "/deployments/default/api-one/"
    assert cluster_sandbox.get("dgd", "default", "api-one") is not None


def test_api_dry_run_returns_the_manifest_without_creating(member_client, cluster_sandbox):
    response = post_json(member_client, {"modelId": "qwen3-8b", "name": "dry"}, "?dryRun=true")
    assert response.status_code == 200
    assert response.json()["manifest"]["kind"] == "DynamoGraphDeployment"
    assert cluster_sandbox.get("dgd", "default", "dry") is None
    assert not DeploymentSubmission.objects.exists()


def test_api_field_errors_are_400(member_client, cluster_sandbox):
    response = post_json(member_client, {"modelId": "qwen3-8b", "replicas": 11, "name": "X"})
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"replicas", "name"}


def test_api_conflict_forbidden_and_unreachable(member_client, cluster_sandbox):
    assert post_json(member_client, {"modelId": "qwen3-8b"}).status_code == 201
    assert post_json(member_client, {"modelId": "qwen3-8b"}).status_code == 409
    cluster_sandbox.forbid_dgd_create("dynamo")
    forbidden = post_json(member_client, {"modelId": "qwen3-8b", "namespace": "dynamo"})
    assert forbidden.status_code == 403
    assert "may not create" in forbidden.json()["error"]
    cluster_sandbox.stop()
    assert post_json(member_client, {"modelId": "qwen3-8b", "name": "down"}).status_code == 503


def test_api_needs_a_login_and_csrf(client, member, cluster_sandbox):
    assert post_json(client, {"modelId": "qwen3-8b"}).status_code == 401
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(member)
    assert post_json(strict, {"modelId": "qwen3-8b"}).status_code == 403


def test_typing_in_the_deploy_form_makes_no_cluster_calls(
    member_client, cluster_sandbox, monkeypatch
):
    monkeypatch.setattr(mirror, "LIST_TTL", 60.0)  # the test's keystrokes fall in one window
    first = member_client.get(NEW_URL, form_data(), headers={"HX-Request": "true"})
    assert "Fits: " in first.content.decode()
    assert "Secret hf-token-secret" in first.content.decode()
    count_from_now(cluster_sandbox)
    for replicas, name in [(2, "q"), (3, "qw"), (3, "qwe"), (1, "qwen"), (2, "qwen-a")]:
        html = member_client.get(
            NEW_URL, form_data(replicas=replicas, name=name), headers={"HX-Request": "true"}
        ).content.decode()
        assert f"replicas: {replicas}" in html and "Fits: " in html
    assert [(r["verb"], r["resource"]) for r in cluster_sandbox.request_log] == []
