"""What a DGD's status means to a person: badge, replica counts, age, why it is not ready.

Pure functions over the plain dicts the cluster module returns; no I/O.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from deployments import snippets

DGD_LABEL = "nvidia.com/dynamo-graph-deployment-name"
COMPONENT_LABEL = "nvidia.com/dynamo-component"
GPU = "nvidia.com/gpu"

READY, DEPLOYING, PENDING, FAILED, DELETING, UNKNOWN = (
    "ready",
    "deploying",
    "pending",
    "failed",
    "deleting",
    "unknown",
)
# Sorting by status puts what needs attention first.
STATUS_ORDER = {FAILED: 0, PENDING: 1, DEPLOYING: 2, DELETING: 3, UNKNOWN: 4, READY: 5}
_LABELS = {
    READY: "Ready",
    DEPLOYING: "Deploying",
    PENDING: "Pending",
    FAILED: "Failed",
    DELETING: "Deleting",
    UNKNOWN: "Unknown",
}
# Container waiting reasons that will not clear up by themselves.
_BROKEN = {
    "CreateContainerConfigError",
    "CreateContainerError",
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CrashLoopBackOff",
}
# The Ready condition's reasons: Dynamo 1.5's operator, and older spellings.
_NO_CAPACITY = {"insufficient_capacity", "Unschedulable"}
_PROGRESSING = {
    "updating": "Rolling out a new version of its pods.",
    "pods_not_ready": "Its pods are starting.",
    "mixed_not_ready_reasons": "Some pods are starting, others wait for room.",
    "some_resources_are_not_ready": "The operator is creating its resources.",
}
_IMAGE_PULL = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName"}
# The kubelet wraps the last pull error in its back-off message; the error alone says why.
_PULL_BACKOFF = re.compile(r'^Back-off pulling image "[^"]*": (?:ErrImagePull: )?(?=.)')
_SECRET_MISSING = re.compile(r'secret "([^"]+)" not found', re.IGNORECASE)
_SECRET_KEY_MISSING = re.compile(r"couldn't find key (\S+) in Secret ([^/\s]+)/(\S+)")


@dataclass(frozen=True)
class Badge:
    """The DeploymentStatusBadge: a state, its label and, when blocked, the reason."""

    key: str
    reason: str = ""

    @property
    def label(self) -> str:
        return _LABELS[self.key]


@dataclass(frozen=True)
class Reason:
    """Why a deployment is not ready: one sentence, and what helps act on it."""

    sentence: str
    command: str = ""
    log_lines: list[str] = field(default_factory=list)
    log_pod: str = ""


# --- small readers ----------------------------------------------------------------------------


def _condition(obj: dict, kind: str) -> dict | None:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return condition
    return None


def _main_status(pod: dict) -> dict:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    for status in statuses:
        if status.get("name") == "main":
            return status
    return statuses[0] if statuses else {}


def _waiting(pod: dict) -> tuple[str, str]:
    waiting = (_main_status(pod).get("state") or {}).get("waiting") or {}
    return waiting.get("reason", ""), waiting.get("message", "")


def _unschedulable(pod: dict) -> str | None:
    """The scheduler's message when the pod cannot be placed, else None."""
    condition = _condition(pod, "PodScheduled")
    if condition and condition.get("status") == "False":
        return condition.get("message") or condition.get("reason") or "Unschedulable"
    return None


def _terminating(pod: dict) -> bool:
    return bool((pod.get("metadata") or {}).get("deletionTimestamp"))


def pod_ready(pod: dict) -> bool:
    condition = _condition(pod, "Ready")
    return bool(condition and condition.get("status") == "True")


def pod_gpus(pod: dict) -> int:
    total = 0
    for container in (pod.get("spec") or {}).get("containers") or []:
        limits = (container.get("resources") or {}).get("limits") or {}
        try:
            total += int(float(str(limits.get(GPU, 0))))
        except ValueError:
            continue
    return total


def parse_time(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


# --- the badge --------------------------------------------------------------------------------


def deployment_status(dgd: dict | None, *, pods: list[dict] = ()) -> Badge:
    """The DeploymentStatusBadge of a DGD (None: the DGD is gone but its pods remain)."""
    if dgd is None or (dgd.get("metadata") or {}).get("deletionTimestamp"):
        return Badge(DELETING, "Its pods are being removed.")
    status = dgd.get("status") or {}
    state = status.get("state", "")
    ready = _condition(dgd, "Ready")
    message = (ready or {}).get("message", "")
    if (ready and ready.get("status") == "True") or state == "successful":
        return Badge(READY)
    live = [pod for pod in pods if not _terminating(pod)]
    broken = next((pod for pod in live if _waiting(pod)[0] in _BROKEN), None)
    if state == "failed" or broken is not None:
        if broken is not None and not message:
            reason, detail = _waiting(broken)
            message = f"{reason}: {detail}" if detail else reason
        return Badge(FAILED, message)
    blocked = next((_unschedulable(pod) for pod in live if _unschedulable(pod)), None)
    reason = (ready or {}).get("reason", "")
    if blocked or reason in _NO_CAPACITY:
        return Badge(PENDING, blocked or message)
    if not status or state == "initializing":
        return Badge(PENDING, message or "Waiting for the Dynamo operator to create its pods.")
    if state == "pending" or reason in _PROGRESSING:
        return Badge(DEPLOYING, message or _PROGRESSING.get(reason, ""))
    return Badge(UNKNOWN, message or f"The operator reports state {state!r}.")


# --- replica counts ---------------------------------------------------------------------------


_NOT_WORKERS = ("frontend", "planner", "epp")
ROLE_ORDER = ("prefill", "decode", "worker")


def _spec_components(dgd: dict) -> list[tuple[str, str, int]]:
    """Name, type and desired replicas of each component, in either API version."""
    spec = dgd.get("spec") or {}
    if isinstance(spec.get("components"), list):
        return [
            (c.get("name", ""), c.get("type", ""), int(c.get("replicas", 1)))
            for c in spec["components"]
        ]
    result = []
    for name, service in (spec.get("services") or {}).items():
        service = service or {}
        kind = service.get("subComponentType") or service.get("componentType") or ""
        if not kind and name.lower() == "frontend":
            kind = "frontend"
        result.append((name, kind, int(service.get("replicas", 1))))
    return result


def component_replicas(dgd: dict, *, pods: list[dict] | None = None) -> list[dict]:
    """Per component: name, type, ready and desired replicas.

    Dynamo 1.x reports counts per component in the status; 0.6's status has none (its
    schema has only state and conditions), so the ready count comes from the pods.
    """
    status = dgd.get("status") or {}
    counts = status.get("components") or status.get("services")
    if isinstance(counts, list):
        counts = {item.get("name", ""): item for item in counts}
    if counts is None and pods is not None:
        counts = _ready_pods_by_component(pods)
    result = []
    for name, kind, desired in _spec_components(dgd):
        seen = (counts or {}).get(name) or {}
        result.append(
            {
                "name": name,
                "type": kind,
                "ready": int(seen.get("readyReplicas") or 0),
                "desired": int(seen.get("replicas", desired) or 0),
            }
        )
    return result


def _ready_pods_by_component(pods: list[dict]) -> dict[str, dict]:
    counts: dict[str, dict] = {}
    for pod in pods:
        if pod_ready(pod) and not _terminating(pod):
            entry = counts.setdefault(_component(pod), {"readyReplicas": 0})
            entry["readyReplicas"] += 1
    return counts


@dataclass(frozen=True)
class RoleCount:
    """Ready and desired workers of one role: worker (aggregated), prefill or decode."""

    role: str
    ready: int
    desired: int


def worker_replicas(dgd: dict, *, pods: list[dict] | None = None) -> tuple[RoleCount, ...]:
    """The workers per role; the frontend (and planner) serve no model, so they do not count."""
    roles: dict[str, list[int]] = {}
    for component in component_replicas(dgd, pods=pods):
        if component["type"] in _NOT_WORKERS:
            continue
        role = component["type"] if component["type"] in ("prefill", "decode") else "worker"
        counts = roles.setdefault(role, [0, 0])
        counts[0] += component["ready"]
        counts[1] += component["desired"]
    return tuple(
        RoleCount(role, *roles[role])
        for role in sorted(roles, key=lambda role: ROLE_ORDER.index(role))
    )


def workers_text(roles: tuple[RoleCount, ...]) -> str:
    """ "1/1" for one kind of worker; "prefill 1/1 · decode 2/2" when disaggregated."""
    if len(roles) == 1 and roles[0].role == "worker":
        return f"{roles[0].ready}/{roles[0].desired}"
    return " · ".join(f"{r.role} {r.ready}/{r.desired}" for r in roles) or "-"


def replica_counts(dgd: dict, *, pods: list[dict] | None = None) -> tuple[int, int]:
    """Ready and desired workers summed over the roles (the frontend not counted)."""
    roles = worker_replicas(dgd, pods=pods)
    return sum(r.ready for r in roles), sum(r.desired for r in roles)


# --- age --------------------------------------------------------------------------------------


def humanize_age(timestamp: str | datetime | None, *, now: datetime | None = None) -> str:
    """A Kubernetes timestamp as an age people read at a glance: 45s, 12m, 3h, 2d."""
    moment = parse_time(timestamp)
    if moment is None:
        return "-"
    seconds = int(((now or datetime.now(UTC)) - moment).total_seconds())
    if seconds < 60:
        return f"{max(seconds, 0)}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        hours, minutes = divmod(seconds // 60, 60)
        return f"{hours}h{minutes}m" if hours < 6 and minutes else f"{hours}h"
    return f"{seconds // 86400}d"


# --- pods -------------------------------------------------------------------------------------


def pod_phase(pod: dict) -> str:
    """What kubectl prints as the pod's status: Terminating, a waiting reason, or the phase."""
    if _terminating(pod):
        return "Terminating"
    reason, _ = _waiting(pod)
    if reason:
        return reason
    return (pod.get("status") or {}).get("phase", "Unknown")


def pod_reason(pod: dict) -> str:
    """Why a pod is not running yet, in the scheduler's or the kubelet's words ("" if it is)."""
    if _terminating(pod):
        return ""
    blocked = _unschedulable(pod)
    if blocked:
        return blocked
    _, message = _waiting(pod)
    return message


def pod_restarts(pod: dict) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return sum(int(status.get("restartCount") or 0) for status in statuses)


# --- why not ready ----------------------------------------------------------------------------


def _component(pod: dict) -> str:
    return ((pod.get("metadata") or {}).get("labels") or {}).get(COMPONENT_LABEL, "")


def _pods_phrase(pods: list[dict]) -> str:
    """ "the VllmWorker pod", "2 VllmWorker pods", "3 pods of Frontend, VllmWorker"."""
    components = sorted({_component(pod) for pod in pods if _component(pod)})
    what = "/".join(components)
    if len(pods) == 1:
        return f"the {what} pod" if what else "the pod"
    return f"{len(pods)} {what} pods" if what else f"{len(pods)} pods"


def _verb(pods: list[dict], singular: str, plural: str) -> str:
    return singular if len(pods) == 1 else plural


def gpu_shortfall(
    pending: list[dict], *, nodes: list[dict], cluster_pods: list[dict]
) -> tuple[int, int]:
    """GPUs missing to place the pending pods on the nodes as they are; the most free on a node.

    A pod's GPUs must all be on one node: a pod needing 16 where the best node has 8 free
    misses 8, however many are free over the whole cluster.
    """
    free: dict[str, int] = {}
    for node in nodes:
        allocatable = (node.get("status") or {}).get("allocatable") or {}
        try:
            free[node["metadata"]["name"]] = int(float(str(allocatable.get(GPU, 0))))
        except ValueError:
            free[node["metadata"]["name"]] = 0
    for pod in cluster_pods:
        node = (pod.get("spec") or {}).get("nodeName")
        if node in free and not _terminating(pod):
            free[node] -= pod_gpus(pod)
    most = max((max(gpus, 0) for gpus in free.values()), default=0)
    missing = 0
    # Best fit, largest pod first: what the scheduler would manage with today's free GPUs.
    for need in sorted((pod_gpus(pod) for pod in pending), reverse=True):
        fits = [name for name, gpus in free.items() if gpus >= need]
        if fits:
            best = min(fits, key=lambda name: free[name])
            free[best] -= need
        else:
            roomiest = max(free, key=lambda name: free[name], default=None)
            have = max(free[roomiest], 0) if roomiest else 0
            missing += need - have
            if roomiest:
                free[roomiest] = 0
    return missing, most


def _event_message(events: list[dict], *reasons: str) -> str:
    for event in _newest_first(events):
        if event.get("reason") in reasons:
            return event.get("message", "")
    return ""


def _newest_first(events: list[dict]) -> list[dict]:
    def when(event: dict) -> str:
        return (
            event.get("lastTimestamp")
            or event.get("eventTime")
            or (event.get("metadata") or {}).get("creationTimestamp")
            or ""
        )

    return sorted(events, key=when, reverse=True)


def events_newest_first(events: list[dict]) -> list[dict]:
    """Events sorted by their last occurrence, newest first."""
    return _newest_first(events)


def why_not_ready(
    dgd: dict | None,
    *,
    pods: list[dict],
    events: list[dict] = (),
    nodes: list[dict] | None = None,
    cluster_pods: list[dict] | None = None,
    logs: dict[str, str] | None = None,
) -> Reason | None:
    """One sentence naming what keeps the deployment from being ready; None when it is."""
    badge = deployment_status(dgd, pods=pods)
    if badge.key == READY:
        return None
    if badge.key == DELETING:
        remaining = len(pods)
        return Reason(
            f"It is being deleted: {remaining} pod{'s' if remaining != 1 else ''} "
            "still shutting down."
            if remaining
            else "It is being deleted."
        )
    namespace = (dgd.get("metadata") or {}).get("namespace", "")
    live = [pod for pod in pods if not _terminating(pod)]

    # A missing Secret: nothing starts until someone creates it.
    for pod in live:
        reason, message = _waiting(pod)
        message = message or _event_message(
            [e for e in events if (e.get("involvedObject") or {}).get("name") == _name(pod)],
            "Failed",
        )
        found = _SECRET_MISSING.search(message or "")
        if reason == "CreateContainerConfigError" and found:
            secret = found.group(1)
            return Reason(
                f'The Secret "{secret}" does not exist in namespace "{namespace}", so '
                f"{_pods_phrase([pod])} cannot start: create it with your Hugging Face token.",
                command=snippets.secret_create(name=secret, namespace=namespace),
            )
        key = _SECRET_KEY_MISSING.search(message or "")
        if reason == "CreateContainerConfigError" and key:
            name, secret = key.group(1), key.group(3)
            return Reason(
                f'The Secret "{secret}" has no key "{name}", so {_pods_phrase([pod])} '
                "cannot start: add the key to the Secret.",
                command=snippets.secret_add_key(name=secret, namespace=namespace, key=name),
            )
        if reason == "CreateContainerConfigError":
            return Reason(f"Pod {_name(pod)} cannot start its container: {message or reason}.")

    # A claim, ConfigMap or Secret a volume names that does not exist.
    volume = volume_reason(live, events=events, namespace=namespace)
    if volume is not None:
        return volume

    # An image that cannot be pulled.
    for pod in live:
        reason, message = _waiting(pod)
        if reason in _IMAGE_PULL:
            image = _main_status(pod).get("image") or _image(pod)
            detail = _PULL_BACKOFF.sub("", message) or _event_message(events, "Failed") or reason
            return Reason(
                f'The image "{image}" cannot be pulled ({reason}): {detail.rstrip(".")}. '
                "Check the image name and tag, and that the cluster may pull from its registry."
            )

    # A crash loop, with the last lines the container wrote.
    for pod in live:
        reason, _ = _waiting(pod)
        status = _main_status(pod)
        crashed = (status.get("lastState") or {}).get("terminated") or {}
        if reason == "CrashLoopBackOff" or (crashed and not pod_ready(pod)):
            restarts = pod_restarts(pod)
            code = crashed.get("exitCode")
            exit_text = f", last exit code {code}" if code is not None else ""
            lines = [line for line in ((logs or {}).get(_name(pod)) or "").splitlines() if line]
            return Reason(
                f"Pod {_name(pod)} ({_component(pod) or 'container'}) keeps crashing: "
                f"restarted {restarts} time{'s' if restarts != 1 else ''}{exit_text}"
                + ("; its last log lines are below." if lines else "."),
                log_lines=lines[-10:],
                log_pod=_name(pod),
            )

    # Not enough free GPUs.
    pending = [pod for pod in live if _unschedulable(pod)]
    if pending:
        message = _unschedulable(pending[0]) or _event_message(events, "FailedScheduling")
        per_pod = sorted({pod_gpus(pod) for pod in pending})
        who = _pods_phrase(pending)
        if GPU in message or (per_pod and per_pod[-1] > 0 and "Insufficient" in message):
            each = (
                f"{per_pod[0]} GPU{'s' if per_pod[0] != 1 else ''}"
                + ("" if len(pending) == 1 else " each")
                if len(per_pod) == 1
                else f"{sum(pod_gpus(pod) for pod in pending)} GPUs in all"
            )
            need = f"{who} {_verb(pending, 'needs', 'need')} {each} on one node"
            if nodes is not None and cluster_pods is not None:
                missing, most = gpu_shortfall(pending, nodes=nodes, cluster_pods=cluster_pods)
                if missing:
                    return Reason(
                        f"Not enough free GPUs: {need}, but the most free on any node is "
                        f"{most}, so {missing} GPU{'s are' if missing != 1 else ' is'} missing. "
                        "Free GPUs by deleting another deployment, use fewer GPUs per worker, "
                        "or add GPU nodes."
                    )
                return Reason(
                    f"Waiting for the scheduler: {need}, and GPUs are free again; it will "
                    "place them on its next try."
                )
            return Reason(
                f"Not enough free GPUs: {need}, and no node has them free "
                f"(the scheduler says: {message.rstrip('.')})."
            )
        return Reason(f"{who[0].upper()}{who[1:]} cannot be scheduled: {message.rstrip('.')}.")

    status = (dgd or {}).get("status") or {}
    if badge.key == FAILED:
        return Reason(f"The Dynamo operator reports it failed: {badge.reason or 'no reason'}.")
    if not status:
        return Reason(
            "The Dynamo operator has not picked it up yet: check that the Dynamo platform "
            "(its operator) is running in the cluster."
        )
    if not live:
        return Reason("The Dynamo operator is creating its pods.")
    ready, desired = replica_counts(dgd, pods=pods)
    creating = [pod for pod in live if _waiting(pod)[0] == "ContainerCreating"]
    if creating:
        return Reason(
            f"{_cap(_pods_phrase(creating))} {_verb(creating, 'is', 'are')} pulling the "
            f"image and creating containers ({ready} of {desired} workers ready)."
        )
    loading = [pod for pod in live if not pod_ready(pod)]
    if loading:
        return Reason(
            f"{_cap(_pods_phrase(loading))} {_verb(loading, 'is', 'are')} running and "
            f"loading the model ({ready} of {desired} workers ready)."
        )
    message = badge.reason or "waiting for the operator to report it ready"
    return Reason(f"All pods are ready; {message[0].lower()}{message[1:].rstrip('.')}.")


_CLAIM_MISSING = re.compile(r'persistentvolumeclaims? "([^"]+)" not found')
_MOUNT_MISSING = re.compile(
    r'MountVolume\.SetUp failed for volume "[^"]*" : (configmap|secret) "([^"]+)" not found'
)
MODEL_CACHE_MOUNT = "/opt/models"


def volume_reason(pods: list[dict], *, events: list[dict], namespace: str) -> Reason | None:
    """A pod waiting for a volume whose claim, ConfigMap or Secret does not exist."""
    for pod in pods:
        own = [e for e in events if (e.get("involvedObject") or {}).get("name") == _name(pod)]
        texts = [_unschedulable(pod) or "", _event_message(own, "FailedMount")]
        claim = next((m for m in map(_CLAIM_MISSING.search, texts) if m), None)
        if claim:
            name = claim.group(1)
            what = "model cache claim" if _mounts_model_cache(pod, name) else "claim"
            return Reason(
                f'The {what} "{name}" does not exist in namespace "{namespace}", so '
                f"{_pods_phrase([pod])} cannot start. Create it (ReadWriteMany, room for the "
                "weights; replace <size>), or deploy again without a model cache:",
                command=snippets.pvc_create(name=name, namespace=namespace, storage="<size>"),
            )
        mount = _MOUNT_MISSING.search(texts[1])
        if mount:
            kind = "ConfigMap" if mount.group(1) == "configmap" else "Secret"
            return Reason(
                f'The {kind} "{mount.group(2)}" that {_pods_phrase([pod])} mounts does not exist '
                f'in namespace "{namespace}", so it stays ContainerCreating: create it.'
            )
    return None


def _mounts_model_cache(pod: dict, claim: str) -> bool:
    spec = pod.get("spec") or {}
    volumes = {
        v.get("name"): (v.get("persistentVolumeClaim") or {}).get("claimName")
        for v in spec.get("volumes") or []
    }
    mounts = (spec.get("containers") or [{}])[0].get("volumeMounts") or []
    return any(
        volumes.get(m.get("name")) == claim and m.get("mountPath") == MODEL_CACHE_MOUNT
        for m in mounts
    )


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _name(pod: dict) -> str:
    return (pod.get("metadata") or {}).get("name", "")


def _image(pod: dict) -> str:
    containers = (pod.get("spec") or {}).get("containers") or [{}]
    return containers[0].get("image", "")
