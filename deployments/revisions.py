"""What a change to a deployment's spec does: its YAML diff and which pods restart (pure).

A component's pods restart when its pod template changes (anything but `replicas`); a change
of `replicas` alone adds or removes pods and restarts none. Fields outside the components
(`spec.env`, `backendFramework`, …) reach every pod, so every pod restarts.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field

from deployments.manifests import block_yaml

# The keys of a component that are not part of its pod template.
_NOT_TEMPLATE = ("replicas",)
# What changed in a pod template, in the words a person uses, by where it lives in the main
# container (v1beta1 podTemplate) or the service (v1alpha1).
_WHAT = (
    ("image", "image changes"),
    ("args", "arguments change"),
    ("env", "environment changes"),
    ("resources", "resources change"),
)


def components(spec: dict) -> dict[str, dict]:
    """The components of a spec in either API version, by name."""
    spec = spec or {}
    if isinstance(spec.get("components"), list):
        return {item.get("name", ""): item for item in spec["components"]}
    return dict(spec.get("services") or {})


def component_type(item: dict) -> str:
    """frontend, worker, prefill, decode, planner… of a component in either version."""
    return item.get("type") or item.get("subComponentType") or item.get("componentType") or ""


def replicas_of(item: dict) -> int:
    try:
        return int(item.get("replicas", 1))
    except (TypeError, ValueError):
        return 1


def has_adapter(item: dict) -> bool:
    """Whether a DynamoGraphDeploymentScalingAdapter owns the component's replicas.

    v1beta1: the marker `scalingAdapter: {}` (present is on); v1alpha1: `enabled: true`.
    """
    marker = item.get("scalingAdapter")
    if marker is None:
        return False
    if "componentType" in item:  # v1alpha1: a bare {} is off, enabled defaults to false
        return bool((marker or {}).get("enabled"))
    return True


def adapter_name(dgd_name: str, component: str) -> str:
    """The DGDSA the operator creates for a component: `<dgd>-<component lowercased>`."""
    return f"{dgd_name}-{component.lower()}"


def with_replicas(spec: dict, replicas: dict[str, int]) -> dict:
    """A copy of the spec with the given components' replicas changed."""
    new = copy.deepcopy(spec)
    items = components(new)
    for name, count in replicas.items():
        items[name]["replicas"] = count
    return new


def label(name: str, item: dict) -> str:
    """How a person names a component: "decode workers", "the frontend"."""
    kind = component_type(item)
    base = {
        "frontend": "the frontend",
        "prefill": "prefill workers",
        "decode": "decode workers",
        "worker": "workers",
        "planner": "the planner",
    }.get(kind, name)
    if name.lower() not in base.lower() and base != name:
        base = f"{base} ({name})"
    return base


def _possessive(text: str) -> str:
    if text.endswith(")"):
        head, _, tail = text.rpartition(" (")
        return f"{_possessive(head)} ({tail}"
    return f"{text}'" if text.endswith("s") else f"{text}'s"


def _pods(count: int) -> str:
    return f"{count} pod{'s' if count != 1 else ''}"


def _main(item: dict) -> dict:
    """The parts of a component that say what its pods run, flattened for both versions."""
    if "podTemplate" in item or "type" in item:
        containers = ((item.get("podTemplate") or {}).get("spec") or {}).get("containers") or [{}]
        main = next((c for c in containers if c.get("name") == "main"), containers[0])
        return {
            "image": main.get("image"),
            "args": [main.get("command"), main.get("args")],
            "env": [main.get("env"), main.get("envFrom")],
            "resources": main.get("resources"),
        }
    main = (item.get("extraPodSpec") or {}).get("mainContainer") or {}
    return {
        "image": main.get("image"),
        "args": [main.get("command"), main.get("args")],
        "env": [item.get("envs"), item.get("envFromSecret")],
        "resources": item.get("resources"),
    }


def _template(item: dict) -> dict:
    return {k: v for k, v in item.items() if k not in _NOT_TEMPLATE}


def _rest(spec: dict) -> dict:
    return {k: v for k, v in (spec or {}).items() if k not in ("components", "services")}


@dataclass(frozen=True)
class Effect:
    """What a change does to one component."""

    component: str
    restarts: bool
    sentence: str
    # Why it restarts, in a person's words ("image changes"); empty when it does not.
    what: tuple[str, ...] = ()


@dataclass(frozen=True)
class Summary:
    """The plain summary of a change: one sentence per component it touches."""

    effects: list[Effect] = field(default_factory=list)
    lead: str = ""

    @property
    def changed(self) -> bool:
        return bool(self.effects) or bool(self.lead)

    @property
    def restarts(self) -> list[str]:
        """The components whose pods restart."""
        return [e.component for e in self.effects if e.restarts]

    @property
    def sentences(self) -> list[str]:
        return ([self.lead] if self.lead else []) + [e.sentence for e in self.effects]

    @property
    def text(self) -> str:
        """The sentences as one paragraph, each capitalised and ended."""
        return " ".join(f"{t[:1].upper()}{t[1:].rstrip('.')}." for t in self.sentences)

    def as_json(self) -> dict:
        return {"restarts": self.restarts, "summary": self.sentences}


def summarize(old: dict, new: dict) -> Summary:
    """The effect of replacing spec `old` by spec `new`, per component."""
    before, after = components(old), components(new)
    everything = _rest(old) != _rest(new)
    effects: list[Effect] = []
    for name in [*before, *[n for n in after if n not in before]]:
        item_old, item_new = before.get(name), after.get(name)
        if item_old is None:
            effects.append(
                Effect(
                    name,
                    False,
                    f"{label(name, item_new)} added: {_pods(replicas_of(item_new))} start",
                )
            )
            continue
        who = label(name, item_old)
        count = replicas_of(item_old)
        if item_new is None:
            effects.append(Effect(name, False, f"{who} removed: {_pods(count)} stop"))
            continue
        if everything or _template(item_old) != _template(item_new):
            what = _what_changed(item_old, item_new)
            effects.append(
                Effect(
                    name,
                    True,
                    f"{_possessive(who)} {' and '.join(what)}: "
                    f"their {_pods(count)} restart{'s' if count == 1 else ''}",
                    tuple(what),
                )
            )
            continue
        wanted = replicas_of(item_new)
        if wanted != count:
            delta = wanted - count
            change = f"{abs(delta)} {'added' if delta > 0 else 'removed'}"
            effects.append(
                Effect(name, False, f"{who}: {count} → {wanted} replicas ({change}, no restart)")
            )
    lead = ""
    if effects and not any(e.restarts for e in effects):
        if all("replicas (" in e.sentence for e in effects):
            lead = "replicas only: no restart"
    elif effects and all(e.restarts for e in effects) and len(before) == len(after):
        whats = {w for e in effects for w in e.what}
        if everything:
            lead = "settings shared by every component change: every pod restarts"
        elif whats == {"image changes"}:
            lead = "image changes: every pod restarts"
    return Summary(effects, lead)


def _what_changed(old: dict, new: dict) -> list[str]:
    a, b = _main(old), _main(new)
    what = [words for key, words in _WHAT if a[key] != b[key]]
    if not what:
        changed = _template(old) != _template(new)
        what = ["pod template changes" if changed else "shared settings change"]
    return what


def spec_yaml(spec: dict) -> str:
    """The spec as YAML, keys in their order, as a person reads it."""
    return block_yaml(spec or {})


def spec_diff(old: dict, new: dict, *, old_label: str = "live", new_label: str = "new") -> str:
    """The unified diff of two specs as YAML (empty when they are equal)."""
    lines = difflib.unified_diff(
        spec_yaml(old).splitlines(keepends=True),
        spec_yaml(new).splitlines(keepends=True),
        fromfile=old_label,
        tofile=new_label,
        n=3,
    )
    return "".join(lines)


@dataclass(frozen=True)
class DiffLine:
    """One line of a diff, with its kind for colouring: add, remove, hunk, file or context."""

    text: str
    kind: str


def diff_lines(diff: str) -> list[DiffLine]:
    """A unified diff split into lines a template colours."""
    result = []
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "remove"
        else:
            kind = "context"
        result.append(DiffLine(line, kind))
    return result
