"""DynamoGraphDeploymentScalingAdapters (Dynamo 1.5), as the operator and its webhook serve them.

A component marked `scalingAdapter: {}` (v1beta1; `{enabled: true}` in v1alpha1) gets one
DGDSA named `<dgd>-<component lowercased>`. The adapter is then the source of truth for the
component's replicas: the operator copies its `spec.replicas` into the DGD, and the validating
webhook refuses a direct change of that component's replicas in the DGD. The adapter's `scale`
subresource (autoscaling/v1 Scale) is what `kubectl scale dgdsa` and autoscalers use.
"""

from __future__ import annotations

import copy
from pathlib import Path

from . import schema
from .clock import rfc3339
from .conversion import convert_dgd
from .store import Store

ADAPTERS = "dynamographdeploymentscalingadapters.nvidia.com"
DGD = "dynamographdeployments.nvidia.com"
COMPACT_CRD = Path(__file__).parent / "crds" / "dynamographdeploymentscalingadapters.yaml"
DGD_LABEL = "nvidia.com/dynamo-graph-deployment-name"
COMPONENT_LABEL = "nvidia.com/dynamo-component"
WEBHOOK = "vdynamographdeployment.kb.io"
_REFUSAL = (
    "cannot be modified directly when scaling adapter is enabled; scale or update the related "
    "DynamoGraphDeploymentScalingAdapter instead"
)


def compact_crd() -> dict:
    """The DGDSA CRD the sandbox installs with the dynamo-1.5 profile."""
    return schema.load_crd(COMPACT_CRD)


def adapter_name(dgd: str, component: str) -> str:
    return f"{dgd}-{component.lower()}"


def _components(dgd: dict) -> list[dict]:
    return (convert_dgd(dgd, "v1beta1").get("spec") or {}).get("components") or []


def _marked(dgd: dict) -> dict[str, dict]:
    return {c["name"]: c for c in _components(dgd) if "scalingAdapter" in c}


def _replicas(component: dict) -> int:
    return int(component.get("replicas", 1))


# --- the webhook ---------------------------------------------------------------------------------


def webhook_denial(current: dict, new: dict, version: str) -> str | None:
    """The webhook's refusal of a DGD update that changes adapter-owned replicas, or None."""
    old_items = {c["name"]: c for c in _components(current)}
    errors = []
    for index, component in enumerate(_components(new)):
        old = old_items.get(component["name"])
        if old is None or ("scalingAdapter" not in component and "scalingAdapter" not in old):
            continue
        if _replicas(component) != _replicas(old):
            path = (
                f"spec.services[{component['name']}].replicas"
                if version == "v1alpha1"
                else f"spec.components[{index}].replicas"
            )
            errors.append(f"{path}: Forbidden: {_REFUSAL}")
    if not errors:
        return None
    listed = errors[0] if len(errors) == 1 else f"[{', '.join(errors)}]"
    return f'admission webhook "{WEBHOOK}" denied the request: {listed}'


# --- the scale subresource -----------------------------------------------------------------------


def scale_of(adapter: dict) -> dict:
    """The adapter's autoscaling/v1 Scale."""
    meta = adapter["metadata"]
    status = adapter.get("status") or {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": (adapter.get("spec") or {}).get("replicas", 0)},
        "status": {
            "replicas": status.get("replicas", 0),
            **({"selector": status["selector"]} if status.get("selector") else {}),
        },
    }


def scale_errors(scale: object) -> str | None:
    """Why a Scale written to the subresource is refused, or None."""
    replicas = (
        ((scale or {}).get("spec") or {}).get("replicas") if isinstance(scale, dict) else None
    )
    if isinstance(replicas, bool) or not isinstance(replicas, int):
        return "spec.replicas: Required value: give a whole number of replicas"
    if replicas < 0:
        return f"spec.replicas: Invalid value: {replicas}: must be greater than or equal to 0"
    return None


def with_scale(adapter: dict, replicas: int) -> dict:
    new = copy.deepcopy(adapter)
    new.setdefault("spec", {})["replicas"] = replicas
    return new


# --- the operator --------------------------------------------------------------------------------


def reconcile(store: Store, now: float, uid: object) -> bool:
    """One pass of the adapter controller; whether a DGD's replicas were changed.

    Creates an adapter per marked component, copies each adapter's replicas into its DGD,
    reports the DGD's replicas in the adapter's status, and removes adapters whose component
    or DGD is gone (they are owned by the DGD).
    """
    changed = False
    wanted: set[tuple[str, str]] = set()
    for entry in list(store.entries(DGD)):
        dgd = entry.obj
        meta = dgd["metadata"]
        if meta.get("deletionTimestamp"):
            continue
        namespace, name = meta["namespace"], meta["name"]
        desired: dict[str, int] = {}
        for component, item in _marked(dgd).items():
            adapter_key = adapter_name(name, component)
            wanted.add((namespace, adapter_key))
            adapter = store.get(ADAPTERS, namespace, adapter_key)
            if adapter is None:
                adapter = _new_adapter(dgd, component, _replicas(item), now, uid)
                store.put(ADAPTERS, adapter)
            elif adapter["spec"]["replicas"] != _replicas(item):
                desired[component] = adapter["spec"]["replicas"]
            _report(
                store, store.get(ADAPTERS, namespace, adapter_key), dgd, component, desired, now
            )
        if desired:
            store.put(DGD, _with_replicas(dgd, desired))
            changed = True
    for entry in list(store.entries(ADAPTERS)):
        meta = entry.obj["metadata"]
        if (meta["namespace"], meta["name"]) not in wanted:
            store.delete(ADAPTERS, meta["namespace"], meta["name"])
    return changed


def _new_adapter(dgd: dict, component: str, replicas: int, now: float, uid) -> dict:
    meta = dgd["metadata"]
    return {
        "apiVersion": "nvidia.com/v1beta1",
        "kind": "DynamoGraphDeploymentScalingAdapter",
        "metadata": {
            "name": adapter_name(meta["name"], component),
            "namespace": meta["namespace"],
            "uid": uid(f"{meta.get('uid')}/{component}"),
            "creationTimestamp": rfc3339(now),
            "generation": 1,
            "labels": {DGD_LABEL: meta["name"], COMPONENT_LABEL: component},
            "ownerReferences": [
                {
                    "apiVersion": dgd.get("apiVersion", "nvidia.com/v1beta1"),
                    "kind": "DynamoGraphDeployment",
                    "name": meta["name"],
                    "uid": meta.get("uid", ""),
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "dgdRef": {"name": meta["name"], "componentName": component},
            "replicas": replicas,
        },
    }


def _report(
    store: Store, adapter: dict, dgd: dict, component: str, desired: dict, now: float
) -> None:
    """The adapter's status: the replicas the DGD has (the scale subresource's status)."""
    name = dgd["metadata"]["name"]
    count = desired.get(component, _replicas(_marked(dgd)[component]))
    status = {
        "replicas": count,
        "selector": f"{DGD_LABEL}={name},{COMPONENT_LABEL}={component}",
    }
    old = adapter.get("status") or {}
    if {k: old.get(k) for k in status} != status:
        if component in desired:
            status["lastScaleTime"] = rfc3339(now)
        elif old.get("lastScaleTime"):
            status["lastScaleTime"] = old["lastScaleTime"]
        store.put(ADAPTERS, {**adapter, "metadata": dict(adapter["metadata"]), "status": status})


def _with_replicas(dgd: dict, desired: dict[str, int]) -> dict:
    """The DGD, in its stored version, with the adapters' replicas (a new generation)."""
    new = copy.deepcopy(dgd)
    spec = new.setdefault("spec", {})
    if isinstance(spec.get("components"), list):
        for item in spec["components"]:
            if item.get("name") in desired:
                item["replicas"] = desired[item["name"]]
    else:
        for name, service in (spec.get("services") or {}).items():
            if name in desired:
                service["replicas"] = desired[name]
    new["metadata"]["generation"] = new["metadata"].get("generation", 1) + 1
    return new
