"""How much GPU memory a worker needs, and whether the cluster's nodes have room (pure).

The estimate, per GPU of one worker with tensor-parallel size TP:

    need = (params x bytes_per_param / TP
            + kv_bytes_per_token x context_length / TP
            + RUNTIME_OVERHEAD) / GPU_MEMORY_UTILIZATION

- Weights: parameters x bytes per parameter (2 for BF16/FP16, 1 for FP8, 0.5 for 4-bit),
  split evenly over the TP ranks (Dynamo's sizing facts, ../shared/dynamo/README.md).
- KV cache: room for one sequence of the full context length, which is what vLLM checks at
  start-up ("the model's max seq len is larger than the maximum number of tokens that can be
  stored in KV cache"). Per token a GQA model keeps 2 (K and V) x layers x KV heads x head
  dim x bytes; Llama 3 8B (32 x 8 x 128) needs 128 KiB in BF16 and Llama 3 70B (80 layers)
  320 KiB. Without the architecture at hand, KV_BYTES_PER_TOKEN_8B x (params / 8 B) ** 0.4
  follows those shapes (and Qwen3's and Qwen2.5's) within about 20 %.
- Runtime: CUDA context, activations and CUDA graphs, about 2 GB per GPU.
- Engines only use part of each GPU: vLLM's `--gpu-memory-utilization` defaults to 0.9.

Nodes: allocatable `nvidia.com/gpu` minus the GPUs requested by pods bound to the node that
have not finished; GPU memory from the `nvidia.com/gpu.memory` label (MiB, set by NVIDIA GPU
feature discovery) and the model from `nvidia.com/gpu.product`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from catalog.weights import BYTES_PER_PARAMETER, WEIGHT_FORMATS

GPU_RESOURCE = "nvidia.com/gpu"
GPU_MEMORY_LABEL = "nvidia.com/gpu.memory"
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"

DTYPE_LABELS = WEIGHT_FORMATS
# vLLM's default --gpu-memory-utilization: the share of each GPU the engine may use.
GPU_MEMORY_UTILIZATION = 0.9
RUNTIME_OVERHEAD = 2e9
# Llama 3 8B in BF16: 2 x 32 layers x 8 KV heads x 128 dims x 2 bytes.
KV_BYTES_PER_TOKEN_8B = 2 * 32 * 8 * 128 * 2
KV_SCALING_EXPONENT = 0.4
TP_SIZES = (1, 2, 4, 8)
GB = 1e9
MIB = 1024 * 1024


@dataclass(frozen=True)
class Estimate:
    """GPU memory one worker needs on each of its GPUs, and what it is made of (bytes)."""

    parameters_billions: float
    dtype: str
    context_length: int
    tensor_parallel_size: int
    weights: float
    kv_cache: float
    runtime: float

    @property
    def per_gpu(self) -> float:
        return (self.weights + self.kv_cache + self.runtime) / GPU_MEMORY_UTILIZATION

    @property
    def per_gpu_gb(self) -> float:
        return self.per_gpu / GB

    def explain(self) -> str:
        """The arithmetic, in words a person can check."""
        split = f", ÷ TP {self.tensor_parallel_size}" if self.tensor_parallel_size > 1 else ""
        return (
            f"{_gb(self.weights)} weights ({self.parameters_billions:g} B parameters × "  # noqa: RUF001
            f"{BYTES_PER_PARAMETER[self.dtype]:g} bytes, {DTYPE_LABELS[self.dtype]}{split})"
            f" + {_gb(self.kv_cache)} KV cache for one {self.context_length:,}-token sequence"
            f" + {_gb(self.runtime)} runtime, ÷ {GPU_MEMORY_UTILIZATION:g} usable"
        )


def kv_bytes_per_token(*, parameters_billions: float, dtype: str = "bf16") -> float:
    """The KV cache one token needs, estimated from the parameter count (see the module doc).

    The cache is kept in BF16 whatever the weights' format (engines' default KV dtype).
    """
    scale = (max(parameters_billions, 0.001) / 8) ** KV_SCALING_EXPONENT
    return KV_BYTES_PER_TOKEN_8B * scale


def estimate(
    *,
    parameters_billions: float,
    context_length: int,
    tensor_parallel_size: int,
    dtype: str = "bf16",
) -> Estimate:
    """The GPU memory per GPU of one worker (see the formula in the module doc)."""
    tp = max(tensor_parallel_size, 1)
    weights = parameters_billions * 1e9 * BYTES_PER_PARAMETER[dtype] / tp
    kv = kv_bytes_per_token(parameters_billions=parameters_billions, dtype=dtype)
    return Estimate(
        parameters_billions=parameters_billions,
        dtype=dtype,
        context_length=context_length,
        tensor_parallel_size=tp,
        weights=weights,
        kv_cache=kv * context_length / tp,
        runtime=RUNTIME_OVERHEAD,
    )


# --- the cluster's GPU nodes ------------------------------------------------------------------


@dataclass(frozen=True)
class GpuNode:
    name: str
    product: str
    memory_mib: int | None
    allocatable: int
    requested: int

    @property
    def free(self) -> int:
        return max(self.allocatable - self.requested, 0)

    @property
    def memory(self) -> float | None:
        return self.memory_mib * MIB if self.memory_mib else None

    @property
    def label(self) -> str:
        return gpu_label(self.product, self.memory_mib)


def _int(value: object) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return 0


def gpu_label(product: str, memory_mib: int | None) -> str:
    """A short GPU name: NVIDIA-H100-80GB-HBM3 -> "H100 80GB"; NVIDIA-L40S -> "L40S 48GB"."""
    parts = [part for part in re.split(r"[-_ ]+", product or "") if part]
    parts = [part for part in parts if part.upper() not in ("NVIDIA", "TESLA", "GEFORCE")]
    name = parts[0] if parts else "GPU"
    size = next((part.upper() for part in parts if re.fullmatch(r"\d+GB", part, re.I)), "")
    if not size and memory_mib:
        size = f"{round(memory_mib * MIB / GB)}GB"
    return f"{name} {size}".strip()


def gpu_nodes(nodes: list[dict], pods: list[dict]) -> list[GpuNode]:
    """The nodes that advertise GPUs, with the GPUs requested by the pods bound to each."""
    requested: dict[str, int] = {}
    for pod in pods:
        spec = pod.get("spec") or {}
        node = spec.get("nodeName")
        phase = (pod.get("status") or {}).get("phase")
        if not node or phase in ("Succeeded", "Failed"):
            continue
        for container in spec.get("containers") or []:
            resources = container.get("resources") or {}
            # Extended resources are requested through limits; requests equal them when set.
            amount = (resources.get("requests") or {}).get(GPU_RESOURCE) or (
                resources.get("limits") or {}
            ).get(GPU_RESOURCE)
            requested[node] = requested.get(node, 0) + _int(amount)
    result = []
    for node in nodes:
        meta, status = node.get("metadata") or {}, node.get("status") or {}
        allocatable = _int((status.get("allocatable") or {}).get(GPU_RESOURCE, 0))
        if allocatable <= 0:
            continue
        labels = meta.get("labels") or {}
        result.append(
            GpuNode(
                name=meta.get("name", ""),
                product=labels.get(GPU_PRODUCT_LABEL, ""),
                memory_mib=_int(labels.get(GPU_MEMORY_LABEL)) or None,
                allocatable=allocatable,
                requested=requested.get(meta.get("name", ""), 0),
            )
        )
    return result


# --- the fit ----------------------------------------------------------------------------------


# What a fit can be: fits now; room for some workers now; no room right now (it would fit
# on this cluster once GPUs are freed); can never fit on this cluster as it is; not checked.
FITS, PARTIAL, BUSY, NEVER, UNKNOWN = "fits", "partial", "busy", "never", "unknown"


@dataclass(frozen=True)
class Fit:
    """Whether one worker role fits: status is fits, partial, busy, never or unknown."""

    role: str
    status: str
    message: str
    estimate: Estimate | None = None
    replicas: int = 1

    @property
    def ok(self) -> bool:
        return self.status == FITS


def _memory_ok(node: GpuNode, need: float) -> bool:
    # Without the feature-discovery label the memory is unknown: count on the GPU count only.
    return node.memory is None or node.memory >= need


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _nodes_have(nodes: list[GpuNode]) -> str:
    """ "2 nodes have 8 free H100 80GB; 1 node has 3 free L40S 48GB", most nodes first."""
    groups: dict[tuple[int, str], int] = {}
    for node in nodes:
        groups[(node.free, node.label)] = groups.get((node.free, node.label), 0) + 1
    ordered = sorted(groups.items(), key=lambda item: (-item[1], -item[0][0], item[0][1]))
    return "; ".join(
        f"{_plural(count, 'node')} {'has' if count == 1 else 'have'} {free} free {label}"
        for (free, label), count in ordered
    )


def _largest(nodes: list[GpuNode]) -> GpuNode:
    return max(nodes, key=lambda node: (node.allocatable, node.memory or 0))


def fit(
    *,
    role: str,
    parameters_billions: float,
    context_length: int,
    tensor_parallel_size: int,
    replicas: int,
    nodes: list[GpuNode],
    dtype: str = "bf16",
) -> Fit:
    """Whether `replicas` workers of this TP fit on the nodes' free GPUs, said plainly."""
    tp = tensor_parallel_size
    need = estimate(
        parameters_billions=parameters_billions,
        context_length=context_length,
        tensor_parallel_size=tp,
        dtype=dtype,
    )
    gpus = _plural(tp, "GPU")

    def result(status: str, message: str) -> Fit:
        return Fit(role=role, status=status, message=message, estimate=need, replicas=replicas)

    if not nodes:
        return result(NEVER, f"Can never fit on this cluster: no node advertises {GPU_RESOURCE}.")
    roomy = [node for node in nodes if _memory_ok(node, need.per_gpu)]
    if not roomy:
        why = _needs_more_tp(need, nodes, parameters_billions, context_length, dtype)
        return result(
            NEVER, f"Can never fit on this cluster at TP {tp}: {why[:1].lower()}{why[1:]}"
        )
    big_enough = [node for node in roomy if node.allocatable >= tp]
    if not big_enough:
        largest = _largest(roomy)
        return result(
            NEVER,
            f"Can never fit on this cluster: a worker needs {gpus} on one node, and the "
            f"largest node has {largest.allocatable} {largest.label}.",
        )
    capacity = sum(node.allocatable // tp for node in big_enough)
    if capacity < replicas:
        return result(
            NEVER,
            f"Can never fit on this cluster: its nodes hold at most {capacity} of "
            f"{replicas} workers with {gpus} each, even with every GPU free.",
        )
    candidates = [node for node in big_enough if node.free >= tp]
    if not candidates:
        most = max(big_enough, key=lambda node: node.free)
        return result(
            BUSY,
            f"No room right now: a worker needs {gpus} free on one node, and the most free "
            f"on any node is {most.free} (of {most.allocatable} {most.label}); other pods "
            "use the rest. It stays Pending until GPUs are freed.",
        )
    room = sum(node.free // tp for node in candidates)
    where = _nodes_have(candidates)
    if room >= replicas:
        return result(FITS, f"Fits: {where}.")
    return result(
        PARTIAL,
        f"Room for {room} of {replicas} workers now: {where}. The rest stay Pending until "
        "GPUs are freed.",
    )


def _needs_more_tp(
    need: Estimate,
    nodes: list[GpuNode],
    parameters_billions: float,
    context_length: int,
    dtype: str,
) -> str:
    """Why no GPU is big enough, and the smallest TP that would make one big enough."""
    products: dict[str, GpuNode] = {}
    for node in nodes:
        current = products.get(node.label)
        if current is None or node.allocatable > current.allocatable:
            products[node.label] = node
    suggestions = []
    for label, node in sorted(products.items(), key=lambda item: -(item[1].memory or 0)):
        for tp in TP_SIZES:
            if tp <= need.tensor_parallel_size or tp > node.allocatable:
                continue
            at_tp = estimate(
                parameters_billions=parameters_billions,
                context_length=context_length,
                tensor_parallel_size=tp,
                dtype=dtype,
            )
            if _memory_ok(node, at_tp.per_gpu):
                suggestions.append(f"TP {tp} on {label}")
                break
    largest = max(nodes, key=lambda node: node.memory or 0)
    if suggestions:
        return (
            f"Needs at least {' or '.join(suggestions)}: each GPU needs about "
            f"{_gb(need.per_gpu)} at TP {need.tensor_parallel_size}, more than one "
            f"{largest.label} holds."
        )
    return (
        f"Too large for these GPUs: each needs about {_gb(need.per_gpu)} at TP "
        f"{need.tensor_parallel_size}, and no node has enough GPUs of {largest.label} for a "
        "larger TP. Shorten the context length or use a quantized model."
    )


def _pack(fits: list[Fit], free: dict[str, int], nodes: list[GpuNode]) -> bool:
    """Whether every worker of every role finds a node, widest first, fullest node first."""
    by_name = {node.name: node for node in nodes}
    free = dict(free)
    workers = sorted(
        (
            (f.estimate.tensor_parallel_size, f.estimate.per_gpu)
            for f in fits
            if f.estimate
            for _ in range(f.replicas)
        ),
        reverse=True,
    )
    for tp, need in workers:
        options = [
            name for name, count in free.items() if count >= tp and _memory_ok(by_name[name], need)
        ]
        if not options:
            return False
        chosen = min(options, key=lambda name: free[name])
        free[chosen] -= tp
    return True


@dataclass(frozen=True)
class Verdict:
    """The fit of the whole deployment, said first: fits, partial, busy or never."""

    status: str
    message: str


def verdict(fits: list[Fit], nodes: list[GpuNode]) -> Verdict:
    """One sentence for every role together: fits now, no room right now, or never fits."""
    total = sum(f.estimate.tensor_parallel_size * f.replicas for f in fits if f.estimate)
    never = [f.role for f in fits if f.status == NEVER]
    if never:
        return Verdict(
            NEVER,
            f"Can never fit on this cluster: the {' and '.join(never)} workers cannot be "
            "placed (see below).",
        )
    if not _pack(fits, {node.name: node.allocatable for node in nodes}, nodes):
        return Verdict(
            NEVER,
            f"Can never fit on this cluster: together the workers need {total} GPUs, more "
            "than its nodes can hold at once even with every GPU free.",
        )
    if all(f.ok for f in fits) and _pack(fits, {node.name: node.free for node in nodes}, nodes):
        return Verdict(FITS, f"Fits: all {total} GPUs of the workers are free now.")
    waiting = [f.role for f in fits if not f.ok] or [f.role for f in fits]
    return Verdict(
        BUSY,
        f"No room right now: together the workers need {total} GPUs and the free GPUs cannot "
        f"hold all of them at once ({' and '.join(waiting)} would wait). They fit on this "
        "cluster once GPUs are freed.",
    )


def _gb(value: float) -> str:
    return f"{math.ceil(value / GB * 10) / 10:g} GB"
