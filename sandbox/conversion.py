"""Conversion of DynamoGraphDeployments between v1alpha1 (services map) and v1beta1 (components).

Covers the fields Dynamote uses: component list <-> services map, component type <->
componentType/subComponentType, main container <-> extraPodSpec.mainContainer, GPU and
cpu/memory resources, envFrom secret <-> envFromSecret, env <-> envs, shared memory, claims
(spec.pvcs + volumeMounts <-> pod volumes + container volumeMounts), the node selector, other
resource names (resources.*.custom), and the per-component status. Fields without a
counterpart are dropped, as a lossy webhook would.
"""

from __future__ import annotations

import copy

GROUP = "nvidia.com"
GPU = "nvidia.com/gpu"
_SUB_TYPES = ("prefill", "decode")


def convert_dgd(obj: dict, version: str) -> dict:
    """A copy of the DGD in the requested version (the same object when already there)."""
    current = obj.get("apiVersion", "").rpartition("/")[2]
    if current == version:
        return obj
    if version == "v1beta1":
        return to_v1beta1(obj)
    if version == "v1alpha1":
        return to_v1alpha1(obj)
    raise ValueError(f"cannot convert DynamoGraphDeployment to {version}")


def _main_container(containers: list[dict]) -> dict:
    for container in containers:
        if container.get("name") == "main":
            return container
    return containers[0] if containers else {}


def _without_none(data: dict) -> dict:
    return {k: v for k, v in data.items() if v not in (None, [], {})}


def to_v1beta1(obj: dict) -> dict:
    """Convert a v1alpha1 DGD to v1beta1."""
    out = {k: copy.deepcopy(v) for k, v in obj.items() if k not in ("spec", "status")}
    out["apiVersion"] = f"{GROUP}/v1beta1"
    spec = obj.get("spec") or {}
    new_spec: dict = {}
    if "backendFramework" in spec:
        new_spec["backendFramework"] = spec["backendFramework"]
    if spec.get("envs"):
        new_spec["env"] = copy.deepcopy(spec["envs"])
    if "restart" in spec:
        new_spec["restart"] = copy.deepcopy(spec["restart"])
    components = []
    for name, service in (spec.get("services") or {}).items():
        components.append(_claims_to_volumes(_service_to_component(name, service or {}), service))
    if "services" in spec:
        new_spec["components"] = components
    out["spec"] = new_spec
    if "status" in obj:
        out["status"] = _status_to_v1beta1(obj["status"])
    return out


def _service_to_component(name: str, service: dict) -> dict:
    component: dict = {"name": name}
    kind = service.get("componentType")
    sub = service.get("subComponentType")
    if kind == "worker" and sub in _SUB_TYPES:
        component["type"] = sub
    elif kind:
        component["type"] = kind
    if "replicas" in service:
        component["replicas"] = service["replicas"]
    if (service.get("scalingAdapter") or {}).get("enabled"):
        component["scalingAdapter"] = {}
    shared = service.get("sharedMemory") or {}
    if shared.get("size") is not None and not shared.get("disabled"):
        component["sharedMemorySize"] = shared["size"]
    main = (service.get("extraPodSpec") or {}).get("mainContainer") or {}
    container: dict = {"name": "main"}
    for field in ("image", "workingDir", "command", "args"):
        if field in main:
            container[field] = copy.deepcopy(main[field])
    env = copy.deepcopy(service.get("envs") or []) + copy.deepcopy(main.get("env") or [])
    if env:
        container["env"] = env
    if service.get("envFromSecret"):
        container["envFrom"] = [{"secretRef": {"name": service["envFromSecret"]}}]
    resources = {}
    for section in ("limits", "requests"):
        values = (service.get("resources") or {}).get(section) or {}
        converted = _without_none(
            {
                **(values.get("custom") or {}),
                "cpu": values.get("cpu"),
                "memory": values.get("memory"),
                GPU: values.get("gpu"),
            }
        )
        if converted:
            resources[section] = converted
    if resources:
        container["resources"] = resources
    if (service.get("multinode") or {}).get("nodeCount") is not None:
        component["multinode"] = {"nodeCount": service["multinode"]["nodeCount"]}
    component["podTemplate"] = {"spec": {"containers": [container]}}
    # Pod labels and annotations: extraPodMetadata in v1alpha1, podTemplate.metadata in v1beta1.
    pod_metadata = _without_none(
        {k: copy.deepcopy(v) for k, v in (service.get("extraPodMetadata") or {}).items()}
    )
    if pod_metadata:
        component["podTemplate"]["metadata"] = pod_metadata
    return component


def to_v1alpha1(obj: dict) -> dict:
    """Convert a v1beta1 DGD to v1alpha1."""
    out = {k: copy.deepcopy(v) for k, v in obj.items() if k not in ("spec", "status")}
    out["apiVersion"] = f"{GROUP}/v1alpha1"
    spec = obj.get("spec") or {}
    new_spec: dict = {}
    if "backendFramework" in spec:
        new_spec["backendFramework"] = spec["backendFramework"]
    if spec.get("env"):
        new_spec["envs"] = copy.deepcopy(spec["env"])
    if "restart" in spec:
        new_spec["restart"] = copy.deepcopy(spec["restart"])
    if "components" in spec:
        deployment = obj.get("metadata", {}).get("name", "")
        new_spec["services"] = {
            c["name"]: _volumes_to_claims(_component_to_service(c, deployment), c)
            for c in spec["components"]
        }
        claims = _claim_names(spec["components"])
        if claims:
            new_spec["pvcs"] = [{"name": name, "create": False} for name in claims]
    out["spec"] = new_spec
    if "status" in obj:
        out["status"] = _status_to_v1alpha1(obj["status"], obj.get("metadata", {}).get("name", ""))
    return out


def _component_to_service(component: dict, deployment: str) -> dict:
    # 0.6 examples set dynamoNamespace to the deployment's name; v1beta1 has no such field.
    service: dict = {"dynamoNamespace": deployment}
    kind = component.get("type")
    if kind in _SUB_TYPES:
        service["componentType"] = "worker"
        service["subComponentType"] = kind
    elif kind:
        service["componentType"] = kind
    if "replicas" in component:
        service["replicas"] = component["replicas"]
    if "scalingAdapter" in component:
        service["scalingAdapter"] = {"enabled": True}
    if "sharedMemorySize" in component:
        service["sharedMemory"] = {"size": component["sharedMemorySize"]}
    containers = ((component.get("podTemplate") or {}).get("spec") or {}).get("containers") or []
    main = _main_container(containers)
    secrets = [
        e["secretRef"]["name"]
        for e in main.get("envFrom") or []
        if (e.get("secretRef") or {}).get("name")
    ]
    if secrets:
        service["envFromSecret"] = secrets[0]
    if main.get("env"):
        service["envs"] = copy.deepcopy(main["env"])
    resources = {}
    for section in ("limits", "requests"):
        values = (main.get("resources") or {}).get(section) or {}
        converted = _without_none(
            {
                "cpu": _as_str(values.get("cpu")),
                "memory": _as_str(values.get("memory")),
                "gpu": _as_str(values.get(GPU)),
                "custom": {k: str(v) for k, v in values.items() if k not in ("cpu", "memory", GPU)},
            }
        )
        if converted:
            resources[section] = converted
    if resources:
        service["resources"] = resources
    mapped = {
        f: copy.deepcopy(main[f]) for f in ("image", "workingDir", "command", "args") if f in main
    }
    if mapped:
        service["extraPodSpec"] = {"mainContainer": mapped}
    if (component.get("multinode") or {}).get("nodeCount") is not None:
        service["multinode"] = {"nodeCount": component["multinode"]["nodeCount"]}
    metadata = (component.get("podTemplate") or {}).get("metadata") or {}
    pod_metadata = _without_none(
        {k: copy.deepcopy(metadata.get(k)) for k in ("labels", "annotations")}
    )
    if pod_metadata:
        service["extraPodMetadata"] = pod_metadata
    return service


def _claims_to_volumes(component: dict, service: dict) -> dict:
    """A service's claim mounts and node selector in its component's pod template."""
    pod = component["podTemplate"]["spec"]
    selector = (service.get("extraPodSpec") or {}).get("nodeSelector")
    if selector:
        pod["nodeSelector"] = copy.deepcopy(selector)
    mounts = [m for m in service.get("volumeMounts") or [] if m.get("name")]
    if mounts:
        pod["volumes"] = [
            {"name": m["name"], "persistentVolumeClaim": {"claimName": m["name"]}} for m in mounts
        ]
        pod["containers"][0]["volumeMounts"] = [
            {"name": m["name"], "mountPath": m.get("mountPoint") or f"/mnt/{m['name']}"}
            for m in mounts
        ]
    return component


def _claim_volumes(component: dict) -> dict[str, str]:
    """Volume name -> claim name, for the claim volumes of a component's pod template."""
    pod = (component.get("podTemplate") or {}).get("spec") or {}
    return {
        v["name"]: v["persistentVolumeClaim"]["claimName"]
        for v in pod.get("volumes") or []
        if (v.get("persistentVolumeClaim") or {}).get("claimName")
    }


def _claim_names(components: list[dict]) -> list[str]:
    names: list[str] = []
    for component in components:
        for claim in _claim_volumes(component).values():
            if claim not in names:
                names.append(claim)
    return names


def _volumes_to_claims(service: dict, component: dict) -> dict:
    """A component's claim mounts and node selector as v1alpha1 service fields."""
    pod = (component.get("podTemplate") or {}).get("spec") or {}
    if pod.get("nodeSelector"):
        service.setdefault("extraPodSpec", {})["nodeSelector"] = copy.deepcopy(pod["nodeSelector"])
    claims = _claim_volumes(component)
    main = _main_container(pod.get("containers") or [])
    mounts = [
        {"name": claims[m["name"]], "mountPoint": m.get("mountPath")}
        for m in main.get("volumeMounts") or []
        if m.get("name") in claims
    ]
    if mounts:
        service["volumeMounts"] = mounts
    return service


def _as_str(value: object) -> str | None:
    return None if value is None else str(value)


def _status_to_v1beta1(status: dict) -> dict:
    out = {k: copy.deepcopy(v) for k, v in status.items() if k != "services"}
    if "services" in status:
        out["components"] = {
            name: {k: v for k, v in entry.items() if k != "componentName"}
            for name, entry in status["services"].items()
        }
    _rename(out.get("rollingUpdate"), "updatedServices", "updatedComponents")
    return out


def _status_to_v1alpha1(status: dict, deployment: str) -> dict:
    out = {k: copy.deepcopy(v) for k, v in status.items() if k != "components"}
    if "components" in status:
        out["services"] = {
            name: {"componentName": f"{deployment}-{name.lower()}", **entry}
            for name, entry in status["components"].items()
        }
    _rename(out.get("rollingUpdate"), "updatedComponents", "updatedServices")
    return out


def _rename(data: dict | None, old: str, new: str) -> None:
    """Rename a key in place (status.rollingUpdate's list of components or services)."""
    if data and old in data:
        data[new] = data.pop(old)
