"""The CRDs' CEL rules (`x-kubernetes-validations`), evaluated as the API server evaluates
them, with cel-python and the Kubernetes library functions the Dynamo CRDs use.

Each rule runs with `self` bound to the value at its schema node; a failing rule is a 422
cause at that node's path: `spec.components: Invalid value: "array": <message>`. Transition
rules (those naming `oldSelf`) run only on updates where an old value exists, except rules
marked `optionalOldSelf`, which also run on create with `oldSelf.hasValue()` false.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import celpy
from celpy import celtypes, json_to_cel

from .schema import FieldError, _child, _type_name

_MISSING = object()
_QUANTITY = re.compile(r"^([+-]?[0-9.]+)(?:([eE][+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E))?$")
_SUFFIX = {
    "": 1.0,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
    "Pi": 2.0**50,
    "Ei": 2.0**60,
}


def _quantity(text: Any) -> celtypes.DoubleType:
    """Kubernetes' quantity() as its value in base units (enough to compare two)."""
    match = _QUANTITY.match(str(text))
    if not match:
        raise ValueError(f"invalid quantity {text!r}")
    number, exponent, suffix = match.groups()
    value = float(number) * (10 ** int(exponent[1:]) if exponent else _SUFFIX[suffix or ""])
    return celtypes.DoubleType(value)


_FUNCTIONS = {
    "lowerAscii": lambda s: celtypes.StringType(str(s).lower()),
    "upperAscii": lambda s: celtypes.StringType(str(s).upper()),
    "split": lambda s, sep: celtypes.ListType(
        [celtypes.StringType(part) for part in str(s).split(str(sep))]
    ),
    "quantity": _quantity,
    "isGreaterThan": lambda a, b: celtypes.BoolType(float(a) > float(b)),
    "isLessThan": lambda a, b: celtypes.BoolType(float(a) < float(b)),
}
_ENVIRONMENT = celpy.Environment()


@lru_cache(maxsize=512)
def _program(rule: str):
    return _ENVIRONMENT.program(_ENVIRONMENT.compile(rule), functions=_FUNCTIONS)


def validate_rules(
    schema: dict, value: Any, old: Any = _MISSING, path: str = ""
) -> list[FieldError]:
    """Every CEL rule of the schema that `value` breaks (`old`: the stored value, on update)."""
    errors: list[FieldError] = []
    _walk(schema, value, old, path, errors)
    return errors


def _walk(schema: dict, value: Any, old: Any, path: str, errors: list[FieldError]) -> None:
    for rule in schema.get("x-kubernetes-validations") or []:
        _check(rule, value, old, path, errors)
    if isinstance(value, dict):
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        old_map = old if isinstance(old, dict) else {}
        if properties:
            for key, child in properties.items():
                if key in value:
                    _walk(child, value[key], old_map.get(key, _MISSING), _child(path, key), errors)
        elif isinstance(extra, dict):
            for key, item in value.items():
                _walk(extra, item, old_map.get(key, _MISSING), _child(path, key), errors)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            # List items are matched to old ones only for map lists; the sandbox does not.
            _walk(schema["items"], item, _MISSING, f"{path}[{index}]", errors)


def _check(rule: dict, value: Any, old: Any, path: str, errors: list[FieldError]) -> None:
    text = rule["rule"]
    bindings = {"self": json_to_cel(value)}
    if "oldSelf" in text:
        if old is _MISSING and not rule.get("optionalOldSelf"):
            return  # a transition rule: nothing to compare on create
        present = old is not _MISSING
        text = text.replace("oldSelf.hasValue()", "true" if present else "false")
        text = text.replace("oldSelf.value()", "oldSelf")
        bindings["oldSelf"] = json_to_cel(old if present else None)
    try:
        result = _program(text).evaluate(bindings)
    except celpy.CELParseError:
        return  # a rule this evaluator cannot read is not enforced, rather than misjudged
    except celpy.CELEvalError as exc:
        result = exc
    if not (isinstance(result, celtypes.BoolType) and bool(result)):
        kind = _type_name(value)
        message = rule.get("message") or f"failed rule: {rule['rule']}"
        reason = rule.get("reason", "FieldValueInvalid")
        errors.append(FieldError(path, f'Invalid value: "{kind}": {message}', reason))
