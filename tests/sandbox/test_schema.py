"""The structural schema validator, checked rule by rule."""

from __future__ import annotations

import pytest

from sandbox.schema import FieldError, validate

QUANTITY = {
    "anyOf": [{"type": "integer"}, {"type": "string"}],
    "pattern": r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE])?$",
    "x-kubernetes-int-or-string": True,
}
SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 5, "pattern": "^[a-z]+$"},
                "mode": {"type": "string", "enum": ["a", "b"]},
                "count": {"type": "integer", "minimum": 0, "maximum": 3},
                "ratio": {"type": "number"},
                "on": {"type": "boolean"},
                "maybe": {"type": "string", "nullable": True},
                "size": QUANTITY,
                "tags": {
                    "type": "array",
                    "maxItems": 2,
                    "minItems": 1,
                    "items": {"type": "string"},
                },
                "items": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": {"type": "object", "properties": {"name": {"type": "string"}}},
                },
                "byName": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "properties": {"replicas": {"type": "integer"}},
                    },
                },
                "anything": {"type": "object", "additionalProperties": True},
                "closed": {"type": "object", "additionalProperties": False},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "embedded": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "properties": {"spec": {"type": "object"}},
                },
            },
        }
    },
}


def errors(spec: dict) -> list[tuple[str, str]]:
    body = {"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "Any_Thing"}, "spec": spec}
    return [(e.field, e.reason) for e in validate(SCHEMA, body)]


def test_a_valid_object_has_no_errors_and_root_metadata_is_left_to_the_server():
    assert errors({"name": "ok", "mode": "a", "count": 3, "ratio": 1, "on": True}) == []


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({}, [("spec.name", "FieldValueRequired")]),
        ({"name": 3}, [("spec.name", "FieldValueTypeInvalid")]),
        ({"name": "ok", "mode": "c"}, [("spec.mode", "FieldValueNotSupported")]),
        ({"name": "ok", "count": "1"}, [("spec.count", "FieldValueTypeInvalid")]),
        ({"name": "ok", "count": True}, [("spec.count", "FieldValueTypeInvalid")]),
        ({"name": "ok", "count": 4}, [("spec.count", "FieldValueInvalid")]),
        ({"name": "ok", "count": -1}, [("spec.count", "FieldValueInvalid")]),
        ({"name": "ok", "ratio": "x"}, [("spec.ratio", "FieldValueTypeInvalid")]),
        ({"name": "ok", "on": "yes"}, [("spec.on", "FieldValueTypeInvalid")]),
        ({"name": ""}, [("spec.name", "FieldValueInvalid"), ("spec.name", "FieldValueInvalid")]),
        ({"name": "toolong"}, [("spec.name", "FieldValueTooLong")]),
        ({"name": "UP"}, [("spec.name", "FieldValueInvalid")]),
        ({"name": "ok", "maybe": None}, []),
        ({"name": "ok", "mode": None}, [("spec.mode", "FieldValueTypeInvalid")]),
        ({"name": "ok", "size": 2}, []),
        ({"name": "ok", "size": "10Gi"}, []),
        ({"name": "ok", "size": "ten"}, [("spec.size", "FieldValueInvalid")]),
        ({"name": "ok", "size": 1.5}, [("spec.size", "FieldValueTypeInvalid")]),
        ({"name": "ok", "tags": []}, [("spec.tags", "FieldValueInvalid")]),
        ({"name": "ok", "tags": ["a", "b", "c"]}, [("spec.tags", "FieldValueTooMany")]),
        ({"name": "ok", "tags": ["a", 1]}, [("spec.tags[1]", "FieldValueTypeInvalid")]),
        (
            {"name": "ok", "items": [{"name": "x"}, {"name": "x"}]},
            [("spec.items[1]", "FieldValueDuplicate")],
        ),
        (
            {"name": "ok", "byName": {"VllmWorker": {"replicas": "2"}}},
            [("spec.byName.VllmWorker.replicas", "FieldValueTypeInvalid")],
        ),
        (
            {"name": "ok", "byName": {"VllmWorker": {"replica": 2}}},
            [("spec.byName.VllmWorker.replica", "FieldValueUnknown")],
        ),
        ({"name": "ok", "anything": {"a": {"b": 1}}}, []),
        ({"name": "ok", "closed": {"a": 1}}, [("spec.closed.a", "FieldValueUnknown")]),
        ({"name": "ok", "free": {"a": {"b": [1]}}}, []),
        ({"name": "ok", "embedded": {"apiVersion": "v1", "kind": "Pod", "metadata": {}}}, []),
        (
            {"name": "ok", "embedded": {"status": {}}},
            [("spec.embedded.status", "FieldValueUnknown")],
        ),
        ({"name": "ok", "extra": 1}, [("spec.extra", "FieldValueUnknown")]),
    ],
)
def test_each_rule_reports_its_field_path_and_reason(spec, expected):
    assert errors(spec) == expected


def test_messages_use_the_apiservers_wording():
    body = {"spec": {"name": "ok", "mode": "c", "count": "1", "extra": 1}}
    found = {e.field: e for e in validate(SCHEMA, body)}
    assert found["spec.mode"].message == 'Unsupported value: "c": supported values: "a", "b"'
    assert found["spec.count"].message == (
        'Invalid value: "1": spec.count in body must be of type integer: "string"'
    )
    assert found["spec.extra"] == FieldError(
        "spec.extra", 'unknown field "spec.extra"', "FieldValueUnknown"
    )


def test_unknown_top_level_fields_are_errors_but_apiversion_and_kind_are_not():
    found = validate(SCHEMA, {"apiVersion": "x/v1", "kind": "X", "extra": True})
    assert [(e.field, e.reason) for e in found] == [("extra", "FieldValueUnknown")]


def test_the_api_server_prunes_fields_the_schema_does_not_declare():
    from sandbox.schema import prune

    status_schema = {
        "type": "object",
        "properties": {
            "state": {"type": "string"},
            "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
            "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "items": {
                "type": "array",
                "items": {"type": "object", "properties": {"name": {"type": "string"}}},
            },
        },
    }
    written = {
        "state": "successful",
        "services": {"VllmWorker": {"readyReplicas": 1}},
        "counts": {"a": 1},
        "extra": {"anything": {"goes": True}},
        "items": [{"name": "x", "unknown": 1}],
    }
    assert prune(status_schema, written) == {
        "state": "successful",
        "counts": {"a": 1},
        "extra": {"anything": {"goes": True}},
        "items": [{"name": "x"}],
    }
