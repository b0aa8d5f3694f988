"""The CRD pre-check: a built manifest against the openAPIV3Schema the cluster serves (pure).

The schema is checked with `jsonschema`, strict on unknown fields as the API server is with
`fieldValidation=Strict`: an object refuses fields its schema does not list unless it says
`x-kubernetes-preserve-unknown-fields` (or lists `additionalProperties`). Each problem is
reported at its Kubernetes field path (`spec.components[2].replicas`) and filed under the
config field a person can change.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from deployments.manifests import config_field_for_path

# The compact CRD the project ships (the same file the sandbox cluster installs): the schema
# to build for when the cluster cannot be asked.
COMPACT_CRD = (
    Path(__file__).resolve().parent.parent / "sandbox" / "crds" / "dynamographdeployments.yaml"
)

# Fields every embedded resource (and the root) may carry even when its schema omits them.
_EMBEDDED_FIELDS = ("apiVersion", "kind", "metadata")


def load_crd(path: str | Path) -> dict:
    """The first CustomResourceDefinition document of a YAML file."""
    with open(path, encoding="utf-8") as handle:
        # The real CRDs are 20k-line files: the C loader reads them ten times faster.
        for doc in yaml.load_all(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                return doc
    raise ValueError(f"{path}: no CustomResourceDefinition document")


@lru_cache(maxsize=1)
def compact_crd() -> dict:
    """The project's compact DynamoGraphDeployment CRD."""
    return load_crd(COMPACT_CRD)


def served_versions(crd: dict) -> list[str]:
    """Names of the versions the CRD serves, in the CRD's order."""
    return [v["name"] for v in crd["spec"]["versions"] if v.get("served", True)]


def version_schema(crd: dict, version: str) -> dict:
    """The openAPIV3Schema of one version of the CRD."""
    for v in crd["spec"]["versions"]:
        if v["name"] == version:
            return v.get("schema", {}).get("openAPIV3Schema", {})
    raise KeyError(f"{crd['metadata']['name']} has no version {version}")


def schema_errors(manifest: dict, crd: dict) -> dict[str, list[str]]:
    """Where the manifest breaks the CRD's schema for its apiVersion, keyed by config field."""
    version = str(manifest.get("apiVersion", "")).rpartition("/")[2]
    served = served_versions(crd)
    if version not in served:
        return {
            "apiVersion": [
                f"The cluster does not serve DynamoGraphDeployment {version or '(none)'}; "
                f"choose {' or '.join(served) or 'another cluster'}."
            ]
        }
    errors: dict[str, list[str]] = {}
    for path, message in field_errors(version_schema(crd, version), manifest):
        field = config_field_for_path(path, manifest)
        errors.setdefault(field, []).append(f"{path}: {message}")
    return errors


def field_errors(schema: dict, manifest: dict) -> list[tuple[str, str]]:
    """Every (field path, message) where the manifest breaks the schema; root metadata aside."""
    # The API server validates the root metadata itself (the name as a DNS subdomain).
    body = {key: value for key, value in manifest.items() if key != "metadata"}
    found = []
    for error in _validator(schema).iter_errors(body):
        found.extend(_describe(error))
    return sorted(set(found), key=lambda item: (item[0], item[1]))


# --- openAPIV3Schema -> JSON Schema ----------------------------------------------------------

_lock = threading.Lock()
_validators: dict[int, tuple[dict, Any]] = {}


def _validator(schema: dict) -> Any:
    """A compiled validator per schema object (the CRDs are large; keystrokes must stay fast)."""
    with _lock:
        hit = _validators.get(id(schema))
        if hit is not None and hit[0] is schema:
            return hit[1]
    validator = _Validator(_strict(schema, root=True))
    with _lock:
        if len(_validators) > 16:
            _validators.clear()
        _validators[id(schema)] = (schema, validator)
    return validator


def _strict(schema: Any, *, root: bool = False) -> Any:
    """The schema with unknown fields refused, `nullable` honoured and int-or-string typed."""
    if not isinstance(schema, dict):
        return schema
    result: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("properties", "patternProperties", "definitions"):
            result[key] = {name: _strict(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            result[key] = _strict(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            result[key] = [_strict(sub) for sub in value]
        else:
            result[key] = value
    if schema.get("x-kubernetes-int-or-string"):
        result.pop("type", None)
        result["type"] = ["integer", "string"]
    if schema.get("nullable") and isinstance(result.get("type"), str):
        result["type"] = [result["type"], "null"]
    is_object = schema.get("type") == "object" or "properties" in schema
    if (
        is_object
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        result["x-dynamote-known"] = sorted(schema.get("properties") or {}) + (
            list(_EMBEDDED_FIELDS) if root or schema.get("x-kubernetes-embedded-resource") else []
        )
    return result


def _known_fields(validator, known, instance, schema) -> Iterator[jsonschema.ValidationError]:
    if not isinstance(instance, dict):
        return
    if any(key not in known for key in instance):
        yield jsonschema.ValidationError("unknown field")


def _unique_keys(validator, list_type, instance, schema) -> Iterator[jsonschema.ValidationError]:
    """Duplicate keys in list-type map and set lists, which the API server refuses."""
    if not isinstance(instance, list) or list_type not in ("map", "set"):
        return
    seen: set[str] = set()
    for index, item in enumerate(instance):
        if list_type == "map":
            if not isinstance(item, dict):
                continue
            keys = schema.get("x-kubernetes-list-map-keys") or []
            key = json.dumps({k: item.get(k) for k in keys}, sort_keys=True)
        else:
            key = json.dumps(item, sort_keys=True)
        if key in seen:
            error = jsonschema.ValidationError(f"Duplicate value: {key}")
            error.path.append(index)
            yield error
        seen.add(key)


_Validator = jsonschema.validators.extend(
    jsonschema.Draft7Validator,
    {"x-dynamote-known": _known_fields, "x-kubernetes-list-type": _unique_keys},
)


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _describe(error: jsonschema.ValidationError) -> list[tuple[str, str]]:
    """Kubernetes-style (path, message) pairs for one jsonschema error."""
    path = _path(error.absolute_path)
    if error.validator == "x-dynamote-known":
        known = error.validator_value
        return [
            (child, f'unknown field "{child}"')
            for key in error.instance
            if key not in known
            for child in [f"{path}.{key}" if path else str(key)]
        ]
    if error.validator == "required":
        missing = [name for name in error.validator_value if name not in error.instance]
        return [(f"{path}.{name}" if path else name, "Required value") for name in missing]
    if error.validator == "enum":
        allowed = ", ".join(json.dumps(v) for v in error.validator_value)
        return [(path, f"Unsupported value: {json.dumps(error.instance)}: supported: {allowed}")]
    return [(path, error.message)]
