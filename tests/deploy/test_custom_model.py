"""Deploying a Hugging Face model that is not in the catalog: form, API, retry, save to catalog."""

import json

import pytest
from django.urls import reverse

from catalog.custom import CustomModelError, parse_custom_model
from catalog.models import CatalogModel
from deployments import cluster
from deployments.custom_model import facts_for
from deployments.manifests import CUSTOM_MODEL_KEY, MODEL_ID_KEY
from deployments.models import DeploymentSubmission
from deployments.sizing import estimate
from tests.deploy.conftest import NEW_URL, form_data

HTMX = {"HX-Request": "true"}
REPO = "acme-ai/Falcon-Mini-7B"


def custom_data(**overrides) -> dict:
    """What the deploy form posts for a custom model, changed where asked."""
    data = form_data(model="<drop>", name="")
    data.update(
        {
            "custom": "1",
            "custom_hf_repo_id": REPO,
            "custom_parameters": "7",
            "custom_weight_format": "bf16",
            "custom_context_length": "32768",
            "custom_engines": ["vllm", "sglang"],
        }
    )
    for key, value in overrides.items():
        if value == "<drop>":
            data.pop(key, None)
        else:
            data[key] = value
    return data


def custom_body(**overrides) -> dict:
    facts = {
        "hfRepoId": REPO,
        "parameters": 7,
        "weightFormat": "bf16",
        "contextLength": 32768,
        "engines": ["vllm"],
    }
    facts.update(overrides)
    return {"customModel": facts, "engine": "vllm", "namespace": "default"}


def api_post(client, body, query=""):
    return client.post(
        reverse("api-deployments") + query, json.dumps(body), content_type="application/json"
    )


@pytest.mark.parametrize(
    ("facts", "key", "message"),
    [
        ({"parameters": 0}, "parameters", "more than 0"),
        ({"parameters": -3}, "parameters", "more than 0"),
        ({"contextLength": 10_000_001}, "contextLength", "10,000,000"),
        ({"engines": []}, "engines", "Choose at least one engine"),
        ({"hfRepoId": "not a repo"}, "hfRepoId", "owner/name"),
        ({"hfRepoId": "justaname"}, "hfRepoId", "owner/name"),
        ({"hfRepoId": "a--b/c"}, "hfRepoId", "owner/name"),
        ({"weightFormat": "fp3"}, "weightFormat", "Choose one of"),
    ],
)
def test_impossible_facts_get_a_message_on_their_field(facts, key, message):
    body = custom_body(**facts)["customModel"]
    with pytest.raises(CustomModelError) as caught:
        parse_custom_model(body)
    assert message in " ".join(caught.value.errors[key])


def test_a_custom_model_is_sized_like_a_catalog_model():
    custom = parse_custom_model(custom_body(parameters=20, weightFormat="mxfp4")["customModel"])
    facts = facts_for(custom)
    sized = estimate(
        parameters_billions=facts.parameters_billions,
        dtype=facts.weight_format,
        tensor_parallel_size=1,
        context_length=facts.context_length,
    )
    # MXFP4 weights take 0.62 bytes per parameter: about 12.4 GB, not 40 GB in BF16.
    assert 12 < sized.weights / 1e9 < 13


def test_the_catalog_offers_deploying_another_model(member_client, db):
    html = member_client.get(reverse("catalog:index")).content.decode()
    assert f'href="{NEW_URL}?custom=1"' in html
    response = member_client.get(NEW_URL, {"custom": "1"})
    assert response.status_code == 200
    form = response.context["form"]
    assert "custom_hf_repo_id" in form.fields
    # Nothing typed yet: no messages shouted at the person, no manifest.
    assert not form.errors
    assert response.context["yaml"] == ""


def test_the_preview_builds_the_custom_model(member_client, cluster_sandbox):
    response = member_client.get(NEW_URL, custom_data(), headers=HTMX)
    assert response.context["valid"]
    html = response.content.decode()
    assert REPO in html
    manifest = response.context["form"].manifest
    assert manifest["metadata"]["annotations"][MODEL_ID_KEY] == REPO
    stored = json.loads(manifest["metadata"]["annotations"][CUSTOM_MODEL_KEY])
    assert stored["hfRepoId"] == REPO and stored["engines"] == ["vllm", "sglang"]
    assert manifest["metadata"]["name"] == "acme-ai-falcon-mini-7b-vllm"
    # The GPU fit sizes it like a catalog model: 7 B in BF16 is 14 GB of weights.
    fit = response.context["fit"]
    assert fit.fits and fit.fits[0].estimate.weights == pytest.approx(14e9)


def test_an_engine_the_custom_model_does_not_run_on_is_refused(member_client, cluster_sandbox):
    response = member_client.get(NEW_URL, custom_data(engine="trtllm"), headers=HTMX)
    form = response.context["form"]
    assert "does not run on TensorRT-LLM" in " ".join(form.errors["engine"])


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("custom_parameters", "0", "more than 0"),
        ("custom_parameters", "-1", "more than 0"),
        ("custom_context_length", "20000000", "10,000,000"),
        ("custom_engines", "<drop>", "Choose at least one engine"),
        ("custom_hf_repo_id", "no-owner", "owner/name"),
    ],
)
def test_bad_facts_are_not_sent_to_the_cluster(
    member_client, cluster_sandbox, field, value, message
):
    before = cluster_sandbox.api.counters.copy()
    response = member_client.post(f"{NEW_URL}?custom=1", custom_data(**{field: value}))
    assert response.status_code == 200
    form = response.context["form"]
    assert message in " ".join(form.errors[field])
    assert not DeploymentSubmission.objects.exists()
    writes = [key for key in cluster_sandbox.api.counters if key[0] == "create"]
    assert writes == [key for key in before if key[0] == "create"]
    # What the person typed is still there.
    assert form[field].value() in (value, [])


def test_a_custom_model_deploys_and_shows_its_name(member_client, cluster_sandbox):
    response = member_client.post(f"{NEW_URL}?custom=1", custom_data())
    assert response.status_code == 302
    dgd = cluster.dgd_get(namespace="default", name="acme-ai-falcon-mini-7b-vllm")
    assert dgd["metadata"]["annotations"][MODEL_ID_KEY] == REPO
    listing = member_client.get(reverse("api-deployments")).json()
    row = next(d for d in listing["deployments"] if d["name"] == "acme-ai-falcon-mini-7b-vllm")
    assert row["modelName"] == REPO


def test_a_failed_custom_deploy_is_retried_without_retyping(member_client, cluster_sandbox):
    cluster_sandbox.forbid_dgd_create("default")
    member_client.post(f"{NEW_URL}?custom=1", custom_data(custom_parameters="7.5"))
    cluster_sandbox.clear_faults()
    submission = DeploymentSubmission.objects.get()
    assert submission.outcome == "failed"
    response = member_client.get(NEW_URL, {"custom": "1", "from": submission.pk})
    form = response.context["form"]
    assert form["custom_hf_repo_id"].value() == REPO
    assert float(form["custom_parameters"].value()) == 7.5
    assert form["custom_engines"].value() == ["vllm", "sglang"]
    assert response.context["valid"]


def test_the_api_deploys_a_custom_model(member_client, cluster_sandbox):
    response = api_post(member_client, custom_body())
    assert response.status_code == 201, response.json()
    created = response.json()["deployment"]
    assert created["metadata"]["annotations"][MODEL_ID_KEY] == REPO
    submission = DeploymentSubmission.objects.get()
    assert submission.config["customModel"]["hfRepoId"] == REPO


def test_the_api_names_the_wrong_fact(member_client, cluster_sandbox):
    response = api_post(member_client, custom_body(parameters=0, engines=[]))
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert "more than 0" in " ".join(fields["customModel.parameters"])
    assert "Choose at least one engine" in " ".join(fields["customModel.engines"])
    assert not DeploymentSubmission.objects.exists()


# --- saving to the catalog ------------------------------------------------------------------


def test_staff_see_the_save_button_and_members_do_not(client, member_client, admin_user, db):
    assert "Save to catalog" not in member_client.get(NEW_URL, {"custom": "1"}).content.decode()
    client.force_login(admin_user)
    assert "Save to catalog" in client.get(NEW_URL, {"custom": "1"}).content.decode()


def test_a_member_cannot_save_to_the_catalog(member_client, db):
    response = member_client.post(reverse("catalog:save-custom"), custom_data())
    assert response.status_code == 403
    assert not CatalogModel.objects.filter(hf_repo_id=REPO).exists()


def test_staff_save_a_custom_model_in_one_click(client, admin_user, db):
    client.force_login(admin_user)
    response = client.post(reverse("catalog:save-custom"), custom_data())
    model = CatalogModel.objects.get(hf_repo_id=REPO)
    assert response.status_code == 302
    assert response["Location"] == f"{NEW_URL}?model={model.slug}"
    assert model.parameters_billions == 7
    assert model.supported_engines == ["vllm", "sglang"]
    assert model.min_gpu_memory_gb == 17  # 7 B x 2 bytes x 1.2, as every catalog entry
    # Editable in the admin, and listed in the catalog.
    admin_page = client.get(reverse("admin:catalog_catalogmodel_change", args=[model.pk]))
    assert admin_page.status_code == 200
    assert REPO in client.get(reverse("catalog:index")).content.decode()
    # A second click finds the entry rather than adding another.
    client.post(reverse("catalog:save-custom"), custom_data())
    assert CatalogModel.objects.filter(hf_repo_id=REPO).count() == 1


def test_saving_wrong_facts_says_why(client, admin_user, db):
    client.force_login(admin_user)
    response = client.post(
        reverse("catalog:save-custom"), custom_data(custom_parameters="0"), headers=HTMX
    )
    assert response.status_code == 422
    assert not CatalogModel.objects.filter(hf_repo_id=REPO).exists()


def test_the_preview_names_wrong_facts_but_not_those_still_to_type(member_client, db):
    data = custom_data(custom_parameters="0", custom_context_length="", custom_engines="<drop>")
    response = member_client.get(NEW_URL, data, headers=HTMX)
    errors = response.context["form"].errors
    assert "more than 0" in " ".join(errors["custom_parameters"])
    assert "custom_context_length" not in errors and "custom_engines" not in errors
    assert not response.context["valid"]


def test_after_deploying_staff_save_it_from_the_deployments_page(
    client, member_client, admin_user, cluster_sandbox
):
    member_client.post(f"{NEW_URL}?custom=1", custom_data())
    url = reverse("deployments:detail", args=["default", "acme-ai-falcon-mini-7b-vllm"])
    member_page = member_client.get(url)
    assert member_page.context["detail"].summary["custom_model"]["hfRepoId"] == REPO
    assert "Save to catalog" not in member_page.content.decode()
    client.force_login(admin_user)
    assert "Save to catalog" in client.get(url).content.decode()
    facts = client.get(url).context["detail"].summary["custom_model"]
    posted = {
        "custom_hf_repo_id": facts["hfRepoId"],
        "custom_parameters": facts["parameters"],
        "custom_weight_format": facts["weightFormat"],
        "custom_context_length": facts["contextLength"],
        "custom_engines": facts["engines"],
    }
    response = client.post(reverse("catalog:save-custom"), posted)
    assert response.status_code == 302
    assert CatalogModel.objects.get(hf_repo_id=REPO).context_length == 32768
