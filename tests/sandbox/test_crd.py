"""The compact CRD: what it serves, and that it is a subset of the real Dynamo 1.5.0 CRD."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sandbox import compact_crd
from sandbox.schema import load_crd, served_versions, validate, version_schema


def test_the_compact_crd_names_and_versions():
    crd = compact_crd()
    assert crd["metadata"]["name"] == "dynamographdeployments.nvidia.com"
    assert crd["spec"]["names"]["shortNames"] == ["dgd"]
    assert crd["spec"]["scope"] == "Namespaced"
    assert served_versions(crd) == ["v1alpha1", "v1beta1"]
    storage = [v["name"] for v in crd["spec"]["versions"] if v["storage"]]
    assert storage == ["v1beta1"]
    for version in crd["spec"]["versions"]:
        assert version["subresources"] == {"status": {}}
        columns = [c["name"] for c in version["additionalPrinterColumns"]]
        assert columns == ["Ready", "Backend", "Age"]


def test_the_dynamo_06_profile_serves_only_v1alpha1_as_storage():
    crd = compact_crd("dynamo-0.6")
    assert served_versions(crd) == ["v1alpha1"]
    assert crd["spec"]["versions"][0]["storage"] is True


def _subset_problems(mine: dict, real: dict, path: str) -> list[str]:
    """Where `mine` would accept something `real` refuses."""
    problems = []
    if mine.get("type") != real.get("type"):
        problems.append(f"{path}: type {mine.get('type')} != {real.get('type')}")
    if mine.get("x-kubernetes-int-or-string") != real.get("x-kubernetes-int-or-string"):
        problems.append(f"{path}: int-or-string differs")
    if "enum" in real and not set(mine.get("enum", ["<any>"])) <= set(real["enum"]):
        problems.append(f"{path}: enum is wider")
    for key in ("pattern", "minimum", "minLength", "minItems"):
        if key in real and mine.get(key) != real[key]:
            problems.append(f"{path}: {key} {mine.get(key)} != {real[key]}")
    for key in ("maximum", "maxLength", "maxItems", "maxProperties"):
        if key in real and (key not in mine or mine[key] > real[key]):
            problems.append(f"{path}: {key} {mine.get(key)} looser than {real[key]}")
    missing = set(real.get("required", [])) - set(mine.get("required", []))
    if missing:
        problems.append(f"{path}: does not require {sorted(missing)}")
    for name, sub in (mine.get("properties") or {}).items():
        real_props = real.get("properties") or {}
        if name in real_props:
            problems += _subset_problems(sub, real_props[name], f"{path}.{name}")
        elif isinstance(real.get("additionalProperties"), dict):
            problems += _subset_problems(sub, real["additionalProperties"], f"{path}.{name}")
        elif not real.get("x-kubernetes-preserve-unknown-fields") and not (
            path == "" or real.get("additionalProperties") is True
        ):
            problems.append(f"{path}.{name}: unknown to the real CRD")
    if isinstance(mine.get("additionalProperties"), dict):
        if not isinstance(real.get("additionalProperties"), dict):
            problems.append(f"{path}: accepts a map the real CRD does not")
        else:
            problems += _subset_problems(
                mine["additionalProperties"], real["additionalProperties"], f"{path}.*"
            )
    if isinstance(mine.get("items"), dict):
        problems += _subset_problems(mine["items"], real.get("items") or {}, f"{path}[]")
    return problems


@pytest.mark.parametrize("version", ["v1alpha1", "v1beta1"])
def test_the_compact_schema_accepts_nothing_the_real_one_refuses(shared_dynamo: Path, version):
    real = load_crd(shared_dynamo / "crds/dynamo-1.5.0/nvidia.com_dynamographdeployments.yaml")
    mine = version_schema(compact_crd(), version)
    assert _subset_problems(mine, version_schema(real, version), "") == []


@pytest.mark.parametrize("version", ["v1alpha1", "v1beta1"])
def test_the_compact_schema_accepts_every_upstream_example(shared_dynamo: Path, version):
    schema = version_schema(compact_crd(), version)
    for path in sorted((shared_dynamo / "examples" / version).glob("*.yaml")):
        assert validate(schema, yaml.safe_load(path.read_text())) == [], path.name
