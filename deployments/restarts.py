"""Restarting a deployment, or some of its components, without changing its configuration.

Pure functions over plain dicts: the restart's plan (what restarts, how, and the merge patch
that asks for it) and the progress of a restart or rolling update read from the DGD and its
pods. Dynamo 1.5 restarts a whole graph with `spec.restart: {id}` (its operator stamps the id
on the pods as `nvidia.com/restartAt` and reports `status.restart`); a component, or a whole
graph on a release without `spec.restart`, restarts like `kubectl rollout restart`: a new
`kubectl.kubernetes.io/restartedAt` annotation on its pod template rolls it.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from datetime import datetime

from deployments.dgd import dgd_components
from deployments.status import pod_ready

COMPONENT_LABEL = "nvidia.com/dynamo-component"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
RESTART_ID = "nvidia.com/restartAt"  # what Dynamo 1.5's operator stamps for spec.restart
SPEC_RESTART, ANNOTATION = "spec.restart", "annotation"
# Components roll like Deployments by default: at most a quarter more pods at a time.
MAX_SURGE = 0.25


class RestartRefused(Exception):
    """The restart cannot be asked for; `fields` says which input to change."""

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message, self.fields = message, fields or {}


@dataclass(frozen=True)
class Component:
    name: str
    type: str
    replicas: int
    nodes: int  # pods per replica (multinode.nodeCount)
    gpus: int = 0  # per pod

    @property
    def pods(self) -> int:
        return self.replicas * self.nodes


@dataclass(frozen=True)
class RestartPlan:
    """What a restart does: which components, how, in words, and the patch that asks for it."""

    method: str  # SPEC_RESTART or ANNOTATION
    components: list[str]
    summary: str
    patch: dict
    marker: str  # the restart id (spec.restart) or the annotation's value

    def as_json(self) -> dict:
        return {
            "method": self.method,
            "components": self.components,
            "summary": self.summary,
            "restartId" if self.method == SPEC_RESTART else "restartedAt": self.marker,
        }


def components(dgd: dict) -> list[Component]:
    """Name, type, replicas and pods per replica of each component, in either API version."""
    spec = dgd.get("spec") or {}
    if isinstance(spec.get("components"), list):
        items = [(c.get("name", ""), c) for c in spec["components"]]
    else:
        items = list((spec.get("services") or {}).items())
    gpus = {c["name"]: c["gpus"] for c in dgd_components(dgd)}
    result = []
    for name, item in items:
        item = item or {}
        kind = item.get("type") or item.get("subComponentType") or item.get("componentType") or ""
        nodes = max(int((item.get("multinode") or {}).get("nodeCount") or 1), 1)
        replicas = int(item.get("replicas", 1))
        result.append(Component(name, kind, replicas, nodes, gpus.get(name, 0)))
    return result


def supports_spec_restart(crd: dict | None, version: str) -> bool:
    """Whether the cluster's DGD CRD has spec.restart in this version (Dynamo 1.5 and later)."""
    for served in (crd or {}).get("spec", {}).get("versions") or []:
        if served.get("name") == version:
            root = (served.get("schema") or {}).get("openAPIV3Schema") or {}
            spec = (root.get("properties") or {}).get("spec") or {}
            return "restart" in (spec.get("properties") or {})
    return False


def _pods_phrase(component: Component, all_components: list[Component]) -> str:
    """'the 2 decode pods', or by name when two components share a type."""
    same_type = [c for c in all_components if c.type == component.type]
    kind = component.type if component.type and len(same_type) == 1 else component.name
    plural = "s" if component.pods != 1 else ""
    return f"the {component.pods} {kind} pod{plural}"


def _pace(component: Component) -> str:
    batch = math.ceil(component.pods * MAX_SURGE)
    if component.pods <= 1:
        return "the new pod starts before the old one stops"
    if batch == 1:
        return "one at a time, each new pod ready before an old one stops"
    return f"{batch} at a time, new pods ready before old ones stop"


def describe(dgd: dict, chosen: list[str], method: str, order: list[str] | None = None) -> str:
    """In words, what restarting these components does."""
    every = components(dgd)
    picked = [c for c in every if c.name in chosen]
    running = [c for c in picked if c.pods]
    if not running:
        names = ", ".join(c.name for c in picked)
        return f"{names} {'has' if len(picked) == 1 else 'have'} no pods: nothing restarts."
    if len(picked) == 1:
        component = picked[0]
        sentence = f"{_pods_phrase(component, every).capitalize()} restart: {_pace(component)}."
        if component.gpus:
            batch = math.ceil(component.pods * MAX_SURGE)
            needed = batch * component.gpus
            sentence += (
                f" {'Each new pod needs' if batch == 1 else f'{batch} new pods need'} "
                f"{needed} free GPU{'s' if needed != 1 else ''} while the old ones still run."
            )
        return sentence
    phrases = [_pods_phrase(c, every) for c in running]
    listed = ", ".join(phrases[:-1]) + f" and {phrases[-1]}" if len(phrases) > 1 else phrases[0]
    if method == SPEC_RESTART:
        sequence = ", then ".join(order or sorted(chosen))
        return (
            f"Every component restarts in turn ({sequence}): {listed}; within a component, "
            "new pods become ready before old ones stop."
        )
    return (
        f"Every chosen component restarts at once: {listed}; within a component, new pods "
        "become ready before old ones stop."
    )


def _stamp(now: datetime, current: set[str]) -> str:
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    # Two restarts within one second still differ.
    return now.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if stamp in current else stamp


def restart_plan(
    dgd: dict, *, chosen: list[str] | None, crd: dict | None, now: datetime
) -> RestartPlan:
    """The restart of the chosen components (None or empty: the whole deployment).

    Raises RestartRefused for a component the deployment does not have, or a deployment
    being deleted.
    """
    meta = dgd.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        raise RestartRefused(f'"{meta.get("name")}" is being deleted: there is nothing to restart.')
    every = components(dgd)
    names = [c.name for c in every]
    unknown = [n for n in chosen or [] if n not in names]
    if unknown:
        message = (
            f"{', '.join(repr(n) for n in unknown)}: no such component. "
            f"{meta.get('name')} has {', '.join(names)}."
        )
        raise RestartRefused(message, {"components": [message]})
    version = (dgd.get("apiVersion") or "").rsplit("/", 1)[-1]
    spec = dgd.get("spec") or {}
    precondition = {"resourceVersion": meta.get("resourceVersion")}
    whole = not chosen or set(chosen) == set(names)
    if whole and supports_spec_restart(crd, version):
        current = spec.get("restart") or {}
        restart_id = _stamp(now, {current.get("id", "")})
        strategy = current.get("strategy") or {}
        if strategy.get("type") == "Parallel":
            summary = describe(dgd, names, ANNOTATION).replace("chosen component", "component")
        else:
            order = [n for n in strategy.get("order") or [] if n in names] or sorted(names)
            summary = describe(dgd, names, SPEC_RESTART, order)
        patch = {"metadata": precondition, "spec": {"restart": {"id": restart_id}}}
        return RestartPlan(SPEC_RESTART, sorted(names), summary, patch, restart_id)
    picked = [n for n in names if whole or n in (chosen or [])]
    if isinstance(spec.get("components"), list):
        items = copy.deepcopy(spec["components"])
        existing = {
            ((c.get("podTemplate") or {}).get("metadata") or {})
            .get("annotations", {})
            .get(RESTARTED_AT, "")
            for c in items
        }
        stamp = _stamp(now, existing)
        for item in items:
            if item.get("name") in picked:
                template = item.setdefault("podTemplate", {})
                annotations = template.setdefault("metadata", {}).setdefault("annotations", {})
                annotations[RESTARTED_AT] = stamp
        patch = {"metadata": precondition, "spec": {"components": items}}
    else:
        services = spec.get("services") or {}
        existing = {
            ((services.get(n) or {}).get("extraPodMetadata") or {})
            .get("annotations", {})
            .get(RESTARTED_AT, "")
            for n in picked
        }
        stamp = _stamp(now, existing)
        patch = {
            "metadata": precondition,
            "spec": {
                "services": {
                    n: {"extraPodMetadata": {"annotations": {RESTARTED_AT: stamp}}} for n in picked
                }
            },
        }
    return RestartPlan(ANNOTATION, picked, describe(dgd, picked, ANNOTATION), patch, stamp)


@dataclass(frozen=True)
class Choice:
    """One option of the restart dialog: a component (or "" for all) and what it does."""

    value: str
    label: str
    summary: str


def restart_choices(dgd: dict, crd: dict | None) -> list[Choice]:
    """The whole deployment, then each component, each with what restarting it does."""
    every = components(dgd)
    now = datetime(2000, 1, 1)  # only the words are used
    whole = restart_plan(dgd, chosen=None, crd=crd, now=now).summary
    result = [Choice("", "The whole deployment", whole)]
    for component in every:
        label = f"{component.name} ({component.type})" if component.type else component.name
        result.append(Choice(component.name, label, describe(dgd, [component.name], ANNOTATION)))
    return result


# --- progress ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComponentProgress:
    """One component during a restart or rolling update: new pods ready of wanted, old left."""

    name: str
    wanted: int
    new: int
    new_ready: int
    old: int

    @property
    def done(self) -> bool:
        return self.new_ready >= self.wanted and self.old == 0

    @property
    def text(self) -> str:
        if self.done:
            return f"done: {self.new_ready} of {self.wanted} new pods ready"
        text = f"{self.new_ready} of {self.wanted} new pods ready"
        if self.old:
            text += f", {self.old} old pod{'s' if self.old != 1 else ''} still running"
        return text

    def as_json(self) -> dict:
        return {
            "component": self.name,
            "wanted": self.wanted,
            "newPods": self.new,
            "newPodsReady": self.new_ready,
            "oldPods": self.old,
            "done": self.done,
        }


@dataclass(frozen=True)
class Progress:
    """A restart or rolling update of a deployment, as the details page shows it."""

    kind: str  # "restart" or "rolling update"
    phase: str  # Restarting, Completed, InProgress ...
    active: bool
    sentence: str
    components: list[ComponentProgress] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "kind": self.kind,
            "phase": self.phase,
            "active": self.active,
            "summary": self.sentence,
            "components": [c.as_json() for c in self.components],
        }


def _live(pods: list[dict], name: str) -> list[dict]:
    """The component's pods that are not terminating."""
    return [
        p
        for p in pods
        if ((p.get("metadata") or {}).get("labels") or {}).get(COMPONENT_LABEL) == name
        and not (p.get("metadata") or {}).get("deletionTimestamp")
    ]


def _count(pods: list[dict], component: Component, key: str, value: str) -> ComponentProgress:
    """New pods carry the restart's mark (annotation key = value); the others are old."""
    live = _live(pods, component.name)
    new = [p for p in live if ((p["metadata"].get("annotations") or {}).get(key)) == value]
    return ComponentProgress(
        component.name,
        component.pods,
        len(new),
        sum(1 for p in new if pod_ready(p)),
        len(live) - len(new),
    )


def _annotation(dgd: dict, name: str) -> str:
    spec = dgd.get("spec") or {}
    if isinstance(spec.get("components"), list):
        item = next((c for c in spec["components"] if c.get("name") == name), {})
        metadata = (item.get("podTemplate") or {}).get("metadata") or {}
    else:
        metadata = ((spec.get("services") or {}).get(name) or {}).get("extraPodMetadata") or {}
    return (metadata.get("annotations") or {}).get(RESTARTED_AT, "")


def rollout_progress(dgd: dict | None, pods: list[dict]) -> Progress | None:
    """The restart or rolling update under way (or the last restart's outcome), if any."""
    if not dgd:
        return None
    status = dgd.get("status") or {}
    every = components(dgd)
    restart = status.get("restart") or {}
    requested = ((dgd.get("spec") or {}).get("restart") or {}).get("id")
    if restart.get("phase") == "Restarting" or (
        requested and restart.get("observedID") != requested
    ):
        restart_id = restart.get("observedID") or requested
        in_progress = restart.get("inProgress") or []
        rows = [_count(pods, c, RESTART_ID, restart_id) for c in every]
        now = f": restarting {', '.join(in_progress)}" if in_progress else ""
        return Progress("restart", "Restarting", True, f"Restart {restart_id}{now}.", rows)
    annotated = [
        _count(pods, c, RESTARTED_AT, _annotation(dgd, c.name))
        for c in every
        if _annotation(dgd, c.name)
    ]
    restarting = [row for row in annotated if not row.done]
    if restarting:
        names = ", ".join(row.name for row in restarting)
        return Progress("restart", "Restarting", True, f"Restarting {names}.", restarting)
    rolling = status.get("rollingUpdate") or {}
    if rolling.get("phase") in ("Pending", "InProgress"):
        updated = rolling.get("updatedComponents") or rolling.get("updatedServices") or []
        counts = status.get("components") or status.get("services") or {}
        rows = []
        for component in every:
            seen = counts.get(component.name) or {}
            new = int(seen.get("updatedReplicas") or 0)
            old = max(len(_live(pods, component.name)) - new, 0)
            # Ready counts old pods still serving too: the new ones are the rest.
            ready = int(seen.get("readyReplicas") or 0)
            rows.append(
                ComponentProgress(
                    component.name,
                    int(seen.get("replicas", component.replicas) or 0),
                    new,
                    max(0, min(new, ready - old)),
                    old,
                )
            )
        since = f" since {rolling['startTime']}" if rolling.get("startTime") else ""
        done = f"; done: {', '.join(updated)}" if updated else ""
        sentence = f"Rolling out a changed configuration{since}{done}."
        return Progress("rolling update", rolling.get("phase", ""), True, sentence, rows)
    if restart.get("phase") in ("Completed", "Failed", "Superseded"):
        sentence = f"The last restart ({restart.get('observedID')}) is {restart['phase'].lower()}."
        return Progress("restart", restart["phase"], False, sentence)
    return None


# --- scale progress ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ScaleProgress:
    """One component after a scale: pods added or terminating, and how many are ready."""

    component: str
    before: int  # pods before the scale
    wanted: int  # pods after it
    running: int  # pods not terminating
    terminating: int
    ready: int

    @property
    def added(self) -> int:
        return max(self.running - self.before, 0) if self.wanted > self.before else 0

    @property
    def settled(self) -> bool:
        return self.running == self.wanted and not self.terminating and self.ready >= self.wanted

    @property
    def text(self) -> str:
        """ "2 pods added, 1 terminating, ready 1 of 3", or "settled: 3 of 3 ready"."""
        if self.settled:
            return f"settled: {self.ready} of {self.wanted} ready"
        parts = []
        if self.added:
            parts.append(f"{self.added} pod{'s' if self.added != 1 else ''} added")
        if self.terminating:
            parts.append(f"{self.terminating} terminating")
        parts.append(f"ready {self.ready} of {self.wanted}")
        return ", ".join(parts)

    def as_json(self) -> dict:
        return {
            "component": self.component,
            "before": self.before,
            "wanted": self.wanted,
            "added": self.added,
            "terminating": self.terminating,
            "ready": self.ready,
            "settled": self.settled,
        }


def scale_progress(dgd: dict, pods: list, before: dict[str, int]) -> list[ScaleProgress]:
    """The progress of the components a scale changed (`before`: their replicas until then).

    `pods` are the deployment's pods as the details page lists them (component, phase, ready).
    """
    result = []
    for component in components(dgd):
        if component.name not in before or before[component.name] == component.replicas:
            continue
        mine = [p for p in pods if p.component == component.name]
        terminating = [p for p in mine if p.phase == "Terminating"]
        running = [p for p in mine if p.phase != "Terminating"]
        result.append(
            ScaleProgress(
                component.name,
                before[component.name] * component.nodes,
                component.pods,
                len(running),
                len(terminating),
                sum(1 for p in running if p.ready),
            )
        )
    return result
