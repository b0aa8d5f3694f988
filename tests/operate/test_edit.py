"""Editing a deployment with the deploy form filled from the live DGD, reviewed as a diff."""

from deployments.models import Revision
from tests.operate.test_operate import components

EDIT = "/deployments/default/qwen/edit/"


def form_values(response) -> dict:
    """What the edit form would post back as it is shown."""
    form = response.context["form"]
    data = {}
    for field in form:
        if field.field.disabled:
            continue
        value = field.value()
        if isinstance(value, bool):
            if value:
                data[field.name] = "on"
        elif value is not None:
            data[field.name] = str(value)
    data["resource_version"] = response.context["read_version"]
    return data


def test_the_form_is_filled_from_the_live_dgd_with_the_name_locked(member_client, disagg, custom):
    decode = next(name for name in components(disagg) if "Decode" in name)
    dgd = custom.get_namespaced_custom_object(
        "nvidia.com", "v1beta1", "default", "dynamographdeployments", "qwen"
    )
    index = [c["name"] for c in dgd["spec"]["components"]].index(decode)
    dgd["spec"]["components"][index]["replicas"] = 3  # a change made with kubectl
    custom.replace_namespaced_custom_object(
        "nvidia.com", "v1beta1", "default", "dynamographdeployments", "qwen", dgd
    )
    response = member_client.get(EDIT)
    assert response.status_code == 200
    form = response.context["form"]
    assert form["decode_replicas"].value() == 3
    assert form.fields["name"].disabled and "use Copy" in form.fields["name"].help_text


def test_an_argument_change_is_reviewed_then_applied_as_a_revision(member_client, disagg):
    data = form_values(member_client.get(EDIT))
    data["enforce_eager"] = "on"
    review = member_client.post(EDIT, data)
    assert review.status_code == 200, review.content.decode()[:3000]
    sentences = review.context["preview"].summary.sentences
    assert any("arguments change" in s and "restart" in s for s in sentences)
    assert Revision.objects.count() == 1  # nothing applied yet
    applied = member_client.post(EDIT, {**data, "apply": "1"})
    assert applied.status_code == 302
    args = [
        arg
        for item in components(disagg).values()
        for arg in item["podTemplate"]["spec"]["containers"][0].get("args") or []
    ]
    assert "--enforce-eager" in " ".join(args)
    assert Revision.objects.get(number=2).action == "edit"


def test_an_edit_of_a_changed_deployment_overwrites_nothing(member_client, disagg, custom):
    data = form_values(member_client.get(EDIT))
    data["enforce_eager"] = "on"
    custom.patch_namespaced_custom_object(
        "nvidia.com",
        "v1beta1",
        "default",
        "dynamographdeployments",
        "qwen",
        {"metadata": {"labels": {"team": "search"}}},
    )
    response = member_client.post(EDIT, {**data, "apply": "1"})
    assert response.status_code == 409
    assert "changed since you read it" in response.context["stale"]
    assert response.context["read_version"] == response.context["preview"].resource_version
    args = " ".join(
        arg
        for item in components(disagg).values()
        for arg in item["podTemplate"]["spec"]["containers"][0].get("args") or []
    )
    assert "--enforce-eager" not in args


API = "/api/deployments/qwen?namespace=default"


def test_api_patch_config_dry_run_says_who_restarts_and_changes_nothing(member_client, disagg):
    response = member_client.patch(
        API + "&dryRun=true", {"config": {"enforceEager": True}}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["dryRun"] is True
    assert len(body["restarts"]) == 2  # prefill and decode workers, not the frontend
    assert "+" in body["diff"] and "--enforce-eager" in body["diff"]
    assert Revision.objects.count() == 1


def test_api_patch_config_refuses_a_new_name(member_client, disagg):
    response = member_client.patch(
        API, {"config": {"name": "other"}}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "use Copy" in response.json()["fields"]["name"][0]


def test_a_deployment_made_outside_the_form_is_edited_as_yaml(member_client, cluster_sandbox):
    from deployments import cluster
    from tests.dashboard.conftest import dgd_manifest

    cluster.dgd_create(manifest=dgd_manifest("outside", external=True))
    response = member_client.get("/deployments/default/outside/edit/")
    html = response.content.decode()
    assert response.status_code == 409
    assert "<title>Edit · outside" in html and ">Edit outside</h1>" in html
    assert "edit its YAML instead" in html
    assert 'href="/deployments/default/outside/yaml/"' in html
