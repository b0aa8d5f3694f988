"""Scaling, revisions and rollback against the sandbox, from the pages and the JSON API."""

import json

import pytest
from django.urls import reverse

from deployments.models import Revision
from tests.operate.conftest import component_pod_uids

DETAIL = "/deployments/default/qwen/"
SCALE = "/deployments/default/qwen/scale/"
API = "/api/deployments/qwen?namespace=default"


def components(sandbox) -> dict[str, dict]:
    dgd = sandbox.get("dgd", "default", "qwen")
    return {item["name"]: item for item in dgd["spec"]["components"]}


def live_version(sandbox) -> str:
    return sandbox.get("dgd", "default", "qwen")["metadata"]["resourceVersion"]


def test_creating_a_deployment_stores_revision_1(member, disagg):
    revision = Revision.objects.get()
    assert (revision.number, revision.action, revision.source) == (1, "create", "dynamote")
    assert revision.user == member
    assert revision.generation == 1
    assert revision.spec == disagg.get("dgd", "default", "qwen")["spec"]


def test_a_change_made_outside_dynamote_is_a_revision_and_the_page_says_so(
    member_client, disagg, custom
):
    dgd = custom.get_namespaced_custom_object(
        "nvidia.com", "v1beta1", "default", "dynamographdeployments", "qwen"
    )
    dgd["spec"]["components"][0]["replicas"] = 2
    custom.replace_namespaced_custom_object(
        "nvidia.com", "v1beta1", "default", "dynamographdeployments", "qwen", dgd
    )
    response = member_client.get(DETAIL)
    assert response.context["changed_outside"].number == 2
    assert "Changed outside Dynamote: revision 2" in response.content.decode()
    outside = Revision.objects.get(number=2)
    assert (outside.source, outside.generation) == ("outside", 2)
    assert "replicas only: no restart" in outside.summary
    # Seen once: reading the page again stores nothing more.
    member_client.get(DETAIL)
    assert Revision.objects.count() == 2


def test_scaling_decode_changes_only_its_replicas_and_no_other_pod_restarts(
    member, member_client, disagg
):
    before = component_pod_uids(disagg)
    decode = next(name for name in before if "Decode" in name)
    preview = member_client.post(
        SCALE, {f"replicas-{decode}": "2", "resource_version": live_version(disagg)}
    )
    assert preview.status_code == 200
    assert "replicas only: no restart" in preview.context["preview"].summary.sentences
    assert components(disagg)[decode]["replicas"] == 1  # nothing applied yet
    applied = member_client.post(
        SCALE,
        {
            f"replicas-{decode}": "2",
            "resource_version": preview.context["preview"].resource_version,
            "apply": "1",
        },
    )
    assert applied.status_code == 302
    assert components(disagg)[decode]["replicas"] == 2
    disagg.advance(120)
    after = component_pod_uids(disagg)
    assert len(after[decode]) == 2 and before[decode] < after[decode]
    for name, uids in before.items():
        if name != decode:
            assert after[name] == uids, f"{name}'s pods restarted"
    revision = Revision.objects.get(number=2)
    assert (revision.action, revision.source, revision.user) == ("scale", "dynamote", member)
    assert revision.generation == disagg.get("dgd", "default", "qwen")["metadata"]["generation"]
    # The next page read does not take Dynamote's own change for an outside one.
    page = member_client.get(DETAIL)
    assert page.context["changed_outside"] is None
    assert Revision.objects.count() == 2


def test_a_change_made_while_reviewing_is_not_overwritten(member_client, disagg, custom):
    read = live_version(disagg)
    decode = next(name for name in components(disagg) if "Decode" in name)
    custom.patch_namespaced_custom_object(
        "nvidia.com",
        "v1beta1",
        "default",
        "dynamographdeployments",
        "qwen",
        {"metadata": {"labels": {"team": "search"}}},
    )
    response = member_client.post(
        SCALE, {f"replicas-{decode}": "3", "resource_version": read, "apply": "1"}
    )
    assert response.status_code == 409
    assert "changed since you read it" in response.context["stale"]
    assert response.context["preview"].resource_version == live_version(disagg)
    assert components(disagg)[decode]["replicas"] == 1


def test_scaling_to_zero_needs_a_confirmation(member_client, disagg):
    decode = next(name for name in components(disagg) if "Decode" in name)
    data = {f"replicas-{decode}": "0", "apply": "1"}
    refused = member_client.post(SCALE, data)
    assert refused.status_code == 400
    assert "confirm" in refused.context["refused"].message
    assert components(disagg)[decode]["replicas"] == 1
    assert member_client.post(SCALE, {**data, "confirm_zero": "1"}).status_code == 302
    assert components(disagg)[decode]["replicas"] == 0


def test_scaling_up_beyond_the_free_gpus_is_warned(member_client, disagg):
    decode = next(name for name in components(disagg) if "Decode" in name)
    response = member_client.post(SCALE, {f"replicas-{decode}": "40"})
    warning = response.context["preview"].warnings[0]
    assert warning.startswith("39 more decode workers (")
    assert "need 39 GPUs;" in warning and warning.endswith("will stay Pending.")


def test_api_dry_run_answers_the_diff_and_changes_nothing(member_client, disagg):
    decode = next(name for name in components(disagg) if "Decode" in name)
    response = member_client.patch(
        API + "&dryRun=true", {"replicas": {decode: 2}}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["restarts"] == []
    assert "+  replicas: 2" in body["diff"]
    assert components(disagg)[decode]["replicas"] == 1


def test_api_patch_with_an_old_resource_version_answers_409(member_client, disagg, custom):
    read = member_client.get(API).json()["manifest"]["metadata"]["resourceVersion"]
    custom.patch_namespaced_custom_object(
        "nvidia.com",
        "v1beta1",
        "default",
        "dynamographdeployments",
        "qwen",
        {"metadata": {"annotations": {"owner": "search"}}},
    )
    decode = next(name for name in components(disagg) if "Decode" in name)
    response = member_client.patch(
        API, {"replicas": {decode: 2}, "resourceVersion": read}, content_type="application/json"
    )
    assert response.status_code == 409
    assert set(response.json()) >= {"error", "fields", "diff"}
    assert components(disagg)[decode]["replicas"] == 1


def test_api_refuses_an_unknown_component_next_to_the_field(member_client, disagg):
    response = member_client.patch(API, {"replicas": {"nope": 2}}, content_type="application/json")
    assert response.status_code == 400
    assert "has no component 'nope'" in response.json()["fields"]["replicas.nope"][0]


def test_revisions_api_and_rollback(member_client, disagg):
    decode = next(name for name in components(disagg) if "Decode" in name)
    member_client.patch(API, {"replicas": {decode: 2}}, content_type="application/json")
    listed = member_client.get("/api/deployments/qwen/revisions?namespace=default").json()
    assert [r["revision"] for r in listed["revisions"]] == [2, 1]
    one = member_client.get("/api/deployments/qwen/revisions/1?namespace=default").json()
    assert one["rollback"]["summary"][0] == "replicas only: no restart"
    response = member_client.post(
        "/api/deployments/qwen/rollback?namespace=default",
        json.dumps({"revision": 1}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["revision"] == 3
    assert components(disagg)[decode]["replicas"] == 1
    assert Revision.objects.get(number=3).action == "rollback"


def test_rollback_from_the_revision_page(member_client, disagg):
    decode = next(name for name in components(disagg) if "Decode" in name)
    member_client.post(SCALE, {f"replicas-{decode}": "2", "apply": "1"})
    page = member_client.get(reverse("deployments:revision", args=["default", "qwen", 1]))
    assert page.status_code == 200
    assert "replicas only: no restart" in page.context["preview"].summary.sentences
    response = member_client.post(
        reverse("deployments:rollback", args=["default", "qwen", 1]),
        {"resource_version": page.context["preview"].resource_version},
    )
    assert response.status_code == 302
    assert components(disagg)[decode]["replicas"] == 1
    history = member_client.get(DETAIL).context["history"]
    assert [r.number for r in history] == [3, 2, 1]


def test_a_v1alpha1_deployment_scales_its_service_only(
    member_client, make_sandbox, use_cluster, shared_dynamo
):
    from tests.deploy.conftest import NEW_URL, form_data

    sandbox = make_sandbox(
        profile="dynamo-0.6",
        crds=[shared_dynamo / "crds/dynamo-0.6.1/nvidia.com_dynamographdeployments.yaml"],
    )
    use_cluster(sandbox)
    created = member_client.post(
        NEW_URL, form_data(idempotency_key="alpha", name="qwen", mode="disaggregated")
    )
    assert created.status_code == 302
    before = sandbox.get("dgd", "default", "qwen")
    assert before["apiVersion"] == "nvidia.com/v1alpha1"
    decode = next(n for n, s in before["spec"]["services"].items() if "Decode" in n)
    response = member_client.patch(API, {"replicas": {decode: 2}}, content_type="application/json")
    assert response.status_code == 200, response.content
    after = sandbox.get("dgd", "default", "qwen")
    assert after["spec"]["services"][decode]["replicas"] == 2
    after["spec"]["services"][decode]["replicas"] = 1
    assert after["spec"] == before["spec"]  # nothing else changed


def test_a_refusal_by_the_operators_webhook_reads_as_such(cluster_sandbox, custom):
    from deployments import cluster
    from tests.operate.test_adapters import marked

    custom.create_namespaced_custom_object(
        "nvidia.com", "v1beta1", "default", "dynamographdeployments", marked()
    )
    cluster_sandbox.advance(10)
    ops = [{"op": "replace", "path": "/spec/components/1/replicas", "value": 3}]
    with pytest.raises(cluster.Invalid) as refused:
        cluster.dgd_patch(namespace="default", name="qwen", version="v1beta1", ops=ops)
    assert "denied the request: spec.components[1].replicas: Forbidden" in refused.value.message
    assert "Dynamote may not" not in refused.value.message


def test_the_stepper_sends_only_the_counts_changed_on_the_page(member_client, disagg, custom):
    page = member_client.get(DETAIL)
    shown = {c["name"]: c["replicas"] for c in page.context["scalable"]}
    frontend = next(name for name in shown if name == "Frontend")
    decode = next(name for name in shown if "Decode" in name)
    # The frontend is scaled with kubectl while the page is open.
    dgd = custom.get_namespaced_custom_object(
        "nvidia.com", "v1beta1", "default", "dynamographdeployments", "qwen"
    )
    dgd["spec"]["components"][0]["replicas"] = 2
    custom.replace_namespaced_custom_object(
        "nvidia.com", "v1beta1", "default", "dynamographdeployments", "qwen", dgd
    )
    posted = {f"replicas-{n}": str(c) for n, c in shown.items()}
    posted.update({f"current-{n}": str(c) for n, c in shown.items()})
    posted[f"replicas-{decode}"] = "2"
    preview = member_client.post(SCALE, posted).context["preview"]
    assert preview.replicas == {decode: 2}
    assert member_client.post(SCALE, {**posted, "apply": "1"}).status_code == 302
    assert components(disagg)[frontend]["replicas"] == 2
    assert components(disagg)[decode]["replicas"] == 2
