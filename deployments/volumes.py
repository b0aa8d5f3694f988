"""Where a deployment's weights live and which GPUs it runs on (pure, no I/O).

- **Model cache**: an existing PersistentVolumeClaim mounted at /opt/models on the frontend and
  every worker, with HF_HOME=/opt/models, so the weights are downloaded once and shared (as
  upstream's recipes do). v1alpha1 names it in `spec.pvcs` (`create: false`) and mounts it per
  service with `volumeMounts`; v1beta1 uses ordinary `volumes`/`volumeMounts` in each
  component's pod template.
- **Without a cache** each worker downloads the weights into its container's writable layer:
  it requests `ephemeral-storage` for them, the weights' size x 1.2 rounded up to whole Gi, so
  the scheduler puts it on a node with room and the kubelet does not evict it mid-download.
- **GPU type**: a chosen `nvidia.com/gpu.product` becomes the workers' node selector.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

from catalog.weights import BYTES_PER_PARAMETER

MODEL_CACHE_MOUNT = "/opt/models"
MODEL_CACHE_VOLUME = "model-cache"
HF_HOME = "HF_HOME"
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"
# Room on top of the weights for the download's temporary files and the tokenizer.
STORAGE_HEADROOM = 1.2
GI = 1024**3
SHARED = "ReadWriteMany"


def weights_bytes(*, parameters_billions: float, weight_format: str) -> float:
    """The size of the weights on disk: parameters x bytes per parameter of their format."""
    per_parameter = BYTES_PER_PARAMETER.get(weight_format, BYTES_PER_PARAMETER["bf16"])
    return parameters_billions * 1e9 * per_parameter


def weights_storage(*, parameters_billions: float, weight_format: str) -> str:
    """Disk for one copy of the weights: their size x 1.2, rounded up to whole Gi (at least 1)."""
    size = weights_bytes(parameters_billions=parameters_billions, weight_format=weight_format)
    return f"{max(1, math.ceil(size * STORAGE_HEADROOM / GI))}Gi"


# --- what the cluster has ---------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A PersistentVolumeClaim as the deploy form needs it."""

    name: str
    access_modes: tuple[str, ...] = ()
    phase: str = ""
    capacity: str = ""

    @property
    def shared(self) -> bool:
        return SHARED in self.access_modes

    @property
    def label(self) -> str:
        details = ", ".join(part for part in (", ".join(self.access_modes), self.capacity) if part)
        return f"{self.name} ({details})" if details else self.name


def claim_from_object(obj: dict) -> Claim:
    """A Claim read off a PersistentVolumeClaim object."""
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    capacity = (status.get("capacity") or {}).get("storage") or (
        (spec.get("resources") or {}).get("requests") or {}
    ).get("storage", "")
    return Claim(
        name=(obj.get("metadata") or {}).get("name", ""),
        access_modes=tuple(status.get("accessModes") or spec.get("accessModes") or ()),
        phase=status.get("phase", ""),
        capacity=str(capacity or ""),
    )


@dataclass(frozen=True)
class ClaimListing:
    """The claims of one namespace, or None with the reason when they could not be listed."""

    namespace: str
    claims: dict[str, Claim] | None
    note: str = ""


@dataclass(frozen=True)
class GpuProducts:
    """GPU products on the cluster's nodes with their GPU and node counts, or why unknown."""

    products: dict[str, tuple[int, int]] | None  # product -> (GPUs, nodes)
    note: str = ""

    def label(self, product: str) -> str:
        gpus, nodes = (self.products or {}).get(product, (0, 0))
        gpu_word = "GPU" if gpus == 1 else "GPUs"
        node_word = "node" if nodes == 1 else "nodes"
        return f"{product} ({gpus} {gpu_word} on {nodes} {node_word})"


def gpu_products(nodes: list[dict]) -> dict[str, tuple[int, int]]:
    """Per `nvidia.com/gpu.product` label, the allocatable GPUs and the nodes that carry it."""
    found: dict[str, tuple[int, int]] = {}
    for node in nodes:
        product = ((node.get("metadata") or {}).get("labels") or {}).get(GPU_PRODUCT_LABEL)
        if not product:
            continue
        allocatable = ((node.get("status") or {}).get("allocatable") or {}).get("nvidia.com/gpu")
        try:
            gpus = int(str(allocatable or 0))
        except ValueError:
            gpus = 0
        had_gpus, had_nodes = found.get(product, (0, 0))
        found[product] = (had_gpus + gpus, had_nodes + 1)
    return dict(sorted(found.items()))


# --- checks -----------------------------------------------------------------------------------


def pods_mounting(config: Any) -> int:
    """How many pods mount the cache: the frontend and every worker replica."""
    roles = ["prefill", "decode"] if config.disaggregated else ["worker"]
    return 1 + sum(config.role_replicas(role) for role in roles)


def cluster_errors(
    config: Any, *, claims: ClaimListing | None, products: GpuProducts | None
) -> dict[str, list[str]]:
    """Field errors the cluster confirms: a claim or a GPU product that is not there."""
    errors: dict[str, list[str]] = {}
    name = config.model_cache
    if (
        name
        and claims is not None
        and claims.claims is not None
        and claims.namespace == config.namespace
        and name not in claims.claims
    ):
        known = ", ".join(sorted(claims.claims)) or "none"
        errors["modelCache"] = [
            f"No PersistentVolumeClaim {name} in namespace {config.namespace} (it has: {known}). "
            "Choose one of them, create the claim first, or leave the cache empty."
        ]
    product = config.gpu_product
    if (
        product
        and products is not None
        and products.products is not None
        and product not in products.products
    ):
        known = ", ".join(products.products) or "none"
        errors["gpuProduct"] = [
            f"No node has {GPU_PRODUCT_LABEL}={product} (the cluster has: {known}); "
            "the workers would stay Pending. Choose one of these, or any GPU."
        ]
    return errors


@dataclass(frozen=True)
class CacheCheck:
    """What the deploy form says about the chosen model cache."""

    status: str  # "found", "warning", "unknown", "none"
    message: str
    command: str = ""


def cache_check(
    config: Any, *, claims: ClaimListing | None, storage: str, command: str
) -> CacheCheck:
    """The chosen claim against the namespace's claims; a warning carries the fix."""
    name = config.model_cache
    if not name:
        return CacheCheck(
            "none",
            f"No model cache: every worker downloads the weights and requests {storage} of "
            "ephemeral storage for them.",
        )
    if claims is None or claims.claims is None:
        note = claims.note if claims is not None else ""
        return CacheCheck("unknown", f"The claim {name} could not be checked. {note}".strip())
    claim = claims.claims.get(name)
    pods = pods_mounting(config)
    if claim is None:
        return CacheCheck(
            "warning",
            f"PersistentVolumeClaim {name} does not exist in namespace {config.namespace}: "
            f"the pods would wait for it. Create it (ReadWriteMany, {storage} or more) with:",
            command,
        )
    if not claim.shared and pods > 1:
        modes = ", ".join(claim.access_modes) or "no access mode"
        return CacheCheck(
            "warning",
            f"{name} is {modes}, but {pods} pods mount it (the frontend and every worker): "
            "pods on other nodes cannot attach it and stay ContainerCreating. "
            "Use a ReadWriteMany claim, e.g.:",
            command,
        )
    return CacheCheck(
        "found",
        f"{name} ({', '.join(claim.access_modes)}) is mounted at {MODEL_CACHE_MOUNT} on all "
        f"{pods} pods, with {HF_HOME}={MODEL_CACHE_MOUNT}.",
    )


# --- the manifest -----------------------------------------------------------------------------

_WORKER_TYPES = ("worker", "prefill", "decode")


def with_storage(spec: dict, config: Any, *, ephemeral_storage: str) -> dict:
    """The spec with the model cache (or ephemeral storage) and the GPU type applied."""
    spec = copy.deepcopy(spec)
    if config.api_version == "v1alpha1":
        return _v1alpha1(spec, config, ephemeral_storage)
    return _v1beta1(spec, config, ephemeral_storage)


def _hf_home(env: list[dict] | None) -> list[dict]:
    return [*(env or []), {"name": HF_HOME, "value": MODEL_CACHE_MOUNT}]


def _v1beta1(spec: dict, config: Any, ephemeral_storage: str) -> dict:
    for component in spec.get("components") or []:
        worker = component.get("type") in _WORKER_TYPES
        pod = component.setdefault("podTemplate", {}).setdefault("spec", {})
        main = pod["containers"][0]
        if config.model_cache:
            pod["volumes"] = [
                {
                    "name": MODEL_CACHE_VOLUME,
                    "persistentVolumeClaim": {"claimName": config.model_cache},
                }
            ]
            main["env"] = _hf_home(main.get("env"))
            main["volumeMounts"] = [{"name": MODEL_CACHE_VOLUME, "mountPath": MODEL_CACHE_MOUNT}]
        elif worker:
            requests = main.setdefault("resources", {}).setdefault("requests", {})
            requests["ephemeral-storage"] = ephemeral_storage
        if worker and config.gpu_product:
            pod["nodeSelector"] = {GPU_PRODUCT_LABEL: config.gpu_product}
    return spec


def _v1alpha1(spec: dict, config: Any, ephemeral_storage: str) -> dict:
    if config.model_cache:
        spec["pvcs"] = [{"name": config.model_cache, "create": False}]
    for service in (spec.get("services") or {}).values():
        worker = service.get("componentType") == "worker"
        if config.model_cache:
            service["envs"] = _hf_home(service.get("envs"))
            service["volumeMounts"] = [
                {"name": config.model_cache, "mountPoint": MODEL_CACHE_MOUNT}
            ]
        elif worker:
            # Dynamo 0.6's resources take other resource names under `custom`.
            requests = service.setdefault("resources", {}).setdefault("requests", {})
            requests.setdefault("custom", {})["ephemeral-storage"] = ephemeral_storage
        if worker and config.gpu_product:
            service.setdefault("extraPodSpec", {})["nodeSelector"] = {
                GPU_PRODUCT_LABEL: config.gpu_product
            }
    return spec


__all__ = [
    "GPU_PRODUCT_LABEL",
    "MODEL_CACHE_MOUNT",
    "CacheCheck",
    "Claim",
    "ClaimListing",
    "GpuProducts",
    "cache_check",
    "claim_from_object",
    "cluster_errors",
    "gpu_products",
    "pods_mounting",
    "weights_storage",
    "with_storage",
]
