"""A deployment's config to recreate or copy it, and adopting one, through the JSON API."""

import json

from access.models import AuditEntry
from deployments import cluster
from deployments.manifests import MANAGED_BY, MANAGED_BY_LABEL
from tests.dashboard.conftest import dgd_manifest
from tests.operate.test_operate import components

GROUP, PLURAL = "nvidia.com", "dynamographdeployments"
CONFIG = "/api/deployments/qwen/config?namespace=default"


def test_the_config_recreates_the_deployment_with_changes_made_with_kubectl(
    member_client, disagg, custom
):
    decode = next(name for name in components(disagg) if "Decode" in name)
    dgd = custom.get_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "qwen")
    index = [c["name"] for c in dgd["spec"]["components"]].index(decode)
    dgd["spec"]["components"][index]["replicas"] = 2  # a change made with kubectl
    custom.replace_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "qwen", dgd)

    response = member_client.get(CONFIG)
    assert response.status_code == 200, response.content
    config = response.json()
    assert config["name"] == "qwen" and config["namespace"] == "default"
    assert config["modelId"] == "qwen3-8b" and config["mode"] == "disaggregated"
    assert config["decodeReplicas"] == 2

    copy = member_client.post(
        "/api/deployments",
        json.dumps({**config, "name": "qwen-copy"}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="copy-1",
    )
    assert copy.status_code == 201, copy.content
    created = disagg.get(PLURAL, "default", "qwen-copy")
    replicas = {c["name"]: c.get("replicas") for c in created["spec"]["components"]}
    assert replicas[decode] == 2
    assert [c["type"] for c in created["spec"]["components"]] == [
        c["type"] for c in dgd["spec"]["components"]
    ]


def test_the_config_of_an_external_or_absent_deployment_is_refused(member_client, cluster_sandbox):
    cluster.dgd_create(manifest=dgd_manifest("outside", external=True))
    external = member_client.get("/api/deployments/outside/config")
    assert external.status_code == 409
    assert "/api/deployments/outside/manifest" in external.json()["error"]
    missing = member_client.get("/api/deployments/nope/config")
    assert missing.status_code == 404
    assert missing.json()["error"] == 'There is no deployment "nope" in namespace "default".'
    bad = member_client.get("/api/deployments/outside/config?namespace=Bad")
    assert bad.status_code == 400 and "namespace" in bad.json()["fields"]
    name = member_client.get("/api/deployments/Bad.Name/config")
    assert name.status_code == 400 and "name" in name.json()["fields"]
    assert member_client.post("/api/deployments/Bad.Name/adopt").status_code == 400


def test_adopting_labels_an_external_deployment_once_and_is_audited(member_client, cluster_sandbox):
    cluster.dgd_create(manifest=dgd_manifest("outside", external=True))
    url = "/api/deployments/outside/adopt?namespace=default"
    first = member_client.post(url)
    assert first.status_code == 200, first.content
    assert first.json()["adopted"] is True
    labels = cluster_sandbox.get(PLURAL, "default", "outside")["metadata"]["labels"]
    assert labels[MANAGED_BY_LABEL] == MANAGED_BY
    entry = AuditEntry.objects.get(action="adopt", name="outside")
    assert entry.outcome == "succeeded"

    again = member_client.post(url)
    assert again.status_code == 200 and again.json()["adopted"] is False
    assert "already managed" in again.json()["message"]
    assert AuditEntry.objects.filter(action="adopt").count() == 1

    missing = member_client.post("/api/deployments/nope/adopt")
    assert missing.status_code == 404
    assert member_client.get(url).status_code == 405


def test_a_viewer_may_read_the_config_but_not_adopt(viewer_client, member_client, disagg):
    assert viewer_client.get(CONFIG).status_code == 200
    cluster.dgd_create(manifest=dgd_manifest("outside", external=True))
    refused = viewer_client.post("/api/deployments/outside/adopt")
    assert refused.status_code == 403
    assert refused.json()["error"].startswith("You need the Deployer role")
    labels = disagg.get(PLURAL, "default", "outside")["metadata"].get("labels") or {}
    assert MANAGED_BY_LABEL not in labels


def test_a_deployment_changed_meanwhile_is_not_adopted(member_client, custom, monkeypatch):
    cluster.dgd_create(manifest=dgd_manifest("outside", external=True))
    real_patch = cluster.dgd_merge_patch

    def changed_meanwhile(**kwargs):
        # someone edits it with kubectl between Dynamote's read and its patch
        dgd = custom.get_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "outside")
        dgd["metadata"].setdefault("annotations", {})["someone"] = "else"
        custom.replace_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "outside", dgd)
        return real_patch(**kwargs)

    monkeypatch.setattr(cluster, "dgd_merge_patch", changed_meanwhile)
    response = member_client.post("/api/deployments/outside/adopt")
    assert response.status_code == 409
    assert "adopt it once more" in response.json()["error"]
