"""The cluster's GPU capacity: each GPU node, who holds its GPUs, totals per GPU product, and
deployments that hold GPUs while they are not Ready (e.g. prefill Running, decode Pending).

Built from the shared cache's reads (`selectors.gpu_usage`, `selectors.deployment_list`), so
opening the page costs the cluster nothing the dashboard has not read already.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from deployments import selectors, sizing
from deployments.cluster import ClusterError
from deployments.status import READY

DGD_LABEL = "nvidia.com/dynamo-graph-deployment-name"


@dataclass(frozen=True)
class Holder:
    """The GPUs one deployment's pods (or other pods) hold on one node."""

    namespace: str
    name: str  # "" for pods no deployment owns, or a namespace the viewer may not see
    gpus: int
    pods: int
    status: str = ""  # the deployment's status (Ready, Pending, …)
    flagged: bool = False  # holds GPUs while not Ready

    @property
    def label(self) -> str:
        if not self.namespace:
            return "pods in a namespace you cannot see"
        return f"{self.namespace}/{self.name}" if self.name else f"other pods in {self.namespace}"

    def as_json(self) -> dict:
        return {
            "namespace": self.namespace,
            "deployment": self.name,
            "gpus": self.gpus,
            "pods": self.pods,
            "status": self.status,
            "flagged": self.flagged,
        }


@dataclass(frozen=True)
class NodeCapacity:
    name: str
    product: str
    gpu: str  # short name, e.g. "H100 80GB"
    memory_mib: int | None
    allocatable: int
    used: int
    holders: tuple[Holder, ...]

    @property
    def free(self) -> int:
        return max(self.allocatable - self.used, 0)

    def as_json(self) -> dict:
        return {
            "name": self.name,
            "gpuProduct": self.product,
            "gpu": self.gpu,
            "gpuMemoryMiB": self.memory_mib,
            "allocatable": self.allocatable,
            "used": self.used,
            "free": self.free,
            "holders": [h.as_json() for h in self.holders],
        }


@dataclass(frozen=True)
class ProductTotal:
    product: str
    gpu: str
    nodes: int
    allocatable: int
    used: int

    @property
    def free(self) -> int:
        return max(self.allocatable - self.used, 0)

    def as_json(self) -> dict:
        return {
            "gpuProduct": self.product,
            "gpu": self.gpu,
            "nodes": self.nodes,
            "allocatable": self.allocatable,
            "used": self.used,
            "free": self.free,
        }


@dataclass(frozen=True)
class Stuck:
    """A deployment holding GPUs while it is not Ready."""

    namespace: str
    name: str
    status: str
    held: int  # GPUs its scheduled pods hold
    waiting: int  # GPUs its unscheduled pods ask for

    @property
    def sentence(self) -> str:
        held = f"holds {self.held} GPU{'s' if self.held != 1 else ''} while {self.status}"
        if self.waiting:
            return f"{held}: its pending pods need {self.waiting} more."
        return f"{held}."

    def as_json(self) -> dict:
        return {
            "namespace": self.namespace,
            "deployment": self.name,
            "status": self.status,
            "heldGpus": self.held,
            "waitingGpus": self.waiting,
            "message": self.sentence,
        }


@dataclass
class Capacity:
    nodes: list[NodeCapacity] = field(default_factory=list)
    totals: list[ProductTotal] = field(default_factory=list)
    stuck: list[Stuck] = field(default_factory=list)
    error: ClusterError | None = None

    def as_json(self) -> dict:
        return {
            "nodes": [n.as_json() for n in self.nodes],
            "totals": [t.as_json() for t in self.totals],
            "notReadyHoldingGpus": [s.as_json() for s in self.stuck],
            "error": self.error.message if self.error else None,
        }


def _gpus(pod: dict) -> int:
    total = 0
    for container in (pod.get("spec") or {}).get("containers") or []:
        resources = container.get("resources") or {}
        amount = (resources.get("requests") or {}).get(sizing.GPU_RESOURCE) or (
            resources.get("limits") or {}
        ).get(sizing.GPU_RESOURCE)
        total += sizing._int(amount)
    return total


def capacity(*, may_see: Callable[[str], bool]) -> Capacity:
    """Every GPU node with its holders, the totals, and deployments stuck holding GPUs.

    `may_see(namespace)`: whether the viewer may see that namespace's deployments by name.
    """
    nodes, pods = selectors.gpu_usage()
    listing = selectors.deployment_list(namespace=None)
    status = {(r.namespace, r.name): r.badge for r in listing.rows}
    held: dict[str, dict[tuple[str, str], list[int]]] = {}
    waiting: dict[tuple[str, str], int] = {}
    for pod in pods:
        gpus = _gpus(pod)
        phase = (pod.get("status") or {}).get("phase")
        if gpus <= 0 or phase in ("Succeeded", "Failed"):
            continue
        meta = pod.get("metadata") or {}
        key = (meta.get("namespace", ""), (meta.get("labels") or {}).get(DGD_LABEL, ""))
        node = (pod.get("spec") or {}).get("nodeName")
        if not node:
            waiting[key] = waiting.get(key, 0) + gpus
            continue
        counts = held.setdefault(node, {}).setdefault(key, [0, 0])
        counts[0] += gpus
        counts[1] += 1
    result = Capacity(error=listing.error)
    by_deployment: dict[tuple[str, str], int] = {}
    for node in sorted(sizing.gpu_nodes(nodes, pods), key=lambda n: (n.product, n.name)):
        holders = []
        for (namespace, name), (gpus, count) in sorted(held.get(node.name, {}).items()):
            badge = status.get((namespace, name))
            label = badge.label if badge and name else ""
            flagged = bool(badge and name and badge.key != READY)
            if name:
                by_deployment[(namespace, name)] = by_deployment.get((namespace, name), 0) + gpus
            if not may_see(namespace):
                namespace, name, label, flagged = "", "", "", False
            holders.append(Holder(namespace, name, gpus, count, label, flagged))
        result.nodes.append(
            NodeCapacity(
                name=node.name,
                product=node.product,
                gpu=node.label,
                memory_mib=node.memory_mib,
                allocatable=node.allocatable,
                used=min(node.requested, node.allocatable),
                holders=tuple(holders),
            )
        )
    products: dict[str, list[NodeCapacity]] = {}
    for node in result.nodes:
        products.setdefault(node.product, []).append(node)
    result.totals = [
        ProductTotal(
            product=product,
            gpu=group[0].gpu,
            nodes=len(group),
            allocatable=sum(n.allocatable for n in group),
            used=sum(n.used for n in group),
        )
        for product, group in sorted(products.items())
    ]
    for (namespace, name), gpus in sorted(by_deployment.items()):
        badge = status.get((namespace, name))
        if badge is None or badge.key == READY or not may_see(namespace):
            continue
        result.stuck.append(
            Stuck(namespace, name, badge.label, gpus, waiting.get((namespace, name), 0))
        )
    return result
