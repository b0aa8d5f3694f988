"""The deploy page through Django's test client, against the sandbox cluster."""

import pytest
from django.contrib.messages import get_messages

from deployments.models import DeploymentSubmission, Outcome
from tests.deploy.conftest import NEW_URL, form_data

HTMX = {"HX-Request": "true"}


def preview(client, **overrides):
    return client.get(NEW_URL, form_data(**overrides), headers=HTMX)


def test_the_page_offers_the_three_engines_as_cards(member_client, cluster_sandbox):
    html = member_client.get(NEW_URL, {"model": "qwen3-8b"}).content.decode()
    for label in ("vLLM", "SGLang", "TensorRT-LLM"):
        assert label in html
    assert 'value="qwen3-8b-vllm"' in html
    assert "Fits: " in html
    assert "apiVersion: nvidia.com/v1beta1" in html


def test_engines_the_model_does_not_run_on_are_disabled_with_the_reason(
    member_client, cluster_sandbox
):
    html = member_client.get(NEW_URL, {"model": "qwen2-5-vl-7b-instruct"}).content.decode()
    assert "does not run on TensorRT-LLM." in html
    assert 'id="id_engine_2" disabled aria-describedby="id_engine_2_reason"' in html


def test_without_a_model_the_page_is_a_picker(member_client, db):
    response = member_client.get(NEW_URL)
    assert response.status_code == 200
    assert "Choose the model to serve" in response.content.decode()
    assert member_client.get(NEW_URL, {"model": "nope"}).status_code == 404


def test_the_preview_follows_a_field_change(member_client, cluster_sandbox):
    response = preview(member_client, replicas=3, router_mode="kv")
    html = response.content.decode()
    assert 'id="live"' in html and "<html" not in html
    assert "replicas: 3" in html
    assert "value: kv" in html


def test_an_untouched_generated_name_follows_the_engine(member_client, cluster_sandbox):
    html = preview(member_client, engine="sglang", name="qwen3-8b-vllm").content.decode()
    assert "name: qwen3-8b-sglang" in html


def test_the_preview_shows_errors_next_to_their_fields(member_client, cluster_sandbox):
    html = preview(member_client, name="Bad_Name", replicas=11).content.decode()
    assert 'id="id_name_errors" class="field-errors" aria-live="polite" hx-swap-oob="true"' in html
    assert "Use lowercase letters, digits and hyphens" in html
    assert "Choose between 1 and 10 replicas." in html
    assert "Fix the highlighted fields to see the manifest." in html


def test_disaggregated_mode_checks_the_fit_per_role(member_client, cluster_sandbox):
    html = preview(
        member_client,
        mode="disaggregated",
        prefill_replicas=2,
        prefill_tensor_parallel_size=1,
        decode_replicas=1,
        decode_tensor_parallel_size=2,
    ).content.decode()
    assert "prefill:</strong> Fits:" in html
    assert "decode:</strong> Fits: 2 nodes have 8 free H100 80GB" in html
    assert "Fits: all 4 GPUs of the workers are free now." in html
    assert "--disaggregation-mode" in html


def test_a_missing_secret_shows_the_command_that_creates_it(member_client, cluster_sandbox):
    html = preview(member_client, hf_token_secret="my-token").content.decode()
    assert 'id="secret-check" class="mt-2" hx-swap-oob="true"' in html
    assert (
        "kubectl create secret generic my-token "
        "&#x27;--from-literal=HF_TOKEN=&lt;your Hugging Face token&gt;&#x27; -n default"
    ) in html


def test_a_gated_model_says_a_token_is_required(member_client, cluster_sandbox):
    html = preview(
        member_client, model="llama-3-1-8b-instruct", hf_token_secret="missing"
    ).content.decode()
    assert "is gated on Hugging Face" in html


def test_the_manifest_downloads_as_yaml(member_client, cluster_sandbox):
    response = member_client.get(NEW_URL, {**form_data(name="dl-test"), "format": "yaml"})
    assert response["Content-Type"] == "application/yaml"
    assert response["Content-Disposition"] == 'attachment; filename="dl-test.yaml"'
    assert b"kind: DynamoGraphDeployment" in response.content


def test_a_submission_is_stored_and_created(member_client, member, cluster_sandbox):
    response = member_client.post(NEW_URL, form_data(idempotency_key="k1"))
    assert response.status_code == 302
    assert response["Location"] == "/deployments/default/qwen3-8b-vllm/"
    submission = DeploymentSubmission.objects.get()
    assert (submission.user, submission.outcome) == (member, Outcome.SUCCEEDED)
    assert submission.config["modelId"] == "qwen3-8b"
    assert submission.manifest["metadata"]["name"] == "qwen3-8b-vllm"
    assert cluster_sandbox.get("dgd", "default", "qwen3-8b-vllm") is not None
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Deployment qwen3-8b-vllm created"
    ]


def test_htmx_submit_redirects_with_hx_redirect(member_client, cluster_sandbox):
    response = member_client.post(NEW_URL, form_data(idempotency_key="k2"), headers=HTMX)
    assert response["HX-Redirect"] == "/deployments/default/qwen3-8b-vllm/"


def test_a_double_submit_creates_one_deployment(member_client, cluster_sandbox):
    data = form_data(idempotency_key="same")
    first = member_client.post(NEW_URL, data)
    second = member_client.post(NEW_URL, data)
    assert first["Location"] == second["Location"]
    assert DeploymentSubmission.objects.count() == 1
    # One dry-run and one create, none for the second submit.
    assert cluster_sandbox.request_count("create", "dynamographdeployments") == 2


def test_invalid_fields_are_not_sent(member_client, cluster_sandbox):
    response = member_client.post(NEW_URL, form_data(idempotency_key="k3", replicas=0))
    assert response.status_code == 200
    assert "Choose between 1 and 10 replicas." in response.content.decode()
    assert not DeploymentSubmission.objects.exists()
    assert cluster_sandbox.request_count("create", "dynamographdeployments") == 0


def test_a_failed_submission_can_be_retried_from_its_record(member_client, cluster_sandbox):
    cluster_sandbox.forbid_dgd_create("dynamo")
    response = member_client.post(
        NEW_URL, form_data(idempotency_key="k4", namespace="dynamo", replicas=2)
    )
    html = response.content.decode()
    submission = DeploymentSubmission.objects.get()
    assert submission.outcome == Outcome.FAILED
    assert "may not create dynamographdeployments" in submission.message
    assert f"from={submission.pk}" in html
    # The re-rendered form keeps what was typed, under a new key.
    assert 'name="replicas" value="2"' in html
    assert 'value="k4"' not in html

    retry = member_client.get(NEW_URL, {"model": "qwen3-8b", "from": submission.pk})
    retry_html = retry.content.decode()
    assert f"Filled in from submission #{submission.pk}" in retry_html
    assert 'name="replicas" value="2"' in retry_html


@pytest.mark.parametrize("htmx", [False, True])
def test_an_unreachable_cluster_still_previews_but_cannot_create(
    member_client, cluster_sandbox, htmx
):
    cluster_sandbox.stop()
    page = member_client.get(NEW_URL, {"model": "qwen3-8b"}).content.decode()
    assert "The preview targets nvidia.com/v1beta1 because the cluster could not be asked" in page
    assert "The fit could not be checked" in page
    assert "kind: DynamoGraphDeployment" in page

    headers = HTMX if htmx else {}
    response = member_client.post(NEW_URL, form_data(idempotency_key="k5"), headers=headers)
    html = response.content.decode()
    assert "was not created: The cluster at https://127.0.0.1" in html
    assert "cannot be reached" in html
    assert DeploymentSubmission.objects.get().outcome == Outcome.FAILED


def test_the_form_says_which_runtime_release_it_uses_and_why(
    member_client, make_sandbox, use_cluster, settings
):
    # A cluster whose operator Dynamote cannot see: the setting, then the API version decide.
    use_cluster(make_sandbox(cluster={"operator": {}}))
    settings.DYNAMOTE_DYNAMO_VERSION = "1.4.0"
    page = member_client.get(NEW_URL, {"model": "qwen3-8b"}).content.decode()
    assert "Runtime images 1.4.0, the newest published Dynamo 1.x release" in page
    settings.DYNAMOTE_DYNAMO_VERSION = "1.3.0"
    page = member_client.get(NEW_URL, {"model": "qwen3-8b"}).content.decode()
    assert "Runtime images 1.3.0, as DYNAMOTE_DYNAMO_VERSION says." in page
    assert "vllm-runtime:1.3.0" in page  # the image field's placeholder follows it
