"""One view of a DGD's components, whichever API version it is written in."""

from dataclasses import dataclass, field


@dataclass
class Component:
    name: str
    role: str  # frontend, worker, prefill or decode
    replicas: int | None
    image: str | None
    command: list[str] | None
    args: list[str]
    gpus: str | None
    secrets: list[str]
    env: dict[str, str] = field(default_factory=dict)
    requests: dict[str, str] = field(default_factory=dict)
    shared_memory: str | None = None
    working_dir: str | None = None
    mounts: dict[str, str] = field(default_factory=dict)  # claim -> mount path
    node_selector: dict[str, str] = field(default_factory=dict)


def components(manifest: dict) -> dict[str, Component]:
    """The components of a v1alpha1 or v1beta1 manifest, by role (frontend, worker, …)."""
    spec = manifest["spec"]
    found: list[Component] = []
    if manifest["apiVersion"].endswith("/v1beta1"):
        for item in spec["components"]:
            (main,) = [c for c in item["podTemplate"]["spec"]["containers"] if c["name"] == "main"]
            resources = main.get("resources", {})
            found.append(
                Component(
                    name=item["name"],
                    role=item["type"],
                    replicas=item.get("replicas"),
                    image=main.get("image"),
                    command=main.get("command"),
                    args=list(main.get("args", [])),
                    gpus=resources.get("limits", {}).get("nvidia.com/gpu"),
                    secrets=[e["secretRef"]["name"] for e in main.get("envFrom", [])],
                    env={e["name"]: e.get("value") for e in main.get("env", [])},
                    requests=dict(resources.get("requests", {})),
                    shared_memory=item.get("sharedMemorySize"),
                    working_dir=main.get("workingDir"),
                    mounts=_claim_mounts(item["podTemplate"]["spec"], main),
                    node_selector=item["podTemplate"]["spec"].get("nodeSelector", {}),
                )
            )
    else:
        for name, service in spec["services"].items():
            main = service.get("extraPodSpec", {}).get("mainContainer", {})
            resources = service.get("resources", {})
            found.append(
                Component(
                    name=name,
                    role=service.get("subComponentType") or service["componentType"],
                    replicas=service.get("replicas"),
                    image=main.get("image"),
                    command=main.get("command"),
                    args=list(main.get("args", [])),
                    gpus=resources.get("limits", {}).get("gpu"),
                    secrets=[service["envFromSecret"]] if service.get("envFromSecret") else [],
                    env={e["name"]: e.get("value") for e in service.get("envs", [])},
                    requests=_alpha_requests(resources.get("requests", {})),
                    shared_memory=service.get("sharedMemory", {}).get("size"),
                    working_dir=main.get("workingDir"),
                    mounts=_service_mounts(spec, service),
                    node_selector=service.get("extraPodSpec", {}).get("nodeSelector", {}),
                )
            )
    workers = [c for c in found if c.role == "worker"]
    if len(workers) > 1:
        # Dynamo 0.6's disagg_router example leaves subComponentType out: its prefill worker
        # is known by --is-prefill-worker, the other one decodes.
        for worker in workers:
            worker.role = "prefill" if "--is-prefill-worker" in worker.args else "decode"
    by_role = {c.role: c for c in found}
    assert len(by_role) == len(found), "two components share a role"
    return by_role


def _claim_mounts(pod: dict, main: dict) -> dict[str, str]:
    claims = {
        v["name"]: v["persistentVolumeClaim"]["claimName"]
        for v in pod.get("volumes", [])
        if "persistentVolumeClaim" in v
    }
    return {
        claims[m["name"]]: m["mountPath"]
        for m in main.get("volumeMounts", [])
        if m["name"] in claims
    }


def _service_mounts(spec: dict, service: dict) -> dict[str, str]:
    declared = {p["name"] for p in spec.get("pvcs", [])}
    mounts = {m["name"]: m.get("mountPoint") for m in service.get("volumeMounts", [])}
    assert set(mounts) <= declared, "a service mounts a claim spec.pvcs does not name"
    return mounts


def _alpha_requests(requests: dict) -> dict[str, str]:
    """v1alpha1 requests with the `custom` resource names alongside cpu and memory."""
    flat = {k: v for k, v in requests.items() if k != "custom"}
    flat.update(requests.get("custom", {}))
    return flat


def flag_value(args: list[str], flag: str) -> str | None:
    """The value after `flag` in an argument list, or None."""
    if flag in args:
        index = args.index(flag)
        return args[index + 1] if index + 1 < len(args) else ""
    return None
