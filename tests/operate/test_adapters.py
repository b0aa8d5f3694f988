"""The sandbox's DynamoGraphDeploymentScalingAdapters, and Dynamote scaling through them."""

from __future__ import annotations

import json
import shutil
import subprocess

import kubernetes
import pytest
import yaml
from kubernetes.client.exceptions import ApiException

from sandbox import adapters
from sandbox.schema import load_crd, version_schema
from tests.fixtures.sandbox import sandbox_api_client
from tests.sandbox.manifests import dgd_v1beta1

DGDSA = "dynamographdeploymentscalingadapters"
REAL_CRD = "crds/dynamo-1.5.0/nvidia.com_dynamographdeploymentscalingadapters.yaml"


def marked(name: str = "qwen", replicas: int = 1) -> dict:
    """An aggregated deployment whose worker hands its replicas to a scaling adapter."""
    manifest = dgd_v1beta1(name, replicas=replicas)
    manifest["metadata"]["namespace"] = "default"
    manifest["spec"]["components"][1]["scalingAdapter"] = {}
    return manifest


@pytest.fixture
def custom(sandbox) -> kubernetes.client.CustomObjectsApi:
    return kubernetes.client.CustomObjectsApi(sandbox_api_client(sandbox))


def worker_replicas(sandbox, name: str = "qwen") -> int:
    return sandbox.get("dgd", "default", name)["spec"]["components"][1]["replicas"]


def test_the_compact_crd_matches_the_real_one(shared_dynamo):
    real = load_crd(shared_dynamo / REAL_CRD)
    mine = adapters.compact_crd()
    assert mine["spec"]["names"] == real["spec"]["names"]
    assert mine["spec"]["scope"] == real["spec"]["scope"]
    real_beta = next(v for v in real["spec"]["versions"] if v["name"] == "v1beta1")
    mine_beta = next(v for v in mine["spec"]["versions"] if v["name"] == "v1beta1")
    assert mine_beta["subresources"] == real_beta["subresources"]
    real_spec = version_schema(real, "v1beta1")["properties"]["spec"]
    mine_spec = version_schema(mine, "v1beta1")["properties"]["spec"]
    assert mine_spec["required"] == real_spec["required"]
    assert mine_spec["properties"]["replicas"] == {
        k: v for k, v in real_spec["properties"]["replicas"].items() if k != "description"
    }
    ref = real_spec["properties"]["dgdRef"]
    assert set(mine_spec["properties"]["dgdRef"]["properties"]) == set(ref["properties"])
    assert sorted(mine_spec["properties"]["dgdRef"]["required"]) == sorted(ref["required"])


def test_the_operator_creates_one_adapter_per_marked_component(sandbox, custom):
    custom.create_namespaced_custom_object(
        "nvidia.com", "v1beta1", "default", "dynamographdeployments", marked(replicas=2)
    )
    sandbox.advance(10)
    adapter = custom.get_namespaced_custom_object(
        "nvidia.com", "v1beta1", "default", DGDSA, "qwen-vllmworker"
    )
    assert adapter["spec"] == {
        "dgdRef": {"name": "qwen", "componentName": "VllmWorker"},
        "replicas": 2,
    }
    assert adapter["status"]["replicas"] == 2
    listed = custom.list_namespaced_custom_object("nvidia.com", "v1beta1", "default", DGDSA)
    assert [a["metadata"]["name"] for a in listed["items"]] == ["qwen-vllmworker"]


def test_the_scale_subresource_scales_the_component(sandbox, custom):
    custom.create_namespaced_custom_object(
        "nvidia.com", "v1beta1", "default", "dynamographdeployments", marked()
    )
    sandbox.advance(10)
    scale = custom.patch_namespaced_custom_object_scale(
        "nvidia.com", "v1beta1", "default", DGDSA, "qwen-vllmworker", {"spec": {"replicas": 3}}
    )
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 3
    assert worker_replicas(sandbox) == 3
    sandbox.advance(10)
    got = custom.get_namespaced_custom_object_scale(
        "nvidia.com", "v1beta1", "default", DGDSA, "qwen-vllmworker"
    )
    assert got["status"]["replicas"] == 3
    assert "nvidia.com/dynamo-component=VllmWorker" in got["status"]["selector"]


def test_the_webhook_refuses_a_direct_change_of_adapter_owned_replicas(sandbox, custom):
    custom.create_namespaced_custom_object(
        "nvidia.com", "v1beta1", "default", "dynamographdeployments", marked()
    )
    sandbox.advance(10)
    dgd = custom.get_namespaced_custom_object(
        "nvidia.com", "v1beta1", "default", "dynamographdeployments", "qwen"
    )
    dgd["spec"]["components"][1]["replicas"] = 4
    with pytest.raises(ApiException) as refused:
        custom.replace_namespaced_custom_object(
            "nvidia.com", "v1beta1", "default", "dynamographdeployments", "qwen", dgd
        )
    assert refused.value.status == 403
    assert json.loads(refused.value.body)["message"] == (
        'admission webhook "vdynamographdeployment.kb.io" denied the request: '
        "spec.components[1].replicas: Forbidden: cannot be modified directly when scaling "
        "adapter is enabled; scale or update the related DynamoGraphDeploymentScalingAdapter "
        "instead"
    )
    assert worker_replicas(sandbox) == 1


def test_kubectl_scale_dgdsa(sandbox, custom):
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl is not installed: this test drives the real kubectl")
    custom.create_namespaced_custom_object(
        "nvidia.com", "v1beta1", "default", "dynamographdeployments", marked()
    )
    sandbox.advance(10)
    answer = subprocess.run(
        [
            *("kubectl", "--kubeconfig", str(sandbox.kubeconfig_path), "-n", "default"),
            *("scale", "dgdsa", "qwen-vllmworker", "--replicas=2"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert answer.returncode == 0, answer.stderr
    assert "scaled" in answer.stdout
    assert worker_replicas(sandbox) == 2


def test_dynamote_scales_an_adapter_component_through_the_adapter(
    member_client, cluster_sandbox, custom
):
    cluster_sandbox.create_secret("default", "hf-token-secret", {"HF_TOKEN": "x"})
    custom.create_namespaced_custom_object(
        "nvidia.com", "v1beta1", "default", "dynamographdeployments", marked()
    )
    cluster_sandbox.advance(60)
    url = "/deployments/default/qwen/scale/"
    preview = member_client.post(url, {"replicas-VllmWorker": "2"})
    assert preview.context["preview"].adapters == {"VllmWorker": "qwen-vllmworker"}
    assert (
        "through the scaling adapter"
        in member_client.get("/deployments/default/qwen/").content.decode()
    )
    applied = member_client.post(url, {"replicas-VllmWorker": "2", "apply": "1"}, follow=True)
    assert applied.status_code == 200
    toast = " ".join(str(m) for m in applied.context["messages"])
    assert "through the DynamoGraphDeploymentScalingAdapter qwen-vllmworker" in toast
    assert worker_replicas(cluster_sandbox) == 2
    scale = custom.get_namespaced_custom_object_scale(
        "nvidia.com", "v1beta1", "default", DGDSA, "qwen-vllmworker"
    )
    assert scale["spec"]["replicas"] == 2
    # The operator's copy of the adapter's replicas is Dynamote's own change, not an outside one.
    page = member_client.get("/deployments/default/qwen/")
    assert page.context["changed_outside"] is None
    assert [r.action for r in page.context["history"]] == ["scale", "seen"]
    # yaml is the format people paste: the manifest stays loadable.
    assert yaml.safe_load(page.context["detail"].manifest_yaml)["metadata"]["name"] == "qwen"
