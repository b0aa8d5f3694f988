"""Label and field selectors, parsed the way the apiserver reads them."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# key(=|==|!=)value, key in (a,b), key notin (a,b), key, !key
_SET_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9./_-]+)\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")
_EQ_RE = re.compile(r"^\s*([A-Za-z0-9./_-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)\s*$")


class SelectorError(ValueError):
    """A selector the apiserver would refuse with 400 BadRequest."""


@dataclass(frozen=True)
class Requirement:
    """One clause of a label selector."""

    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!exists"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        """Whether a label map satisfies this clause."""
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "=":
            return present and value == self.values[0]
        if self.op == "!=":
            return not present or value != self.values[0]
        if self.op == "in":
            return present and value in self.values
        if self.op == "notin":
            return not present or value not in self.values
        if self.op == "exists":
            return present
        return not present


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p for p in parts if p.strip()]


def parse_label_selector(text: str | None) -> list[Requirement]:
    """Parse a labelSelector query value into requirements."""
    if not text:
        return []
    requirements = []
    for part in _split_top_level(text):
        eq = _EQ_RE.match(part)
        if eq:
            key, op, value = eq.groups()
            requirements.append(Requirement(key, "!=" if op == "!=" else "=", (value,)))
            continue
        found = _SET_RE.match(part)
        if not found:
            raise SelectorError(f"unable to parse requirement: {part.strip()!r}")
        negate, key, op, values = found.groups()
        if op:
            if negate:
                raise SelectorError(f"unable to parse requirement: {part.strip()!r}")
            items = tuple(v.strip() for v in values.split(",") if v.strip())
            requirements.append(Requirement(key, op, items))
        else:
            requirements.append(Requirement(key, "!exists" if negate else "exists"))
    return requirements


def label_matcher(requirements: list[Requirement]) -> Callable[[dict], bool]:
    """A predicate over objects for the parsed label selector."""

    def match(obj: dict) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(r.matches(labels) for r in requirements)

    return match


def _lookup(obj: dict, path: str) -> str:
    current: object = obj
    for part in path.split("."):
        if not isinstance(current, dict):
            return ""
        current = current.get(part)
    if current is None:
        return ""
    if isinstance(current, bool):
        return "true" if current else "false"
    return str(current)


def parse_field_selector(text: str | None, allowed: frozenset[str]) -> Callable[[dict], bool]:
    """A predicate for a fieldSelector; unsupported fields are a 400 like the apiserver's."""
    if not text:
        return lambda obj: True
    clauses = []
    for part in _split_top_level(text):
        found = _EQ_RE.match(part)
        if not found:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part.strip()}'")
        key, op, value = found.groups()
        if key not in allowed:
            raise SelectorError(f"field label not supported: {key}")
        clauses.append((key, op != "!=", value))

    def match(obj: dict) -> bool:
        return all((_lookup(obj, key) == value) == equal for key, equal, value in clauses)

    return match
