"""Every upstream example is accepted by the sandbox with the real CRD, and refused when broken."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.fixtures.sandbox import sandbox_api_client

from .manifests import GROUP, PLURAL

RELEASES = {"v1alpha1": "dynamo-0.6.1", "v1beta1": "dynamo-1.5.0"}


def _first_worker(example: dict) -> str:
    """The path of the first worker-ish component, as the apiserver names it."""
    spec = example["spec"]
    if "components" in spec:
        index = next(i for i, c in enumerate(spec["components"]) if c.get("type") != "frontend")
        return f"spec.components[{index}]"
    name = next(n for n, s in spec["services"].items() if s.get("componentType") != "frontend")
    return f"spec.services.{name}"


def _breakages(example: dict) -> list[tuple[str, dict, str]]:
    """(what, broken manifest, expected field path) for one field broken at a time."""
    base = _first_worker(example)
    broken = []
    for what, field, value in (
        ("wrong type", "replicas", "one"),
        ("unknown field", "replica", 1),
        ("bad enum", "type" if "components" in example["spec"] else None, "gpu-worker"),
    ):
        manifest = copy.deepcopy(example)
        if field is None:  # v1alpha1 has no enum on the service; break backendFramework instead
            manifest["spec"]["backendFramework"] = value
            broken.append((what, manifest, "spec.backendFramework"))
            continue
        target = _resolve(manifest, base)
        target[field] = value
        broken.append((what, manifest, f"{base}.{field}"))
    return broken


def _resolve(manifest: dict, path: str) -> dict:
    node: object = manifest
    for part in path.replace("[", ".[").split("."):
        node = node[int(part[1:-1])] if part.startswith("[") else node[part]
    return node


def _examples(shared: Path) -> list[tuple[str, Path]]:
    return [
        (version, path)
        for version in RELEASES
        for path in sorted((shared / "examples" / version).glob("*.yaml"))
    ]


@pytest.fixture
def real_crd_sandboxes(make_sandbox, shared_dynamo: Path):
    """One sandbox per Dynamo release, each with that release's real CRD installed."""
    return {
        version: make_sandbox(
            crds=[shared_dynamo / "crds" / release / "nvidia.com_dynamographdeployments.yaml"]
        )
        for version, release in RELEASES.items()
    }


def test_every_upstream_example_is_accepted_and_refused_when_broken(
    real_crd_sandboxes, shared_dynamo: Path
):
    examples = _examples(shared_dynamo)
    assert len(examples) >= 9
    for version, path in examples:
        sandbox = real_crd_sandboxes[version]
        api = client.CustomObjectsApi(sandbox_api_client(sandbox))
        example = yaml.safe_load(path.read_text())
        created = api.create_namespaced_custom_object(GROUP, version, "default", PLURAL, example)
        assert created["metadata"]["name"] == example["metadata"]["name"], path.name
        for what, manifest, field in _breakages(example):
            manifest["metadata"]["name"] += "-broken"
            with pytest.raises(ApiException) as raised:
                api.create_namespaced_custom_object(
                    GROUP, version, "default", PLURAL, manifest, field_validation="Strict"
                )
            status = json.loads(raised.value.body)
            if what == "unknown field":  # strict decoding comes before the schema: a 400
                assert raised.value.status == 400, (path.name, what)
                assert status["message"] == f'strict decoding error: unknown field "{field}"'
                continue
            assert raised.value.status == 422, (path.name, what)
            causes = [c["field"] for c in status["details"]["causes"]]
            assert causes == [field], (path.name, what, causes)


@pytest.mark.parametrize("version", ["v1alpha1", "v1beta1"])
def test_the_status_the_operator_writes_is_valid_for_the_real_crd(
    make_sandbox, shared_dynamo: Path, version
):
    from sandbox.schema import load_crd, validate, version_schema

    crd_path = shared_dynamo / "crds/dynamo-1.5.0/nvidia.com_dynamographdeployments.yaml"
    sandbox = make_sandbox(crds=[crd_path])
    api = client.CustomObjectsApi(sandbox_api_client(sandbox))
    example = sorted((shared_dynamo / "examples" / version).glob("*disagg*.yaml"))[0]
    body = yaml.safe_load(example.read_text())
    api.create_namespaced_custom_object(GROUP, version, "default", PLURAL, body)
    sandbox.advance(60)
    stored = api.get_namespaced_custom_object(
        GROUP, version, "default", PLURAL, body["metadata"]["name"]
    )
    assert stored["status"]["state"] == "successful"
    assert validate(version_schema(load_crd(crd_path), version), stored) == []


def test_every_upstream_example_runs_to_ready_under_its_release(make_sandbox, shared_dynamo):
    """Each example, on a sandbox of its release with its real CRD, gets every pod Ready.

    The examples name placeholder or internal images; like a user, the test points them at
    the release's published runtime image, so the flags are checked against that release.
    """
    profiles = {"v1alpha1": "dynamo-0.6", "v1beta1": "dynamo-1.5"}
    tags = {"v1alpha1": "0.6.1", "v1beta1": "1.4.0"}
    for version, release in RELEASES.items():
        crd = shared_dynamo / "crds" / release / "nvidia.com_dynamographdeployments.yaml"
        sandbox = make_sandbox(profile=profiles[version], crds=[crd])
        api = sandbox_api_client(sandbox)
        dgds, core = client.CustomObjectsApi(api), client.CoreV1Api(api)
        names = []
        for path in sorted((shared_dynamo / "examples" / version).glob("*.yaml")):
            example = yaml.safe_load(path.read_text())
            _use_runtime_image(example, tags[version])
            dgds.create_namespaced_custom_object(GROUP, version, "default", PLURAL, example)
            names.append((path.name, example["metadata"]["name"]))
        sandbox.advance(300)
        for filename, name in names:
            pods = core.list_namespaced_pod(
                "default", label_selector=f"nvidia.com/dynamo-graph-deployment-name={name}"
            ).items
            assert pods, (version, filename)
            not_ready = [
                p.metadata.name
                for p in pods
                if not any(
                    c.type == "Ready" and c.status == "True" for c in p.status.conditions or []
                )
            ]
            assert not_ready == [], (version, filename)


def _use_runtime_image(example: dict, tag: str) -> None:
    engine = next(e for e in ("vllm", "sglang", "trtllm") if f"dynamo.{e}" in json.dumps(example))
    repository = {"vllm": "vllm", "sglang": "sglang", "trtllm": "tensorrtllm"}[engine]
    image = f"nvcr.io/nvidia/ai-dynamo/{repository}-runtime:{tag}"
    spec = example["spec"]
    for item in spec.get("components") or []:
        for container in item["podTemplate"]["spec"]["containers"]:
            container["image"] = image
    for service in (spec.get("services") or {}).values():
        service.setdefault("extraPodSpec", {}).setdefault("mainContainer", {})["image"] = image
