"""Layer 2: every combination validates against the real CRDs, strict on unknown fields."""

import pytest

from deployments.crd import compact_crd, schema_errors
from deployments.manifests import (
    build_manifest,
    default_image_tag,
    parse_config,
    render_yaml,
)
from sandbox.schema import served_versions, validate, version_schema

from .conftest import COMBINATIONS, QWEN3_0_6B, UPSTREAM_CRDS, full_settings, upstream_crd

SETTINGS = {
    "none": lambda engine, mode, api_version: {
        "engine": engine,
        "mode": mode,
        "apiVersion": api_version,
    },
    "all": full_settings,
}


def manifest_for(engine: str, mode: str, api_version: str, settings: str) -> dict:
    data = SETTINGS[settings](engine, mode, api_version)
    config = parse_config(data, model=QWEN3_0_6B)
    return build_manifest(config, QWEN3_0_6B, image_tag=default_image_tag(api_version))


def strict_errors(crd: dict, version: str, manifest: dict) -> list[str]:
    return [f"{e.field}: {e.message}" for e in validate(version_schema(crd, version), manifest)]


CASES = [
    pytest.param(
        release,
        engine,
        mode,
        version,
        settings,
        id=f"{release}-{engine}-{mode}-{version}-{settings}",
    )
    for release, version in UPSTREAM_CRDS
    for engine, mode, api_version in COMBINATIONS
    if api_version == version
    for settings in SETTINGS
]


@pytest.mark.parametrize(("release", "engine", "mode", "version", "settings"), CASES)
def test_manifest_validates_against_upstream_crd(release, engine, mode, version, settings):
    crd = upstream_crd(release)
    assert version in served_versions(crd)
    manifest = manifest_for(engine, mode, version, settings)
    assert strict_errors(crd, version, manifest) == []
    assert schema_errors(manifest, crd) == {}


@pytest.mark.parametrize(("engine", "mode", "api_version"), COMBINATIONS)
@pytest.mark.parametrize("settings", list(SETTINGS))
def test_manifest_validates_against_the_compact_crd(engine, mode, api_version, settings):
    manifest = manifest_for(engine, mode, api_version, settings)
    assert schema_errors(manifest, compact_crd()) == {}


def test_the_rendered_yaml_is_what_was_validated():
    import yaml

    manifest = manifest_for("sglang", "disaggregated", "v1beta1", "all")
    assert schema_errors(yaml.safe_load(render_yaml(manifest)), compact_crd()) == {}


def test_v1beta1_is_refused_by_a_dynamo_0_6_cluster():
    manifest = manifest_for("vllm", "aggregated", "v1beta1", "none")
    errors = schema_errors(manifest, upstream_crd("dynamo-0.6.1"))
    assert errors == {
        "apiVersion": ["The cluster does not serve DynamoGraphDeployment v1beta1; choose v1alpha1."]
    }


def test_schema_errors_point_at_the_config_field():
    manifest = manifest_for("vllm", "disaggregated", "v1beta1", "none")
    components = manifest["spec"]["components"]
    components[2]["replicas"] = -1
    components[1]["podTemplate"]["spec"]["containers"][0]["args"].append(7)
    components[1]["podTemplate"]["spec"]["containers"][0]["resources"]["limits"][
        "nvidia.com/gpu"
    ] = "two"
    components[0]["sharedMemorySize"] = "lots"
    manifest["spec"]["surprise"] = True
    errors = schema_errors(manifest, compact_crd())
    assert set(errors) == {
        "decodeReplicas",
        "engineArgs",
        "prefillTensorParallelSize",
        "sharedMemorySize",
        "__all__",
    }
    assert errors["decodeReplicas"][0].startswith("spec.components[2].replicas: ")
    assert errors["__all__"] == ['spec.surprise: unknown field "spec.surprise"']


def test_schema_errors_on_v1alpha1_services_point_at_the_config_field():
    manifest = manifest_for("sglang", "disaggregated", "v1alpha1", "none")
    services = manifest["spec"]["services"]
    services["SGLangPrefillWorker"]["replicas"] = "one"
    services["SGLangDecodeWorker"]["extraPodSpec"]["mainContainer"]["image"] = 5
    errors = schema_errors(manifest, upstream_crd("dynamo-0.6.1"))
    assert set(errors) == {"prefillReplicas", "image"}
