"""Structural openAPIV3Schema validation, as the kube-apiserver applies it to custom resources.

Field paths follow the apiserver's CRD validation errors (kube-openapi's validators wrapped by
apiextensions' ``ValidateCustomResource``): object properties are joined with dots, list items
get ``[index]``, and map entries under ``additionalProperties`` are joined with a dot too, so an
entry of ``spec.services`` reads ``spec.services.VllmWorker.replicas`` (kube-openapi builds it as
``o.Path + "." + key``), while a list item reads ``spec.components[1].type``.

``reason`` is a Kubernetes ``CauseType`` string: ``FieldValueRequired``, ``FieldValueInvalid``,
``FieldValueNotSupported`` (enums), ``FieldValueTypeInvalid``, ``FieldValueTooLong``,
``FieldValueTooMany`` and ``FieldValueDuplicate``. Unknown fields have no cause type in the
apiserver (with ``fieldValidation=Strict`` it answers 400 "strict decoding error: unknown field
\"spec.foo\""); the sandbox reports them alongside the schema errors as ``FieldValueUnknown``
with the apiserver's wording; the API layer then applies the request's ``fieldValidation``
(Strict: 400; Warn, the default: pruned with a Warning header; Ignore: pruned silently).

The root ``metadata`` is not checked here: the server validates it (name as a DNS-1123
subdomain) as a real apiserver does. CEL rules (``x-kubernetes-validations``) are not evaluated.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
TYPE_INVALID = "FieldValueTypeInvalid"
TOO_LONG = "FieldValueTooLong"
TOO_MANY = "FieldValueTooMany"
DUPLICATE = "FieldValueDuplicate"
UNKNOWN = "FieldValueUnknown"

# Fields every embedded resource may carry even when its schema does not list them.
_EMBEDDED_FIELDS = frozenset({"apiVersion", "kind", "metadata"})


@dataclass(frozen=True)
class FieldError:
    """One validation failure at a Kubernetes field path."""

    field: str
    message: str
    reason: str


def load_crd(path: str | Path) -> dict:
    """Read a CustomResourceDefinition from a YAML file (the first CRD document in it)."""
    with open(path, encoding="utf-8") as handle:
        # The real CRDs are 20k-line files: the C loader reads them ten times faster.
        for doc in yaml.load_all(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                return doc
    raise ValueError(f"{path}: no CustomResourceDefinition document")


def served_versions(crd: dict) -> list[str]:
    """Names of the versions the CRD serves, in the CRD's order."""
    return [v["name"] for v in crd["spec"]["versions"] if v.get("served", True)]


def version_schema(crd: dict, version: str) -> dict:
    """The openAPIV3Schema of one version of the CRD."""
    for v in crd["spec"]["versions"]:
        if v["name"] == version:
            return v.get("schema", {}).get("openAPIV3Schema", {})
    raise KeyError(f"{crd['metadata']['name']} has no version {version}")


def prune(schema: dict, value: Any) -> Any:
    """value without the fields its structural schema does not declare, as the API server
    stores it (unless the schema says x-kubernetes-preserve-unknown-fields)."""
    if isinstance(value, dict) and schema.get("type") == "object":
        if schema.get("x-kubernetes-preserve-unknown-fields"):
            return value
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        if properties is None and isinstance(extra, dict):
            return {key: prune(extra, item) for key, item in value.items()}
        if properties is None:
            return value if extra is True else {}
        return {
            key: prune(properties[key], item) for key, item in value.items() if key in properties
        }
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [prune(schema["items"], item) for item in value]
    return value


def prune_object(root: dict, obj: dict) -> dict:
    """A custom resource without the fields its version's schema does not declare; the root
    apiVersion, kind and metadata are the server's, never pruned here."""
    properties = root.get("properties", {})
    kept = {}
    for key, value in obj.items():
        if key in ("apiVersion", "kind", "metadata"):
            kept[key] = value
        elif key in properties:
            kept[key] = prune(properties[key], value)
    return kept


def status_schemas(crd: dict) -> dict[str, dict]:
    """Each version's status schema, by version name."""
    return {
        version["name"]: version.get("schema", {})
        .get("openAPIV3Schema", {})
        .get("properties", {})
        .get("status", {})
        for version in crd["spec"]["versions"]
    }


def validate(schema: dict, value: object, path: str = "") -> list[FieldError]:
    """Every structural-schema violation of value, the root metadata excepted."""
    errors: list[FieldError] = []
    _validate(schema, value, path, errors, root=(path == ""))
    return errors


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _show(value: Any) -> str:
    """Render a value like Go's %q/%v in apiserver messages."""
    if isinstance(value, dict):
        return '"object"'
    if isinstance(value, list):
        return '"array"'
    return json.dumps(value)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _has_type(value: Any, expected: str) -> bool:
    actual = _type_name(value)
    if expected == "number":
        return actual in ("integer", "number")
    if expected == "integer" and actual == "number":
        return float(value).is_integer()
    return actual == expected


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _validate(schema: dict, value: Any, path: str, errors: list[FieldError], root: bool) -> None:
    label = path or "<root>"
    if value is None:
        if schema.get("nullable") or not schema:
            return
        if schema.get("type") or schema.get("x-kubernetes-int-or-string"):
            expected = schema.get("type", "integer-or-string")
            errors.append(
                FieldError(
                    path,
                    f'Invalid value: "null": {label} in body must be of type {expected}: "null"',
                    TYPE_INVALID,
                )
            )
        return

    if schema.get("x-kubernetes-int-or-string"):
        if not isinstance(value, int | str) or isinstance(value, bool):
            errors.append(
                FieldError(
                    path,
                    f"Invalid value: {_show(value)}: {label} in body must be of type "
                    f'integer-or-string: "{_type_name(value)}"',
                    TYPE_INVALID,
                )
            )
            return
    elif "type" in schema and not _has_type(value, schema["type"]):
        errors.append(
            FieldError(
                path,
                f"Invalid value: {_show(value)}: {label} in body must be of type "
                f'{schema["type"]}: "{_type_name(value)}"',
                TYPE_INVALID,
            )
        )
        return

    _check_value(schema, value, path, label, errors)

    for sub in schema.get("allOf", ()):
        _check_value(sub, value, path, label, errors)
    # Structural schemas only allow value validations under anyOf/oneOf (int-or-string is the
    # common case, where the type was already checked above).
    if (
        "anyOf" in schema
        and not schema.get("x-kubernetes-int-or-string")
        and not any(_branch_ok(sub, value, path) for sub in schema["anyOf"])
    ):
        errors.append(
            FieldError(
                path,
                f"Invalid value: {_show(value)}: {label} must validate at least one schema (anyOf)",
                INVALID,
            )
        )
    if "oneOf" in schema:
        matches = sum(_branch_ok(sub, value, path) for sub in schema["oneOf"])
        if matches != 1:
            errors.append(
                FieldError(
                    path,
                    f"Invalid value: {_show(value)}: {label} must validate "
                    "one and only one schema (oneOf)",
                    INVALID,
                )
            )

    if isinstance(value, dict):
        _validate_object(schema, value, path, errors, root)
    elif isinstance(value, list):
        _validate_array(schema, value, path, errors)


def _branch_ok(schema: dict, value: Any, path: str) -> bool:
    found: list[FieldError] = []
    if "type" in schema and not _has_type(value, schema["type"]):
        return False
    _check_value(schema, value, path, path, found)
    return not found


def _check_value(schema: dict, value: Any, path: str, label: str, errors: list[FieldError]) -> None:
    """Checks that look at the value itself: enum, bounds, lengths, pattern."""
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(json.dumps(v) for v in schema["enum"])
        errors.append(
            FieldError(
                path,
                f"Unsupported value: {_show(value)}: supported values: {allowed}",
                NOT_SUPPORTED,
            )
        )
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(
                FieldError(
                    path,
                    f"Invalid value: {_show(value)}: {label} in body should be greater than "
                    f"or equal to {schema['minimum']}",
                    INVALID,
                )
            )
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(
                FieldError(
                    path,
                    f"Invalid value: {_show(value)}: {label} in body should be less than "
                    f"or equal to {schema['maximum']}",
                    INVALID,
                )
            )
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append(
                FieldError(
                    path,
                    f"Invalid value: {_show(value)}: {label} in body should be at least "
                    f"{schema['minLength']} chars long",
                    INVALID,
                )
            )
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(
                FieldError(
                    path, f"Too long: may not be more than {schema['maxLength']} bytes", TOO_LONG
                )
            )
        if "pattern" in schema and not _regex(schema["pattern"]).search(value):
            errors.append(
                FieldError(
                    path,
                    f"Invalid value: {_show(value)}: {label} in body should match "
                    f"'{schema['pattern']}'",
                    INVALID,
                )
            )


def _validate_object(
    schema: dict, value: dict, path: str, errors: list[FieldError], root: bool
) -> None:
    properties = schema.get("properties") or {}
    for name in schema.get("required") or ():
        if name not in value:
            errors.append(FieldError(_child(path, name), "Required value", REQUIRED))

    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        errors.append(
            FieldError(
                path,
                f"Too many: {len(value)}: must have at most {schema['maxProperties']} items",
                TOO_MANY,
            )
        )
    if "minProperties" in schema and len(value) < schema["minProperties"]:
        errors.append(
            FieldError(
                path,
                f"Invalid value: {len(value)}: {path or '<root>'} in body should have at least "
                f"{schema['minProperties']} properties",
                INVALID,
            )
        )
    additional = schema.get("additionalProperties")
    preserve = schema.get("x-kubernetes-preserve-unknown-fields", False)
    embedded = schema.get("x-kubernetes-embedded-resource", False)
    for key, item in value.items():
        child = _child(path, key)
        if root and key == "metadata":
            continue
        if key in properties:
            _validate(properties[key], item, child, errors, root=False)
        elif isinstance(additional, dict):
            _validate(additional, item, child, errors, root=False)
        elif additional is True or preserve or ((root or embedded) and key in _EMBEDDED_FIELDS):
            continue
        else:
            errors.append(FieldError(child, f'unknown field "{child}"', UNKNOWN))


def _validate_array(schema: dict, value: list, path: str, errors: list[FieldError]) -> None:
    label = path or "<root>"
    if "minItems" in schema and len(value) < schema["minItems"]:
        errors.append(
            FieldError(
                path,
                f"Invalid value: {len(value)}: {label} in body should have at least "
                f"{schema['minItems']} items",
                INVALID,
            )
        )
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        errors.append(
            FieldError(
                path,
                f"Too many: {len(value)}: must have at most {schema['maxItems']} items",
                TOO_MANY,
            )
        )
    items = schema.get("items")
    if isinstance(items, dict):
        for index, item in enumerate(value):
            _validate(items, item, f"{path}[{index}]", errors, root=False)
    _check_list_type(schema, value, path, errors)


def _check_list_type(schema: dict, value: list, path: str, errors: list[FieldError]) -> None:
    """Duplicate keys in list-type map and set lists, which the apiserver refuses."""
    list_type = schema.get("x-kubernetes-list-type")
    if list_type == "map":
        keys = schema.get("x-kubernetes-list-map-keys") or []
        seen: set[str] = set()
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                continue
            key = json.dumps({k: item.get(k) for k in keys}, sort_keys=True)
            if key in seen:
                errors.append(FieldError(f"{path}[{index}]", f"Duplicate value: {key}", DUPLICATE))
            seen.add(key)
    elif list_type == "set":
        seen_values: list[Any] = []
        for index, item in enumerate(value):
            if item in seen_values:
                errors.append(
                    FieldError(f"{path}[{index}]", f"Duplicate value: {_show(item)}", DUPLICATE)
                )
            seen_values.append(item)
