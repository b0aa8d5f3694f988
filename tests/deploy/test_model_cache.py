"""The model cache and the GPU type on the deploy form, against the sandbox cluster."""

import html
import json

import pytest

from deployments.models import DeploymentSubmission
from deployments.status import volume_reason
from tests.deploy.conftest import NEW_URL, form_data
from tests.fixtures.cluster import count_from_now

H100 = "NVIDIA-H100-80GB-HBM3"
HTMX = {"HX-Request": "true"}

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _writes(sandbox) -> int:
    return sum(
        sandbox.request_count(verb, "dynamographdeployments") for verb in ("create", "update")
    )


def test_the_form_lists_the_namespaces_claims_and_the_nodes_gpu_types(
    member_client, cluster_sandbox
):
    page = _text(member_client.get(NEW_URL, {"model": "qwen3-8b"}))
    assert '<option value="model-cache">model-cache (ReadWriteMany, 500Gi)</option>' in page
    assert f'<option value="{H100}">{H100} (16 GPUs on 2 nodes)</option>' in page
    assert '<option value="NVIDIA-L40S">NVIDIA-L40S (4 GPUs on 1 node)</option>' in page
    # Without a cache, the page says what each worker downloads and asks for.
    assert "No model cache: every worker downloads the weights and requests 19Gi" in page


def test_a_claim_that_does_not_exist_is_a_field_error_and_nothing_is_sent(
    member_client, cluster_sandbox
):
    count_from_now(cluster_sandbox)
    response = member_client.post(
        NEW_URL, form_data(idempotency_key="missing", model_cache="weights")
    )
    page = _text(response)
    assert response.status_code == 200
    assert "No PersistentVolumeClaim weights in namespace default (it has: model-cache)" in page
    # The fix, shell-quoted: a ReadWriteMany claim of the weights' size.
    assert 'echo \'{"apiVersion": "v1", "kind": "PersistentVolumeClaim"' in page
    assert '"accessModes": ["ReadWriteMany"]' in page and "| kubectl apply -f -" in page
    assert _writes(cluster_sandbox) == 0
    assert not DeploymentSubmission.objects.exists()


def test_a_gpu_type_no_node_has_is_a_field_error_and_nothing_is_sent(
    member_client, cluster_sandbox
):
    count_from_now(cluster_sandbox)
    response = member_client.post(
        NEW_URL, form_data(idempotency_key="a100", gpu_product="NVIDIA-A100-SXM4-80GB")
    )
    page = _text(response)
    assert "No node has nvidia.com/gpu.product=NVIDIA-A100-SXM4-80GB" in page
    assert f"the cluster has: {H100}, NVIDIA-L40S" in page
    assert _writes(cluster_sandbox) == 0


def test_the_json_api_refuses_them_too(member_client, cluster_sandbox):
    count_from_now(cluster_sandbox)
    body = {"modelId": "qwen3-8b", "modelCache": "weights", "gpuProduct": "NVIDIA-B200"}
    response = member_client.post(
        "/api/deployments", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert "No PersistentVolumeClaim weights" in fields["modelCache"][0]
    assert "NVIDIA-B200" in fields["gpuProduct"][0]
    assert _writes(cluster_sandbox) == 0


def test_a_chosen_cache_and_gpu_type_reach_the_pods(member_client, cluster_sandbox):
    response = member_client.post(
        NEW_URL,
        form_data(
            idempotency_key="cached",
            name="cached",
            model_cache="model-cache",
            gpu_product="NVIDIA-L40S",
        ),
    )
    assert response.status_code == 302, _text(response)[:3000]
    cluster_sandbox.advance(300)
    pods = cluster_sandbox.list("pods", "default")
    assert len(pods) == 2
    for pod in pods:
        assert pod["spec"]["volumes"] == [
            {"name": "model-cache", "persistentVolumeClaim": {"claimName": "model-cache"}}
        ]
        assert pod["status"]["containerStatuses"][0]["ready"] is True
    (worker,) = [p for p in pods if "worker" in p["metadata"]["name"]]
    assert worker["spec"]["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-L40S"}
    assert worker["spec"]["nodeName"] == "gpu-l40s-1"


def test_a_read_write_once_claim_gets_a_warning_with_the_fix(member_client, cluster_sandbox):
    cluster_sandbox.create_pvc("default", "local-disk", access_modes=["ReadWriteOnce"])
    response = member_client.get(
        NEW_URL, {**form_data(model_cache="local-disk", replicas=2)}, headers=HTMX
    )
    page = _text(response)
    assert "local-disk is ReadWriteOnce, but 3 pods mount it" in page
    assert '"accessModes": ["ReadWriteMany"]' in page
    assert "Fix the highlighted fields" not in page  # a warning, not a block


def test_changing_the_namespace_lists_that_namespaces_claims(member_client, cluster_sandbox):
    cluster_sandbox.create_pvc("dynamo", "team-weights")
    data = form_data(namespace="dynamo", claims_for="default")
    page = _text(member_client.get(NEW_URL, data, headers=HTMX))
    assert 'id="model-cache-field" hx-swap-oob="true"' in page
    assert '<option value="team-weights">' in page
    assert '<option value="model-cache">' not in page
    # While the namespace stays, the choice is not swapped under the person's cursor.
    same = _text(member_client.get(NEW_URL, {**data, "claims_for": "dynamo"}, headers=HTMX))
    assert 'id="model-cache-field"' not in same


def test_a_pinned_gpu_type_counts_only_its_nodes_in_the_fit(member_client, cluster_sandbox):
    data = form_data(tensor_parallel_size=8)
    anywhere = _text(member_client.get(NEW_URL, data, headers=HTMX))
    assert "Fits:" in anywhere
    pinned = _text(member_client.get(NEW_URL, {**data, "gpu_product": "NVIDIA-L40S"}, headers=HTMX))
    assert "Can never fit on this cluster" in pinned
    assert "Counting only the nodes with NVIDIA-L40S GPUs, the GPU type chosen." in pinned


def test_the_details_say_in_one_sentence_that_the_cache_claim_is_missing(
    member_client, cluster_sandbox
):
    response = member_client.post(
        NEW_URL, form_data(idempotency_key="gone", name="gone", model_cache="model-cache")
    )
    assert response.status_code == 302, _text(response)[:3000]
    cluster_sandbox.delete_pvc("default", "model-cache")  # removed before the pods start
    cluster_sandbox.advance(60)
    page = _text(member_client.get("/deployments/default/gone/"))
    assert 'The model cache claim "model-cache" does not exist in namespace "default"' in page
    assert '"name": "model-cache", "namespace": "default"' in page  # the kubectl that fixes it


def test_a_missing_config_map_volume_is_named_in_why_not_ready():
    pod = {"metadata": {"name": "p-1", "labels": {}}, "spec": {}, "status": {}}
    event = {
        "involvedObject": {"name": "p-1"},
        "reason": "FailedMount",
        "message": 'MountVolume.SetUp failed for volume "engine" : configmap "trt" not found',
    }
    reason = volume_reason([pod], events=[event], namespace="llm")
    assert reason is not None
    assert reason.sentence.startswith(
        'The ConfigMap "trt" that the pod mounts does not exist in namespace "llm"'
    )
