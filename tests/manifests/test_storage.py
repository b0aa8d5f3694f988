"""The model cache, ephemeral storage for the weights and the GPU type, in both API versions."""

import pytest

from deployments.manifests import ConfigError, build_manifest, parse_config
from deployments.volumes import (
    Claim,
    ClaimListing,
    GpuProducts,
    cache_check,
    cluster_errors,
    weights_storage,
)
from sandbox import compact_crd
from sandbox.schema import validate, version_schema

from .conftest import LLAMA_70B, QWEN3_0_6B, UPSTREAM_CRDS, upstream_crd
from .views import components

H100 = "NVIDIA-H100-80GB-HBM3"


def build(data: dict, model=QWEN3_0_6B) -> dict:
    config = parse_config(data, model=model, api_version=data.get("apiVersion"))
    return build_manifest(config, model, image_tag="1.4.0")


@pytest.mark.parametrize("api_version", ["v1alpha1", "v1beta1"])
@pytest.mark.parametrize("mode", ["aggregated", "disaggregated"])
def test_the_cache_is_mounted_on_every_component_with_hf_home(api_version, mode):
    manifest = build({"apiVersion": api_version, "mode": mode, "modelCache": "model-cache"})
    parts = components(manifest)
    assert set(parts) == (
        {"frontend", "prefill", "decode"} if mode == "disaggregated" else {"frontend", "worker"}
    )
    for part in parts.values():
        assert part.mounts == {"model-cache": "/opt/models"}
        assert part.env["HF_HOME"] == "/opt/models"
        # The weights live on the claim: no pod asks for disk to download them.
        assert "ephemeral-storage" not in part.requests
    if api_version == "v1alpha1":
        assert manifest["spec"]["pvcs"] == [{"name": "model-cache", "create": False}]


@pytest.mark.parametrize("api_version", ["v1alpha1", "v1beta1"])
def test_without_a_cache_workers_request_disk_for_the_weights(api_version):
    parts = components(build({"apiVersion": api_version}, model=LLAMA_70B))
    # 70.6 B parameters x 2 bytes (BF16) x 1.2 = 169.4 GB = 157.8 GiB, rounded up.
    assert parts["worker"].requests["ephemeral-storage"] == "158Gi"
    assert "ephemeral-storage" not in parts["frontend"].requests
    assert parts["worker"].mounts == {}
    assert "HF_HOME" not in parts["worker"].env


def test_the_ephemeral_storage_rule():
    assert weights_storage(parameters_billions=0.6, weight_format="bf16") == "2Gi"
    assert weights_storage(parameters_billions=70.6, weight_format="bf16") == "158Gi"
    assert weights_storage(parameters_billions=70.6, weight_format="fp8") == "79Gi"
    assert weights_storage(parameters_billions=0.001, weight_format="int4") == "1Gi"


@pytest.mark.parametrize("api_version", ["v1alpha1", "v1beta1"])
def test_a_gpu_type_pins_the_workers_only(api_version):
    parts = components(
        build({"apiVersion": api_version, "mode": "disaggregated", "gpuProduct": H100})
    )
    assert parts["frontend"].node_selector == {}
    for role in ("prefill", "decode"):
        assert parts[role].node_selector == {"nvidia.com/gpu.product": H100}


@pytest.mark.parametrize(("release", "api_version"), UPSTREAM_CRDS)
@pytest.mark.parametrize("mode", ["aggregated", "disaggregated"])
def test_the_real_and_compact_crds_accept_cache_and_gpu_type(release, api_version, mode):
    for extra in ({"modelCache": "model-cache", "gpuProduct": H100}, {}):
        manifest = build({"apiVersion": api_version, "mode": mode, **extra})
        real = version_schema(upstream_crd(release), api_version)
        assert validate(real, manifest) == []
        assert validate(version_schema(compact_crd(), api_version), manifest) == []


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"modelCache": "Model_Cache"}, "modelCache", "PersistentVolumeClaim"),
        ({"gpuProduct": "NVIDIA H100"}, "gpuProduct", "NVIDIA-H100-80GB-HBM3"),
        ({"modelCache": "c", "env": {"HF_HOME": "/x"}}, "env", "HF_HOME"),
    ],
)
def test_bad_cache_or_gpu_type_gets_a_field_message(data, field, words):
    with pytest.raises(ConfigError) as caught:
        parse_config(data, model=QWEN3_0_6B)
    assert words in " ".join(caught.value.errors[field])


def _config(**data):
    return parse_config(data, model=QWEN3_0_6B)


def test_the_cluster_confirms_a_claim_or_gpu_type_is_missing():
    claims = ClaimListing("default", {"model-cache": Claim("model-cache", ("ReadWriteMany",))})
    products = GpuProducts({H100: (16, 2), "NVIDIA-L40S": (4, 1)})
    errors = cluster_errors(
        _config(modelCache="weights", gpuProduct="NVIDIA-A100-SXM4-80GB"),
        claims=claims,
        products=products,
    )
    assert "No PersistentVolumeClaim weights in namespace default" in errors["modelCache"][0]
    assert "model-cache" in errors["modelCache"][0]
    assert "NVIDIA-A100-SXM4-80GB" in errors["gpuProduct"][0]
    assert H100 in errors["gpuProduct"][0]
    # When the cluster could not be asked, nothing is claimed missing.
    unknown = cluster_errors(
        _config(modelCache="weights", gpuProduct="x"),
        claims=ClaimListing("default", None, "forbidden"),
        products=GpuProducts(None, "forbidden"),
    )
    assert unknown == {}


def test_a_claim_that_is_not_read_write_many_gets_a_warning_with_the_fix():
    claims = ClaimListing("default", {"rwo": Claim("rwo", ("ReadWriteOnce",))})
    check = cache_check(_config(modelCache="rwo"), claims=claims, storage="2Gi", command="kubectl")
    assert check.status == "warning"
    assert "ReadWriteOnce" in check.message and "2 pods" in check.message
    assert check.command == "kubectl"
    shared = ClaimListing("default", {"rwx": Claim("rwx", ("ReadWriteMany",))})
    check = cache_check(_config(modelCache="rwx"), claims=shared, storage="2Gi", command="")
    assert check.status == "found"
