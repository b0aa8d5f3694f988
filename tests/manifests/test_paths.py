"""Mapping a manifest field path (schema check or a 422 from the cluster) onto a form field."""

import pytest

from deployments.manifests import build_manifest, config_field_for_path, parse_config

from . import conftest
from .conftest import QWEN3_0_6B


def manifest(api_version: str, mode: str = "disaggregated") -> dict:
    config = parse_config(
        {"mode": mode, "apiVersion": api_version, "env": {"DYN_LOG": "debug"}}, model=QWEN3_0_6B
    )
    return build_manifest(config, QWEN3_0_6B, image_tag="1.5.0")


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("metadata.name", "name"),
        ("metadata.namespace", "namespace"),
        ("metadata.labels", "__all__"),
        ("apiVersion", "apiVersion"),
        ("spec.backendFramework", "engine"),
        ("spec.components[0].replicas", "__all__"),  # the frontend's replicas are Dynamote's
        ("spec.components[1].replicas", "prefillReplicas"),
        ("spec.components[2].replicas", "decodeReplicas"),
        ("spec.components[1].type", "mode"),
        ("spec.components[2].sharedMemorySize", "sharedMemorySize"),
        ("spec.components[1].podTemplate.spec.containers[0].args[9]", "engineArgs"),
        ("spec.components[1].podTemplate.spec.containers[0].image", "image"),
        ("spec.components[1].podTemplate.spec.containers[0].envFrom[0]", "hfTokenSecret"),
        ("spec.components[0].podTemplate.spec.containers[0].env[0].value", "routerMode"),
        ("spec.components[0].podTemplate.spec.containers[0].env[1].value", "env"),
        (
            "spec.components[2].podTemplate.spec.containers[0].resources.limits.nvidia.com/gpu",
            "decodeTensorParallelSize",
        ),
        ("spec.components[1].podTemplate.spec.containers[0].resources.requests.cpu", "cpu"),
        ("spec.components[1].podTemplate.spec.containers[0].resources.requests.memory", "memory"),
        ("spec.components[1].podTemplate.spec.nodeSelector", "gpuProduct"),
        ("spec.components[1].podTemplate.spec.volumes[0].persistentVolumeClaim", "modelCache"),
        ("spec.components[0].podTemplate.spec.containers[0].volumeMounts[0]", "modelCache"),
        ("spec.pvcs[0].name", "modelCache"),
        ("spec.surprise", "__all__"),
        ("", "__all__"),
    ],
)
def test_v1beta1_paths(path, field):
    assert config_field_for_path(path, manifest("v1beta1")) == field


@pytest.mark.parametrize(
    ("path", "field"),
    [
        # sandbox.schema and kube-openapi join map keys with dots; other tools use [key].
        ("spec.services.VllmPrefillWorker.replicas", "prefillReplicas"),
        ("spec.services[VllmDecodeWorker].replicas", "decodeReplicas"),
        ("spec.services.VllmDecodeWorker.resources.limits.gpu", "decodeTensorParallelSize"),
        ("spec.services.VllmDecodeWorker.extraPodSpec.mainContainer.args[2]", "engineArgs"),
        ("spec.services.VllmDecodeWorker.extraPodSpec.mainContainer.image", "image"),
        ("spec.services.VllmDecodeWorker.envFromSecret", "hfTokenSecret"),
        ("spec.services.Frontend.envs[0].value", "routerMode"),
        ("spec.services.Frontend.envs[1].name", "env"),
        ("spec.services.VllmDecodeWorker.dynamoNamespace", "name"),
        ("spec.services.VllmDecodeWorker.sharedMemory.size", "sharedMemorySize"),
        ("spec.services.VllmDecodeWorker.subComponentType", "mode"),
        ("spec.envs[0]", "env"),
    ],
)
def test_v1alpha1_paths(path, field):
    assert config_field_for_path(path, manifest("v1alpha1")) == field


def test_paths_without_the_manifest_use_the_component_name():
    assert config_field_for_path("spec.services.VllmPrefillWorker.replicas") == "prefillReplicas"
    assert config_field_for_path("spec.services.SGLangWorker.replicas") == "replicas"
    assert config_field_for_path("spec.components[3].replicas") == "replicas"
    assert config_field_for_path("spec.components[1].podTemplate.spec.containers[0].args") == (
        "engineArgs"
    )


def test_missing_reference_data_fails_under_ci(monkeypatch, tmp_path):
    monkeypatch.setattr(conftest, "SHARED", tmp_path / "absent")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="reference data is missing"):
        conftest.require_shared()
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        conftest.require_shared()
