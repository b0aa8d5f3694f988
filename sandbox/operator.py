"""The simulated Dynamo operator, scheduler and kubelet behind the sandbox's API.

Everything is a function of the sandbox clock: reconcile(now) moves every pod along
Pending -> ContainerCreating -> Running -> Ready and writes each DGD's status from its pods.
Like a kubelet, it fails to pull an image the simulated registry does not have
(ErrImagePull, then ImagePullBackOff between retries) and restarts a worker that exits
because its engine rejects an argument (CrashLoopBackOff, back-off doubling from 10 s to 5 min).
It is cheap to call before every request because it does nothing until the next due
transition (next_wakeup) or until an API write marks it dirty.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from . import adapters, logs
from .clock import rfc3339
from .conversion import GPU, convert_dgd
from .engines import (
    LATEST_RELEASE,
    RUNTIME_REPOSITORIES,
    Workload,
    image_available,
    pull_error,
    release_line,
    workload,
)
from .schema import prune
from .store import Store

DGD = "dynamographdeployments.nvidia.com"
# The operator's finalizer: a deleted DGD stays, Deleting, until its pods are gone.
FINALIZER = "nvidia.com/finalizer"
DGD_LABEL = "nvidia.com/dynamo-graph-deployment-name"
COMPONENT_LABEL = "nvidia.com/dynamo-component"
TYPE_LABEL = "nvidia.com/dynamo-component-type"
SUB_TYPE_LABEL = "nvidia.com/dynamo-sub-component-type"
# The pod-template annotation Dynamo 1.5's operator sets to the restart id (spec.restart).
RESTART_ANNOTATION = "nvidia.com/restartAt"
# Rolling updates replace pods like a Deployment's default strategy: at most 25% more pods
# than wanted (rounded up, so at least one) and at most 25% fewer available (rounded down, so
# none for fewer than four): new pods come up and become ready before old ones terminate.
MAX_SURGE = 0.25
MAX_UNAVAILABLE = 0.25
RESTART_DONE = ("Completed", "Failed", "Superseded")

OPERATOR_DELAY = 1.0  # seconds between a DGD appearing and its pods being created
IMAGE_PULL = 4.0  # ContainerCreating, once scheduled
TERMINATION_GRACE = 5.0  # how long deleted pods show Terminating
RETRY = 10.0  # scheduler and kubelet retry interval for stuck pods
FRONTEND_PORT = 8000
DEFAULT_IMAGE = f"{RUNTIME_REPOSITORIES['vllm']}:{LATEST_RELEASE}"
PULL_NOT_FOUND = 2.0  # a pull of an image the registry lacks fails this long after it starts
ERR_IMAGE_PULL_SHOWN = 2.0  # ErrImagePull shows until the next sync, then ImagePullBackOff
CRASH_AFTER = 3.0  # a worker with an unknown argument exits this long after it starts
EXIT_CODE = 2  # argparse's exit status for a usage error
TERMINATED_SHOWN = 1.0  # an exited container shows terminated until the next sync
BACKOFF_INITIAL = 10.0  # kubelet back-off for image pulls and container restarts...
BACKOFF_MAX = 300.0  # ...doubling up to five minutes


def _hash(value: object, length: int = 10) -> str:
    return hashlib.sha1(json.dumps(value, sort_keys=True).encode()).hexdigest()[:length]


def _quantity_int(value: object) -> int:
    try:
        return int(float(str(value)))
    except ValueError:
        return 0


@dataclass
class Component:
    """One component of a DGD, read from its v1beta1 form."""

    name: str
    type: str
    replicas: int
    container: dict
    pod_metadata: dict
    template_hash: str
    gpus: int
    work: Workload
    # The pod template's volumes and node selector, copied into every pod.
    volumes: list = field(default_factory=list)
    node_selector: dict = field(default_factory=dict)
    # The hash of the component's own spec, without the operator's restart annotation.
    spec_hash: str = ""
    nodes: int = 1  # pods per replica: multinode.nodeCount
    # The pod template's other containers (sidecars), run next to the engine's.
    sidecars: list = field(default_factory=list)

    @property
    def pods_wanted(self) -> int:
        return self.replicas * self.nodes

    @property
    def type_labels(self) -> dict[str, str]:
        """The component-type labels the operator puts on pods."""
        if self.type in ("prefill", "decode"):
            return {TYPE_LABEL: "worker", SUB_TYPE_LABEL: self.type}
        return {TYPE_LABEL: self.type}


def components_of(dgd: dict, restarts: dict[str, str] | None = None) -> list[Component]:
    """The components of a DGD stored in either version.

    restarts maps a component to the restart id the operator has stamped on its pod template.
    """
    beta = convert_dgd(dgd, "v1beta1")
    spec = beta.get("spec") or {}
    shared_env = spec.get("env") or []
    result = []
    for item in spec.get("components") or []:
        template = item.get("podTemplate") or {}
        containers = (template.get("spec") or {}).get("containers") or [{"name": "main"}]
        main = next((c for c in containers if c.get("name") == "main"), containers[0])
        container = {**main, "name": main.get("name") or "main"}
        if shared_env:
            container["env"] = [*shared_env, *(container.get("env") or [])]
        kind = item.get("type") or "worker"
        command = container.get("command") or (
            ["python3", "-m", "dynamo.frontend"] if kind == "frontend" else []
        )
        container["command"] = command
        container.setdefault("image", DEFAULT_IMAGE)
        limits = (container.get("resources") or {}).get("limits") or {}
        # Replicas and the scaling-adapter marker are not part of the pod template.
        spec_hash = _hash(
            {k: v for k, v in item.items() if k not in ("replicas", "scalingAdapter")}
            | {"env": shared_env}
        )
        pod_metadata = template.get("metadata") or {}
        template_hash = spec_hash
        restart_id = (restarts or {}).get(item["name"])
        if restart_id:
            annotations = {**(pod_metadata.get("annotations") or {})}
            annotations[RESTART_ANNOTATION] = restart_id
            pod_metadata = {**pod_metadata, "annotations": annotations}
            template_hash = _hash([spec_hash, restart_id])
        nodes = _quantity_int((item.get("multinode") or {}).get("nodeCount") or 1) or 1
        result.append(
            Component(
                name=item["name"],
                type=kind,
                replicas=int(item.get("replicas", 1)),
                container=container,
                pod_metadata=pod_metadata,
                template_hash=template_hash,
                spec_hash=spec_hash,
                nodes=nodes,
                gpus=_quantity_int(limits.get(GPU, 0)),
                work=workload(
                    kind,
                    command,
                    container.get("args") or [],
                    release_line(container["image"], dgd.get("apiVersion", "")),
                ),
                volumes=list((template.get("spec") or {}).get("volumes") or []),
                node_selector=dict((template.get("spec") or {}).get("nodeSelector") or {}),
                sidecars=[dict(c) for c in containers if c is not main and c.get("name")],
            )
        )
    return result


@dataclass
class PodSim:
    """The simulated lifecycle of one pod; the pod object is rendered from it."""

    namespace: str
    name: str
    dgd: str
    dgd_uid: str
    component: str
    template_hash: str
    gpus: int
    work: Workload
    created_at: float
    load_seconds: float
    spec_hash: str = ""
    node: str | None = None
    scheduled_at: float | None = None
    started_at: float | None = None
    blocked: str | None = None  # CreateContainerConfigError message
    unschedulable: str | None = None
    mount_failed: str | None = None  # the kubelet's FailedMount message
    mounted_at: float | None = None  # the last mount attempt that failed
    remove_at: float | None = None
    shown: tuple | None = None  # the state last rendered, to skip unchanged pods
    # Image pulls that fail: the current attempt (0 = the first) and when it failed.
    pull_attempt: int = 0
    pull_failed_at: float | None = None
    # A worker that exits at start: seconds each run lasts, restarts so far, the current
    # run's start and (once it has exited) end, and the last run that ended before it.
    crash_after: float | None = None
    restarts: int = 0
    run_started: float | None = None
    exited_at: float | None = None
    last_run: tuple[float, float] | None = None

    @property
    def ready_at(self) -> float | None:
        """When the engine finishes loading (never, for a worker that exits at start)."""
        if self.started_at is None or self.crash_after is not None:
            return None
        return self.started_at + self.load_seconds

    @property
    def live(self) -> bool:
        """Not being deleted."""
        return self.remove_at is None

    def ready(self, now: float) -> bool:
        """Serving: started, loaded, not being deleted."""
        return self.live and self.ready_at is not None and now >= self.ready_at


@dataclass
class DgdRecord:
    """What the operator remembers about a DGD it has seen."""

    namespace: str
    name: str
    uid: str
    observed_at: float
    pods: dict[str, PodSim] = field(default_factory=dict)
    # Restart (spec.restart): the id stamped on each component, and status.restart.
    restarted: dict[str, str] = field(default_factory=dict)
    restart: dict | None = None
    # The rolling update of changed pod templates: status.rollingUpdate and its components.
    rolling_update: dict | None = None
    rolling: set[str] = field(default_factory=set)
    worker_hash: str = ""


class Simulation:
    """The operator, scheduler and kubelet, acting on the store."""

    def __init__(
        self, store: Store, speed: float = 1.0, images: Iterable[str] | None = None
    ) -> None:
        self.store = store
        # Images the cluster file lists under `images:`, on top of the registry's own.
        self.images = frozenset(str(image) for image in images or ())
        # --speed shortens every simulated duration; timestamps stay in real time.
        self.scale = 1.0 / speed
        self.records: dict[str, DgdRecord] = {}
        # Each DGD version's status schema: what the API server keeps of a status write.
        self.status_schemas: dict[str, dict] = {}
        self.dirty = True
        self.next_wakeup = 0.0
        self._pod_counter = 0
        self._events: dict[tuple, str] = {}
        self._event_last: dict[str, float] = {}

    # ------------------------------------------------------------------ entry points

    def touch(self) -> None:
        """Mark that objects changed, so the next reconcile does a full pass."""
        self.dirty = True

    def reconcile(self, now: float) -> None:
        """Bring pods, services and DGD statuses up to date with the clock."""
        if not self.dirty and now < self.next_wakeup:
            return
        self.dirty = False
        self.next_wakeup = float("inf")
        # The scaling-adapter controller first: it may change a DGD's replicas.
        adapters.reconcile(self.store, now, _uid)
        seen = set()
        for entry in list(self.store.entries(DGD)):
            dgd = entry.obj
            uid = dgd["metadata"]["uid"]
            record = self.records.get(uid)
            if record is None:
                record = DgdRecord(dgd["metadata"]["namespace"], dgd["metadata"]["name"], uid, now)
                self.records[uid] = record
            if dgd["metadata"].get("deletionTimestamp"):
                continue  # its pods go below; the finalizer is removed when they are gone
            seen.add(uid)
            if now >= record.observed_at + OPERATOR_DELAY * self.scale:
                self._add_finalizer(dgd)
                self._sync_children(record, dgd, now)
            else:
                self._wake(record.observed_at + OPERATOR_DELAY * self.scale)
        for uid in [u for u in self.records if u not in seen]:
            self._orphan(self.records[uid], now)
        # Pods first, so that statuses below see this pass's transitions.
        for record in list(self.records.values()):
            for sim in list(record.pods.values()):
                self._step_pod(record, sim, now)
            if not record.pods and record.uid not in seen:
                self._remove_finalizer(record)
                del self.records[record.uid]
        for entry in list(self.store.entries(DGD)):
            record = self.records.get(entry.obj["metadata"]["uid"])
            if record is not None and record.uid in seen:
                self._write_status(record, entry.obj, now)

    def _add_finalizer(self, dgd: dict) -> None:
        meta = dgd["metadata"]
        if FINALIZER not in (meta.get("finalizers") or []):
            finalizers = [*(meta.get("finalizers") or []), FINALIZER]
            self.store.put(DGD, {**dgd, "metadata": {**meta, "finalizers": finalizers}})

    def _remove_finalizer(self, record: DgdRecord) -> None:
        """The pods are gone: let the API server remove the deleted DGD."""
        dgd = self.store.get(DGD, record.namespace, record.name)
        if dgd is None or dgd["metadata"].get("uid") != record.uid:
            return
        finalizers = [f for f in dgd["metadata"].get("finalizers") or [] if f != FINALIZER]
        if finalizers or not dgd["metadata"].get("deletionTimestamp"):
            meta = {**dgd["metadata"], "finalizers": finalizers}
            self.store.put(DGD, {**dgd, "metadata": meta})
        else:
            self.store.delete(DGD, record.namespace, record.name)

    def delete_pod(self, namespace: str, name: str, now: float) -> dict | None:
        """Start a pod's graceful deletion (the API's DELETE); returns the updated pod."""
        for record in self.records.values():
            sim = record.pods.get(name)
            if sim is not None and sim.namespace == namespace:
                self._terminate(sim, now)
                self.dirty = True
                self._render(sim, now)
                return self.store.get("pods", namespace, name)
        pod = self.store.delete("pods", namespace, name)
        return pod

    def container_run(
        self, namespace: str, name: str, container: str, now: float, previous: bool = False
    ) -> logs.Run | str | None:
        """The run of a container whose log is read, or why it has none (the API's 400).

        Like the kubelet: a container waiting to restart shows its last run's log, and
        previous=True reads the run before the current one (lastState.terminated). None:
        the pod is not one the simulation runs (it has no log).
        """
        record, sim = self._pod_sim(namespace, name)
        if sim is None:
            return None
        # The container gets SIGTERM when its pod is deleted; the pod lingers for the grace.
        stopped = None if sim.remove_at is None else sim.remove_at - TERMINATION_GRACE * self.scale
        if previous:
            run = sim.last_run if container == "main" else None
            waiting = sim.exited_at is not None and self._crash_phase(sim, now) == "waiting"
            if container == "main" and waiting:
                run = (sim.run_started or now, sim.exited_at)
            if run is None:
                return f'previous terminated container "{container}" in pod "{name}" not found'
            return logs.crashed_run(sim.work, *run)
        if sim.started_at is None or sim.started_at > now:
            if sim.pull_failed_at is not None:
                reason = "trying and failing to pull image"
            elif sim.blocked:
                reason = "CreateContainerConfigError"
            else:
                reason = "ContainerCreating"
            return f'container "{container}" in pod "{name}" is waiting to start: {reason}'
        if container != "main":
            pod = self.store.get("pods", namespace, name) or {}
            spec = next(
                (c for c in pod.get("spec", {}).get("containers", []) if c["name"] == container),
                {"name": container},
            )
            return logs.sidecar_run(spec, sim.started_at, stopped, self.scale)
        if sim.crash_after is not None:
            start = sim.run_started or sim.started_at
            return logs.crashed_run(sim.work, start, start + sim.crash_after)
        served = next((p.work.model for p in record.pods.values() if p.work.model), "")
        ready_at = sim.ready_at or sim.started_at
        return logs.engine_run(sim.work, sim.started_at, ready_at, stopped, self.scale, served)

    def _pod_sim(self, namespace: str, name: str) -> tuple[DgdRecord | None, PodSim | None]:
        for record in self.records.values():
            sim = record.pods.get(name)
            if sim is not None and sim.namespace == namespace:
                return record, sim
        return None, None

    # ------------------------------------------------------------------ operator

    def _sync_children(self, record: DgdRecord, dgd: dict, now: float) -> None:
        self._step_restart(record, dgd, now)
        components = components_of(dgd, record.restarted)
        wanted = {c.name for c in components}
        for sim in record.pods.values():
            if sim.live and sim.component not in wanted:
                self._terminate(sim, now)
        for component in components:
            self._roll(record, dgd, component, now)
        self._step_rolling_update(record, dgd, components, now)
        self._sync_service(record, dgd, components)

    def _live(self, record: DgdRecord, component: str) -> list[PodSim]:
        """The component's pods not being deleted, oldest first."""
        return sorted(
            (s for s in record.pods.values() if s.live and s.component == component),
            key=lambda s: (s.created_at, s.name),
        )

    def _roll(self, record: DgdRecord, dgd: dict, component: Component, now: float) -> None:
        """Scale the component, or replace pods of an older template like a Deployment.

        A replicas-only change adds or removes pods and leaves the others running. A new pod
        template surges: new pods are created (at most MAX_SURGE over the wanted count), old
        ones terminate once enough new ones are ready (at most MAX_UNAVAILABLE missing);
        old pods that are not ready serve nothing and go first.
        """
        live = self._live(record, component.name)
        new = [s for s in live if s.template_hash == component.template_hash]
        old = [s for s in live if s.template_hash != component.template_hash]
        wanted = component.pods_wanted
        for sim in new[wanted:]:
            self._terminate(sim, now)
        if not old:
            for _ in range(wanted - len(new)):
                self._create_pod(record, dgd, component, now)
            return
        surge = math.ceil(wanted * MAX_SURGE)
        unavailable = math.floor(wanted * MAX_UNAVAILABLE)
        room = wanted + surge - len(live)
        for _ in range(max(0, min(wanted - len(new), room))):
            self._create_pod(record, dgd, component, now)
        for sim in old:
            if not sim.ready(now):
                self._terminate(sim, now)
        old_ready = [s for s in old if s.ready(now)]
        available = len(old_ready) + sum(1 for s in new[:wanted] if s.ready(now))
        for sim in old_ready[: max(0, available - (wanted - unavailable))]:
            self._terminate(sim, now)

    def _settled(self, record: DgdRecord, component: Component, now: float) -> bool:
        """Every pod runs the current template and is ready, and no old pod is left."""
        live = self._live(record, component.name)
        return len(live) == component.pods_wanted and all(
            s.template_hash == component.template_hash and s.ready(now) for s in live
        )

    def _step_restart(self, record: DgdRecord, dgd: dict, now: float) -> None:
        """Honour spec.restart like Dynamo 1.5: stamp the restart id on pod templates.

        Sequential (the default) restarts one component after another (strategy.order, else
        by name), each once the previous one's new pods are all ready; Parallel restarts every
        component at once. status.restart reports phase, observedID and inProgress.
        """
        spec = convert_dgd(dgd, "v1beta1").get("spec") or {}
        request = spec.get("restart") or {}
        restart_id = request.get("id")
        status = record.restart
        if not restart_id:
            record.restart = status if status and status.get("phase") in RESTART_DONE else None
            return
        if status and status.get("observedID") == restart_id and status["phase"] in RESTART_DONE:
            return
        names = [c["name"] for c in spec.get("components") or []]
        strategy = request.get("strategy") or {}
        parallel = strategy.get("type") == "Parallel"
        order = [n for n in strategy.get("order") or [] if n in names] or sorted(names)
        if status is None or status.get("observedID") != restart_id:
            in_progress = sorted(names) if parallel else order[:1]
            for name in in_progress:
                record.restarted[name] = restart_id
            record.restart = {
                "phase": "Restarting" if in_progress else "Completed",
                "observedID": restart_id,
                **({"inProgress": in_progress} if in_progress else {}),
            }
            return
        components = {c.name: c for c in components_of(dgd, record.restarted)}
        in_progress = [
            n
            for n in status.get("inProgress") or []
            if n in components and not self._settled(record, components[n], now)
        ]
        if not parallel and not in_progress:
            current = (status.get("inProgress") or [""])[0]
            following = order[order.index(current) + 1 :] if current in order else []
            if following:
                in_progress = following[:1]
                record.restarted[following[0]] = restart_id
        if in_progress:
            record.restart = {
                "phase": "Restarting",
                "observedID": restart_id,
                "inProgress": in_progress,
            }
        else:
            record.restart = {"phase": "Completed", "observedID": restart_id}

    def _step_rolling_update(
        self, record: DgdRecord, dgd: dict, components: list[Component], now: float
    ) -> None:
        """status.rollingUpdate: components whose own spec changed, until their pods are new."""
        worker_hash = _hash(sorted(c.spec_hash for c in components), 8)
        changed = {
            c.name
            for c in components
            if any(s.spec_hash != c.spec_hash for s in self._live(record, c.name))
        }
        update = record.rolling_update
        if changed and (update is None or update["phase"] != "InProgress"):
            update = {"phase": "InProgress", "startTime": rfc3339(now)}
            record.rolling = set()
            self._dgd_event(
                dgd,
                "Normal",
                "RollingUpdateStarted",
                f"Starting rolling update from worker hash {record.worker_hash} to {worker_hash}",
                now,
            )
        record.rolling |= changed
        if update is not None and update["phase"] == "InProgress":
            by_name = {c.name: c for c in components}
            done = sorted(
                n
                for n in record.rolling
                if n not in by_name or (n not in changed and self._settled(record, by_name[n], now))
            )
            update["updatedComponents"] = done
            if len(done) == len(record.rolling):
                update = {**update, "phase": "Completed", "endTime": rfc3339(now)}
                self._dgd_event(
                    dgd,
                    "Normal",
                    "RollingUpdateCompleted",
                    f"Rolling update completed, worker hash {worker_hash}",
                    now,
                )
        record.rolling_update = update
        if not changed:
            record.worker_hash = worker_hash

    def _create_pod(self, record: DgdRecord, dgd: dict, component: Component, now: float) -> None:
        self._pod_counter += 1
        suffix = _hash([record.uid, self._pod_counter], 5)
        name = f"{record.name}-{component.name.lower()}-{component.template_hash}-{suffix}"
        sim = PodSim(
            namespace=record.namespace,
            name=name,
            dgd=record.name,
            dgd_uid=record.uid,
            component=component.name,
            template_hash=component.template_hash,
            spec_hash=component.spec_hash,
            gpus=component.gpus,
            work=component.work,
            created_at=now,
            load_seconds=component.work.load_seconds * self.scale,
        )
        record.pods[name] = sim
        labels = {
            **(component.pod_metadata.get("labels") or {}),
            DGD_LABEL: record.name,
            COMPONENT_LABEL: component.name,
            **component.type_labels,
            # Dynamo 1.5 scopes the graph by Kubernetes namespace too: <namespace>-<name>.
            "nvidia.com/dynamo-namespace": f"{record.namespace}-{record.name}",
            "pod-template-hash": component.template_hash,
        }
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": record.namespace,
                "uid": _uid(f"pod/{record.namespace}/{name}/{self._pod_counter}"),
                "creationTimestamp": rfc3339(now),
                "generateName": name[: -len(suffix)],
                "labels": labels,
                "ownerReferences": [_owner(dgd)],
            },
            "spec": {
                "containers": [_pod_container(component), *component.sidecars],
                "restartPolicy": "Always",
                "terminationGracePeriodSeconds": int(TERMINATION_GRACE),
                "dnsPolicy": "ClusterFirst",
                "schedulerName": "default-scheduler",
                "serviceAccountName": "default",
            },
            "status": {"phase": "Pending", "qosClass": "Burstable"},
        }
        annotations = component.pod_metadata.get("annotations")
        if annotations:
            pod["metadata"]["annotations"] = dict(annotations)
        if component.volumes:
            pod["spec"]["volumes"] = [dict(volume) for volume in component.volumes]
        if component.node_selector:
            pod["spec"]["nodeSelector"] = dict(component.node_selector)
        self.store.put("pods", pod)

    def _sync_service(self, record: DgdRecord, dgd: dict, components: list[Component]) -> None:
        frontend = next((c for c in components if c.type == "frontend"), None)
        name = f"{record.name}-frontend"
        existing = self.store.get("services", record.namespace, name)
        if frontend is None:
            if existing is not None:
                self.store.delete("services", record.namespace, name)
            return
        if existing is not None:
            return
        ip = int(_hash(name, 4), 16)
        service = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": name,
                "namespace": record.namespace,
                "uid": _uid(f"svc/{record.uid}/{name}"),
                "creationTimestamp": dgd["metadata"].get("creationTimestamp"),
                "labels": {DGD_LABEL: record.name, COMPONENT_LABEL: frontend.name},
                "ownerReferences": [_owner(dgd)],
            },
            "spec": {
                "type": "ClusterIP",
                "clusterIP": f"10.96.{ip >> 8}.{ip & 0xFF}",
                "clusterIPs": [f"10.96.{ip >> 8}.{ip & 0xFF}"],
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
                "ports": [
                    {
                        "name": "http",
                        "port": FRONTEND_PORT,
                        "protocol": "TCP",
                        "targetPort": FRONTEND_PORT,
                    }
                ],
                "selector": {DGD_LABEL: record.name, COMPONENT_LABEL: frontend.name},
                "sessionAffinity": "None",
            },
            "status": {"loadBalancer": {}},
        }
        self.store.put("services", service)

    def _orphan(self, record: DgdRecord, now: float) -> None:
        """The DGD is gone: garbage-collect its service and terminate its pods."""
        self.store.delete("services", record.namespace, f"{record.name}-frontend")
        for sim in record.pods.values():
            if sim.live:
                self._terminate(sim, now)

    def _terminate(self, sim: PodSim, now: float) -> None:
        sim.remove_at = now + TERMINATION_GRACE * self.scale
        pod = self.store.get("pods", sim.namespace, sim.name)
        if pod is not None:
            meta = {
                **pod["metadata"],
                "deletionTimestamp": rfc3339(sim.remove_at),
                "deletionGracePeriodSeconds": int(TERMINATION_GRACE),
            }
            self.store.put("pods", {**pod, "metadata": meta})
        if sim.node:
            self._event(sim, "Normal", "Killing", "Stopping container main", "kubelet", now)

    # ------------------------------------------------------------------ scheduler and kubelet

    def _step_pod(self, record: DgdRecord, sim: PodSim, now: float) -> None:
        if sim.remove_at is not None:
            if now >= sim.remove_at:
                self.store.delete("pods", sim.namespace, sim.name)
                del record.pods[sim.name]
                # Freed GPUs may let a pending pod schedule.
                self.dirty = True
                self.next_wakeup = now
                return
            self._wake(sim.remove_at)
            self._render(sim, now)
            return
        if sim.node is None:
            self._schedule(sim, now)
            if sim.node is None:
                self._wake(now + RETRY * self.scale)
                self._render(sim, now)
                return
        if sim.started_at is None and self._step_mount(sim, now):
            self._render(sim, now)
            return
        if sim.started_at is None and not self._pullable(sim):
            self._step_pull_failure(sim, now)
            self._render(sim, now)
            return
        pulled_at = (sim.mounted_at or sim.scheduled_at or now) + IMAGE_PULL * self.scale
        if now < pulled_at:
            self._wake(pulled_at)
        elif sim.started_at is None:
            blocked = self._missing_secret(sim)
            if blocked:
                if blocked != sim.blocked:
                    sim.blocked = blocked
                self._event(sim, "Warning", "Failed", f"Error: {blocked}", "kubelet", now)
                self._wake(now + RETRY * self.scale)
            else:
                started = now if sim.blocked else pulled_at
                sim.blocked = None
                sim.started_at = started
                image = self._image(sim)
                self._event(
                    sim,
                    "Normal",
                    "Pulled",
                    f'Container image "{image}" already present on machine',
                    "kubelet",
                    started,
                )
                self._event(sim, "Normal", "Created", "Created container: main", "kubelet", started)
                self._event(sim, "Normal", "Started", "Started container main", "kubelet", started)
                if sim.work.unrecognized:
                    sim.crash_after = CRASH_AFTER * self.scale
                    sim.run_started = started
        if sim.crash_after is not None:
            self._step_crash_loop(sim, now)
        if sim.ready_at is not None and now < sim.ready_at:
            self._wake(sim.ready_at)
        self._render(sim, now)

    def _step_mount(self, sim: PodSim, now: float) -> bool:
        """Whether the pod waits for a volume (ContainerCreating with FailedMount events)."""
        sim.mount_failed = self._failed_mount(sim)
        if sim.mount_failed is None:
            return False
        self._event(sim, "Warning", "FailedMount", sim.mount_failed, "kubelet", now)
        # Pulling starts once the volumes are mounted.
        sim.mounted_at = now
        self._wake(now + RETRY * self.scale)
        return True

    def _backoff(self, retries: int) -> float:
        """The kubelet's back-off before retry number retries + 1: 10 s, 20 s, 40 s ... 5 min."""
        return min(BACKOFF_INITIAL * 2**retries, BACKOFF_MAX) * self.scale

    def _pullable(self, sim: PodSim) -> bool:
        return image_available(self._image(sim), self.images)

    def _step_pull_failure(self, sim: PodSim, now: float) -> None:
        """Pull, fail with NotFound, back off, pull again: ErrImagePull <-> ImagePullBackOff."""
        if sim.pull_failed_at is None:
            failed_at = (sim.scheduled_at or now) + PULL_NOT_FOUND * self.scale
            if now < failed_at:
                self._wake(failed_at)
                return
            sim.pull_failed_at = failed_at
        while now >= sim.pull_failed_at + self._backoff(sim.pull_attempt):
            sim.pull_failed_at += self._backoff(sim.pull_attempt)
            sim.pull_attempt += 1
        image = self._image(sim)
        failed_at = sim.pull_failed_at
        if sim.pull_attempt:
            self._event(sim, "Normal", "Pulling", f'Pulling image "{image}"', "kubelet", failed_at)
        self._event(
            sim,
            "Warning",
            "Failed",
            f'Failed to pull image "{image}": {pull_error(image)}',
            "kubelet",
            failed_at,
        )
        self._event(sim, "Warning", "Failed", "Error: ErrImagePull", "kubelet", failed_at)
        backing_off = failed_at + ERR_IMAGE_PULL_SHOWN * self.scale
        if now >= backing_off:
            message = f'Back-off pulling image "{image}"'
            self._event(sim, "Normal", "BackOff", message, "kubelet", backing_off)
            self._event(sim, "Warning", "Failed", "Error: ImagePullBackOff", "kubelet", backing_off)
            self._wake(failed_at + self._backoff(sim.pull_attempt))
        else:
            self._wake(backing_off)

    def _pull_phase(self, sim: PodSim, now: float) -> str:
        if sim.pull_failed_at is None or sim.started_at is not None:
            return ""
        if now < sim.pull_failed_at + ERR_IMAGE_PULL_SHOWN * self.scale:
            return "ErrImagePull"
        return "ImagePullBackOff"

    def _step_crash_loop(self, sim: PodSim, now: float) -> None:
        """Run, exit with code 2, wait out the back-off, run again (restartPolicy Always)."""
        assert sim.crash_after is not None and sim.run_started is not None
        while True:
            exited_at = sim.run_started + sim.crash_after
            if now < exited_at:
                sim.exited_at = None
                self._wake(exited_at)
                return
            sim.exited_at = exited_at
            # The first restart is immediate (at the next sync); later ones back off.
            restart_at = exited_at + self._restart_delay(sim)
            if now < restart_at:
                break
            sim.last_run = (sim.run_started, exited_at)
            sim.run_started = restart_at
            sim.restarts += 1
            image = self._image(sim)
            pulled = f'Container image "{image}" already present on machine'
            self._event(sim, "Normal", "Pulled", pulled, "kubelet", restart_at)
            self._event(sim, "Normal", "Created", "Created container: main", "kubelet", restart_at)
            self._event(sim, "Normal", "Started", "Started container main", "kubelet", restart_at)
        synced = exited_at + TERMINATED_SHOWN * self.scale
        if now < synced:
            self._wake(synced)
        else:
            self._event(
                sim,
                "Warning",
                "BackOff",
                f"Back-off restarting failed container main in pod {self._pod_ref(sim)}",
                "kubelet",
                synced,
            )
            self._wake(restart_at)

    def _restart_delay(self, sim: PodSim) -> float:
        """Until the next restart: the next sync after the first exit, then 10 s, 20 s ..."""
        if sim.restarts == 0:
            return TERMINATED_SHOWN * self.scale
        return self._backoff(sim.restarts - 1)

    def _crash_phase(self, sim: PodSim, now: float) -> str:
        """running, terminated (just exited) or waiting (CrashLoopBackOff); "" if healthy."""
        if sim.crash_after is None:
            return ""
        if sim.exited_at is None or now < sim.exited_at:
            return "running"
        if now < sim.exited_at + TERMINATED_SHOWN * self.scale:
            return "terminated"
        return "waiting"

    def _pod_ref(self, sim: PodSim) -> str:
        """name_namespace(uid), as the kubelet names a pod in its messages."""
        pod = self.store.get("pods", sim.namespace, sim.name) or {"metadata": {}}
        return f"{sim.name}_{sim.namespace}({pod['metadata'].get('uid', '')})"

    def _schedule(self, sim: PodSim, now: float) -> None:
        nodes = self.store.objects("nodes")
        missing = self._missing_claim(sim)
        if missing:
            message = (
                f'0/{len(nodes)} nodes are available: persistentvolumeclaim "{missing}" not found.'
            )
            sim.unschedulable = message
            self._event(sim, "Warning", "FailedScheduling", message, "default-scheduler", now)
            return
        selector = self._node_selector(sim)
        unmatched = [n for n in nodes if not _matches(n, selector)]
        nodes = [n for n in nodes if _matches(n, selector)]
        used: dict[str, int] = {}
        pods: dict[str, int] = {}
        for record in self.records.values():
            for other in record.pods.values():
                if other.node:
                    used[other.node] = used.get(other.node, 0) + other.gpus
                    pods[other.node] = pods.get(other.node, 0) + 1
        fits = []
        for node in nodes:
            name = node["metadata"]["name"]
            free = _quantity_int(node["status"]["allocatable"].get(GPU, 0)) - used.get(name, 0)
            if free >= sim.gpus:
                # Pack GPU pods tightly; spread CPU-only pods by pod count.
                fits.append((free if sim.gpus else pods.get(name, 0), name))
        if not fits:
            total = len(nodes) + len(unmatched)
            reasons = [f"{len(nodes)} Insufficient {GPU}"] if nodes else []
            if unmatched:
                reasons.append(
                    f"{len(unmatched)} node(s) didn't match Pod's node affinity/selector"
                )
            message = (
                f"0/{total} nodes are available: {', '.join(sorted(reasons))}."
                if total
                else "no nodes available to schedule pods"
            )
            sim.unschedulable = message
            self._event(sim, "Warning", "FailedScheduling", message, "default-scheduler", now)
            return
        sim.node = min(fits)[1]
        sim.scheduled_at = now
        sim.unschedulable = None
        self._event(
            sim,
            "Normal",
            "Scheduled",
            f"Successfully assigned {sim.namespace}/{sim.name} to {sim.node}",
            "default-scheduler",
            now,
        )
        self._event(sim, "Normal", "Pulling", f'Pulling image "{self._image(sim)}"', "kubelet", now)

    def _node_selector(self, sim: PodSim) -> dict:
        pod = self.store.get("pods", sim.namespace, sim.name) or {}
        return (pod.get("spec") or {}).get("nodeSelector") or {}

    def _volumes(self, sim: PodSim) -> list[dict]:
        pod = self.store.get("pods", sim.namespace, sim.name) or {}
        return (pod.get("spec") or {}).get("volumes") or []

    def _missing_claim(self, sim: PodSim) -> str | None:
        """A claim the pod's volumes name that does not exist (the scheduler checks it)."""
        for volume in self._volumes(sim):
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if claim and self.store.get("persistentvolumeclaims", sim.namespace, claim) is None:
                return claim
        return None

    def _failed_mount(self, sim: PodSim) -> str | None:
        """The kubelet's FailedMount message for a ConfigMap, Secret or claim that is gone."""
        for volume in self._volumes(sim):
            name = volume.get("name", "")
            config_map = volume.get("configMap") or {}
            secret = volume.get("secret") or {}
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if (
                config_map.get("name")
                and not config_map.get("optional")
                and self.store.get("configmaps", sim.namespace, config_map["name"]) is None
            ):
                return (
                    f'MountVolume.SetUp failed for volume "{name}" : '
                    f'configmap "{config_map["name"]}" not found'
                )
            if (
                secret.get("secretName")
                and not secret.get("optional")
                and self.store.get("secrets", sim.namespace, secret["secretName"]) is None
            ):
                return (
                    f'MountVolume.SetUp failed for volume "{name}" : '
                    f'secret "{secret["secretName"]}" not found'
                )
            if claim and self.store.get("persistentvolumeclaims", sim.namespace, claim) is None:
                # Deleted after the pod was scheduled: the kubelet cannot fetch it.
                return (
                    f"Unable to attach or mount volumes: unmounted volumes=[{name}], "
                    f"unattached volumes=[], failed to process volumes=[{name}]: error processing "
                    f"PVC {sim.namespace}/{claim}: failed to fetch PVC from API server: "
                    f'persistentvolumeclaims "{claim}" not found'
                )
        return None

    def _image(self, sim: PodSim) -> str:
        pod = self.store.get("pods", sim.namespace, sim.name)
        return pod["spec"]["containers"][0].get("image", DEFAULT_IMAGE) if pod else DEFAULT_IMAGE

    def _missing_secret(self, sim: PodSim) -> str | None:
        pod = self.store.get("pods", sim.namespace, sim.name)
        if pod is None:
            return None
        container = pod["spec"]["containers"][0]
        for source in container.get("envFrom") or []:
            ref = source.get("secretRef") or {}
            name = ref.get("name")
            if (
                name
                and not ref.get("optional")
                and not self.store.get("secrets", sim.namespace, name)
            ):
                return f'secret "{name}" not found'
        for env in container.get("env") or []:
            ref = (env.get("valueFrom") or {}).get("secretKeyRef") or {}
            if ref.get("name") and not ref.get("optional"):
                secret = self.store.get("secrets", sim.namespace, ref["name"])
                if secret is None:
                    return f'secret "{ref["name"]}" not found'
                if ref.get("key") not in (secret.get("data") or {}):
                    return (
                        f"couldn't find key {ref.get('key')} in Secret "
                        f"{sim.namespace}/{ref['name']}"
                    )
        return None

    def _render(self, sim: PodSim, now: float) -> None:
        ready = sim.ready_at is not None and now >= sim.ready_at
        running = sim.started_at is not None and now >= sim.started_at
        creating = sim.node is not None and not running
        pulling = self._pull_phase(sim, now)
        crashing = self._crash_phase(sim, now)
        state = (
            sim.node,
            sim.unschedulable,
            sim.blocked,
            creating,
            running,
            ready,
            sim.remove_at,
            pulling,
            sim.pull_attempt,
            crashing,
            sim.restarts,
        )
        if state == sim.shown:
            return
        pod = self.store.get("pods", sim.namespace, sim.name)
        if pod is None:
            return
        sim.shown = state
        status: dict = {"phase": "Running" if running else "Pending", "qosClass": "Burstable"}
        if sim.node is None:
            status["conditions"] = [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": sim.unschedulable or "",
                    "lastTransitionTime": rfc3339(sim.created_at),
                }
            ]
        else:
            scheduled = rfc3339(sim.scheduled_at or now)
            status["hostIP"] = _node_ip(sim.node)
            status["startTime"] = scheduled
            status["conditions"] = [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": scheduled},
                {"type": "Initialized", "status": "True", "lastTransitionTime": scheduled},
                _ready_condition("ContainersReady", ready, sim, scheduled),
                _ready_condition("Ready", ready, sim, scheduled),
            ]
            last_state: dict = {}
            if running:
                status["podIP"] = (
                    f"10.244.{int(_hash(sim.node, 2), 16)}.{int(_hash(sim.name, 2), 16)}"
                )
                container_state = {"running": {"startedAt": rfc3339(sim.started_at or now)}}
                if crashing:
                    container_state, last_state = self._crash_states(sim, crashing)
            elif pulling:
                image = self._image(sim)
                message = pull_error(image)
                if pulling == "ImagePullBackOff":
                    message = f'Back-off pulling image "{image}": ErrImagePull: {message}'
                container_state = {"waiting": {"reason": pulling, "message": message}}
            elif sim.blocked:
                container_state = {
                    "waiting": {"reason": "CreateContainerConfigError", "message": sim.blocked}
                }
            else:
                container_state = {"waiting": {"reason": "ContainerCreating"}}
            image = pod["spec"]["containers"][0].get("image", DEFAULT_IMAGE)
            status["containerStatuses"] = [
                {
                    "name": "main",
                    "image": image,
                    "imageID": _image_id(image) if running else "",
                    "ready": ready,
                    "started": "running" in container_state,
                    "restartCount": sim.restarts,
                    "state": container_state,
                    "lastState": last_state,
                }
            ]
            for sidecar in pod["spec"]["containers"][1:]:
                status["containerStatuses"].append(
                    {
                        "name": sidecar["name"],
                        "image": sidecar.get("image", ""),
                        "imageID": _image_id(sidecar.get("image", "")) if running else "",
                        "ready": running,
                        "started": running,
                        "restartCount": 0,
                        "state": {"running": {"startedAt": rfc3339(sim.started_at or now)}}
                        if running
                        else {"waiting": {"reason": "ContainerCreating"}},
                        "lastState": {},
                    }
                )
        spec = pod["spec"] if sim.node is None else {**pod["spec"], "nodeName": sim.node}
        self.store.put("pods", {**pod, "spec": spec, "status": status})

    def _crash_states(self, sim: PodSim, phase: str) -> tuple[dict, dict]:
        """The container's state and lastState in a crash loop."""
        started = sim.run_started or sim.started_at or 0.0
        last = {"terminated": self._terminated(sim, *sim.last_run)} if sim.last_run else {}
        if phase == "running":
            return {"running": {"startedAt": rfc3339(started)}}, last
        exited = sim.exited_at or started
        terminated = {"terminated": self._terminated(sim, started, exited)}
        if phase == "terminated":
            return terminated, last
        seconds = round(self._restart_delay(sim) / self.scale)
        message = f"back-off {seconds}s restarting failed container=main pod={self._pod_ref(sim)}"
        return {"waiting": {"reason": "CrashLoopBackOff", "message": message}}, terminated

    def _terminated(self, sim: PodSim, started: float, exited: float) -> dict:
        return {
            "exitCode": EXIT_CODE,
            "reason": "Error",
            "startedAt": rfc3339(started),
            "finishedAt": rfc3339(exited),
            "containerID": "containerd://"
            + hashlib.sha256(f"{sim.namespace}/{sim.name}/{started}".encode()).hexdigest(),
        }

    # ------------------------------------------------------------------ status

    def _write_status(self, record: DgdRecord, dgd: dict, now: float) -> None:
        meta = dgd["metadata"]
        generation = meta.get("generation", 1)
        old = dgd.get("status") or {}
        if now < record.observed_at + OPERATOR_DELAY * self.scale:
            state, reason, message, counts = (
                "initializing",
                "some_resources_are_not_ready",
                ("The operator is creating the deployment's resources"),
                {},
            )
        else:
            components = components_of(dgd, record.restarted)
            state, reason, message, counts = self._summarise(record, components, now)
        ready = "True" if state == "successful" else "False"
        previous = next((c for c in old.get("conditions") or [] if c.get("type") == "Ready"), None)
        changed = previous is None or previous.get("status") != ready
        condition = {
            "type": "Ready",
            "status": ready,
            "reason": reason,
            "message": message,
            "lastTransitionTime": rfc3339(now) if changed else previous["lastTransitionTime"],
            "observedGeneration": generation,
        }
        beta_status = {
            "state": state,
            "conditions": [condition],
            "observedGeneration": generation,
            "components": counts,
        }
        if record.rolling_update:
            beta_status["rollingUpdate"] = dict(record.rolling_update)
        if record.restart:
            beta_status["restart"] = dict(record.restart)
        if dgd["apiVersion"].endswith("/v1alpha1"):
            shape = {**dgd, "status": beta_status, "apiVersion": "nvidia.com/v1beta1"}
            status = convert_dgd(shape, "v1alpha1")["status"]
        else:
            status = beta_status
        version = dgd["apiVersion"].rsplit("/", 1)[-1]
        if version in self.status_schemas:
            status = prune(self.status_schemas[version], status)
        if status != old:
            self.store.put(DGD, {**dgd, "metadata": dict(meta), "status": status})

    def _summarise(
        self, record: DgdRecord, components: list[Component], now: float
    ) -> tuple[str, str, str, dict]:
        counts, waiting, problems = {}, [], []
        rolling = False
        for component in components:
            sims = [s for s in record.pods.values() if s.live and s.component == component.name]
            updated = [s for s in sims if s.template_hash == component.template_hash]
            # Like a Deployment's status, ready counts old pods still serving during a rollout.
            ready = [s for s in sims if s.shown and s.shown[5]]
            rolling = rolling or len(updated) < len(sims)
            # Counts are in replicas: a multinode replica is nodeCount pods, ready when all are.
            nodes = component.nodes
            counts[component.name] = {
                "componentKind": "Deployment" if nodes == 1 else "LeaderWorkerSet",
                "replicas": component.replicas,
                "updatedReplicas": len(updated) // nodes,
                "readyReplicas": len(ready) // nodes,
            }
            if nodes == 1:
                counts[component.name]["availableReplicas"] = len(ready)
            note = ""
            if any(s.pull_failed_at is not None and s.started_at is None for s in updated):
                image = component.container.get("image", DEFAULT_IMAGE)
                note = f': image "{image}" cannot be pulled'
            elif any(s.restarts or s.exited_at is not None for s in updated):
                note = f": container main keeps exiting with code {EXIT_CODE}"
            if len(updated) < len(sims):
                count = f"{len(updated) // nodes}/{component.replicas} updated"
                waiting.append(f"{component.name} ({count}){note}")
            elif len(ready) < component.pods_wanted or len(sims) != component.pods_wanted:
                count = f"{len(ready) // nodes}/{component.replicas} ready"
                waiting.append(f"{component.name} ({count}){note}")
            for sim in sims:
                problem = sim.blocked or sim.unschedulable or sim.mount_failed
                if problem:
                    problems.append(f"{component.name}: {problem}")
                    break
        # A missing volume keeps pods waiting (Pending); a missing Secret for env fails them.
        config_errors = [
            p
            for p in problems
            if ("not found" in p or "couldn't find key" in p) and not _waits_for_volume(p)
        ]
        if config_errors:
            return "failed", "CreateContainerConfigError", "; ".join(problems), counts
        # The Ready condition's reasons of Dynamo 1.5's operator.
        if problems and waiting and len(problems) < len(waiting):
            message = "; ".join(problems) + "; components not ready: " + ", ".join(waiting)
            return "pending", "mixed_not_ready_reasons", message, counts
        if problems:
            return "pending", "insufficient_capacity", "; ".join(problems), counts
        if rolling or any(c["updatedReplicas"] < c["replicas"] for c in counts.values()):
            message = "Rolling out the new pod template: " + ", ".join(waiting)
            return "pending", "updating", message, counts
        if waiting:
            return (
                "pending",
                "pods_not_ready",
                "Components not ready: " + ", ".join(waiting),
                counts,
            )
        return "successful", "all_resources_are_ready", "All components are ready", counts

    # ------------------------------------------------------------------ events

    def _event(
        self, sim: PodSim, kind: str, reason: str, message: str, source: str, at: float
    ) -> None:
        """Record an event, folding repeats into count/lastTimestamp like the event recorder."""
        key = (sim.namespace, sim.name, reason, message)
        name = self._events.get(key)
        existing = self.store.get("events", sim.namespace, name) if name else None
        if existing is not None:
            # Repeats are folded at most once per retry interval, as the recorder's cache does.
            if at - self._event_last.get(name, 0.0) < RETRY * self.scale:
                return
            self._event_last[name] = at
            event = {
                **existing,
                "count": existing["count"] + 1,
                "lastTimestamp": rfc3339(at),
                "metadata": dict(existing["metadata"]),
            }
            self.store.put("events", event)
            return
        pod = self.store.get("pods", sim.namespace, sim.name) or {"metadata": {}}
        name = f"{sim.name}.{_hash([sim.name, reason, message, at], 16)}"
        self._events[key] = name
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": name,
                "namespace": sim.namespace,
                "uid": _uid(f"event/{name}"),
                "creationTimestamp": rfc3339(at),
            },
            "involvedObject": {
                "apiVersion": "v1",
                "kind": "Pod",
                "name": sim.name,
                "namespace": sim.namespace,
                "uid": pod["metadata"].get("uid", ""),
                "fieldPath": "spec.containers{main}" if source == "kubelet" else None,
            },
            "reason": reason,
            "message": message,
            "type": kind,
            "count": 1,
            "firstTimestamp": rfc3339(at),
            "lastTimestamp": rfc3339(at),
            "source": {"component": source, **({"host": sim.node} if sim.node else {})},
            "reportingComponent": source,
            "reportingInstance": sim.node or "",
        }
        if event["involvedObject"]["fieldPath"] is None:
            del event["involvedObject"]["fieldPath"]
        self._event_last[name] = at
        self.store.put("events", event)

    def _dgd_event(self, dgd: dict, kind: str, reason: str, message: str, at: float) -> None:
        """An event on the DGD itself, as the operator's event recorder writes it."""
        meta = dgd["metadata"]
        name = f"{meta['name']}.{_hash([meta['uid'], reason, message, at], 16)}"
        self.store.put(
            "events",
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {
                    "name": name,
                    "namespace": meta["namespace"],
                    "uid": _uid(f"event/{name}"),
                    "creationTimestamp": rfc3339(at),
                },
                "involvedObject": {
                    "apiVersion": dgd["apiVersion"],
                    "kind": "DynamoGraphDeployment",
                    "name": meta["name"],
                    "namespace": meta["namespace"],
                    "uid": meta["uid"],
                    "resourceVersion": meta.get("resourceVersion", ""),
                },
                "reason": reason,
                "message": message,
                "type": kind,
                "count": 1,
                "firstTimestamp": rfc3339(at),
                "lastTimestamp": rfc3339(at),
                "source": {"component": "dynamo-operator"},
                "reportingComponent": "dynamo-operator",
                "reportingInstance": "",
            },
        )

    def _wake(self, at: float) -> None:
        self.next_wakeup = min(self.next_wakeup, at)


def _waits_for_volume(problem: str) -> bool:
    return "MountVolume" in problem or "persistentvolumeclaim" in problem.lower()


def _matches(node: dict, selector: dict) -> bool:
    labels = (node.get("metadata") or {}).get("labels") or {}
    return all(labels.get(key) == value for key, value in selector.items())


def _ready_condition(kind: str, ready: bool, sim: PodSim, scheduled: str) -> dict:
    condition = {
        "type": kind,
        "status": "True" if ready else "False",
        "lastTransitionTime": rfc3339(sim.ready_at) if ready and sim.ready_at else scheduled,
    }
    if not ready:
        condition["reason"] = "ContainersNotReady"
        condition["message"] = "containers with unready status: [main]"
    return condition


def _pod_container(component: Component) -> dict:
    source = component.container
    container = {k: v for k, v in source.items() if v not in (None, [], {})}
    container["name"] = "main"
    if component.type == "frontend":
        container.setdefault(
            "ports", [{"containerPort": FRONTEND_PORT, "name": "http", "protocol": "TCP"}]
        )
    container.setdefault("imagePullPolicy", "IfNotPresent")
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    return container


def _image_id(image: str) -> str:
    """A pulled image's digest reference, as the kubelet reports it."""
    return f"{image.split(':')[0]}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def _owner(dgd: dict) -> dict:
    return {
        "apiVersion": dgd["apiVersion"],
        "kind": "DynamoGraphDeployment",
        "name": dgd["metadata"]["name"],
        "uid": dgd["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _node_ip(node: str) -> str:
    return f"10.0.{int(_hash(node, 2), 16)}.{int(_hash(node[::-1], 2), 16)}"


def _uid(seed: str) -> str:
    digest = hashlib.sha1(seed.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
