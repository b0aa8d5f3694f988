"""Queries that return page models: the dashboard's rows, one deployment, the cluster status.

Every cluster read answers from Dynamote's mirror of the cluster (`deployments.mirror`).
"""

import hashlib
import json
import logging
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib import import_module

from django.conf import settings

from catalog.selectors import catalog_names
from deployments import cluster, mirror
from deployments.cluster import ClusterError
from deployments.dgd import (
    dgd_components,
    dgd_custom_model,
    dgd_engine,
    dgd_hf_model,
    dgd_model,
    engine_label,
    flag,
    is_external,
    pods_model_engine,
    served_model_name,
    workers,
)
from deployments.engines import Release, resolve_release
from deployments.manifests import block_yaml
from deployments.models import DeploymentSubmission, Outcome
from deployments.names import is_namespace
from deployments.restarts import Progress, rollout_progress
from deployments.status import (
    DGD_LABEL,
    STATUS_ORDER,
    Badge,
    Reason,
    RoleCount,
    component_replicas,
    deployment_status,
    events_newest_first,
    humanize_age,
    parse_time,
    pod_gpus,
    pod_phase,
    pod_ready,
    pod_reason,
    pod_restarts,
    why_not_ready,
    worker_replicas,
    workers_text,
)

logger = logging.getLogger("dynamote.mirror")

# --- the dashboard ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One line of the dashboard table (hashable: the view caches its rendered HTML)."""

    namespace: str
    name: str
    model: str  # Dynamote's catalog id, else the Hugging Face id
    engine: str
    badge: Badge
    ready: int  # workers, summed over the roles (the frontend serves no model)
    desired: int
    created: datetime | None
    age: str
    external: bool
    resource_version: str
    gone: bool = False  # the DGD is deleted; its pods are still shutting down
    model_name: str = ""  # what people call the model: the catalog's name, else the HF id
    workers: tuple[RoleCount, ...] = ()

    @property
    def engine_label(self) -> str:
        return engine_label(self.engine)

    @property
    def workers_text(self) -> str:
        return workers_text(self.workers) if self.workers else f"{self.ready}/{self.desired}"

    def as_json(self) -> dict:
        return {
            "namespace": self.namespace,
            "name": self.name,
            "model": self.model,
            "modelName": self.model_name,
            "engine": self.engine,
            "status": self.badge.label,
            "statusReason": self.badge.reason,
            "replicas": {
                "ready": self.ready,
                "desired": self.desired,
                "roles": [
                    {"role": r.role, "ready": r.ready, "desired": r.desired} for r in self.workers
                ],
                "text": self.workers_text,
            },
            "createdAt": self.created.isoformat() if self.created else None,
            "age": self.age,
            "external": self.external,
            "resourceVersion": self.resource_version,
        }


@dataclass
class Listing:
    """The dashboard's rows, with when they were fetched and why they may be stale."""

    rows: list[Row]
    fetched_at: datetime | None
    error: ClusterError | None
    fingerprint: str

    @property
    def stale(self) -> bool:
        return self.error is not None and self.fetched_at is not None


def _grouped(pods: list[dict]) -> dict[tuple[str, str], list[dict]]:
    groups: dict[tuple[str, str], list[dict]] = {}
    for pod in pods:
        meta = pod.get("metadata") or {}
        owner = (meta.get("labels") or {}).get(DGD_LABEL)
        if owner:
            groups.setdefault((meta.get("namespace", ""), owner), []).append(pod)
    return groups


def model_name(model_id: str, hf_model: str, names: dict[str, str]) -> str:
    """The catalog's name of the model when it is known, else its Hugging Face id."""
    return (names.get(model_id) or names.get(hf_model.lower()) or names.get(model_id.lower())) or (
        hf_model or model_id
    )


def _row(dgd: dict, pods: list[dict], now: datetime, names: dict[str, str]) -> Row:
    meta = dgd.get("metadata") or {}
    components = dgd_components(dgd)
    roles = worker_replicas(dgd, pods=pods)
    created = parse_time(meta.get("creationTimestamp"))
    model = dgd_model(dgd, components)
    return Row(
        namespace=meta.get("namespace", ""),
        name=meta.get("name", ""),
        model=model,
        model_name=model_name(model, dgd_hf_model(dgd, components), names),
        engine=dgd_engine(dgd),
        badge=deployment_status(dgd, pods=pods),
        ready=sum(r.ready for r in roles),
        desired=sum(r.desired for r in roles),
        workers=roles,
        created=created,
        age=humanize_age(created, now=now),
        external=is_external(dgd),
        resource_version=meta.get("resourceVersion", ""),
    )


def _ghost_row(
    namespace: str,
    name: str,
    pods: list[dict],
    now: datetime,
    names: dict[str, str],
    last: Row | None,
) -> Row:
    """The row of a deleted DGD whose pods are still shutting down: what the pods still tell."""
    hf_model, engine = pods_model_engine(pods)
    model = (last.model if last else "") or hf_model
    created = min(
        (parse_time((p.get("metadata") or {}).get("creationTimestamp")) for p in pods),
        default=None,
        key=lambda moment: moment or now,
    )
    return Row(
        namespace=namespace,
        name=name,
        model=model,
        model_name=(last.model_name if last else "") or model_name(model, hf_model, names),
        engine=(last.engine if last else "") or engine,
        badge=deployment_status(None, pods=pods),
        ready=0,
        desired=0,
        created=created,
        age=humanize_age(created, now=now),
        external=False,
        resource_version=",".join(
            sorted((p.get("metadata") or {}).get("resourceVersion", "") for p in pods)
        ),
        gone=True,
    )


SORTS = {
    "name": lambda row: (row.name, row.namespace),
    "age": lambda row: (-(row.created.timestamp() if row.created else 0), row.name),
    "status": lambda row: (STATUS_ORDER[row.badge.key], row.name),
}


def list_namespaces() -> list[str]:
    """The namespaces the dashboard reads: the allow-list, or everything (one cluster list)."""
    return list(settings.DYNAMOTE_NAMESPACES) or [mirror.ALL]


def valid_namespace(namespace: str) -> bool:
    """Whether Dynamote may use the namespace: a valid name, in the allow-list if one is set."""
    allowed = settings.DYNAMOTE_NAMESPACES
    return is_namespace(namespace) and (not allowed or namespace in allowed)


_derived_lock = threading.Lock()
_derived: dict[str, tuple[object, object, list[Row]]] = {}


def _scope_rows(
    scope: str, dgds: mirror.Snapshot, pods: mirror.Snapshot, now: datetime
) -> list[Row]:
    """The rows of one cached list pair, derived once per fetch (ages refreshed per call)."""
    with _derived_lock:
        hit = _derived.get(scope)
    if hit and hit[0] is dgds.value and hit[1] is pods.value:
        rows = hit[2]
    else:
        groups = _grouped(pods.value or [])
        models = catalog_names()
        # A deleted DGD's row keeps what the last list said of it (its pods say less).
        before = {(row.namespace, row.name): row for row in (hit[2] if hit else [])}
        rows, names = [], set()
        for dgd in dgds.value:
            meta = dgd.get("metadata") or {}
            key = (meta.get("namespace", ""), meta.get("name", ""))
            names.add(key)
            rows.append(_row(dgd, groups.get(key, []), now, models))
        for key, owned in groups.items():
            # Pods left of a deleted DGD, all shutting down: the row shows Deleting until
            # they are gone. (Pods of a DGD newer than the DGD list are not terminating.)
            if key not in names and all(
                (p.get("metadata") or {}).get("deletionTimestamp") for p in owned
            ):
                rows.append(_ghost_row(key[0], key[1], owned, now, models, before.get(key)))
        with _derived_lock:
            _derived[scope] = (dgds.value, pods.value, rows)
    return [
        row if row.age == (age := humanize_age(row.created, now=now)) else replace(row, age=age)
        for row in rows
    ]


def deployment_list(
    *, namespace: str | None, sort: str = "name", descending: bool = False
) -> Listing:
    """Every DGD (in one namespace, or all), its pods read with one list per namespace."""
    now = datetime.now(UTC)
    rows: list[Row] = []
    fetched: list[datetime] = []
    error: ClusterError | None = None
    scopes = [namespace] if namespace else list_namespaces()
    for scope in scopes:
        mirror.start("dgds", "pods", namespace=scope)
    for scope in scopes:
        dgds, pods = mirror.dgds(scope), mirror.pods(scope)
        error = error or dgds.error or pods.error
        if not dgds.has_value:
            continue
        fetched.append(dgds.fetched_at)
        rows.extend(_scope_rows(scope, dgds, pods, now))
    rows.sort(key=SORTS.get(sort, SORTS["name"]), reverse=descending)
    fetched_at = min(fetched) if fetched else None
    shown = [
        (r.namespace, r.name, r.resource_version, r.badge.key, r.age, r.workers_text, r.model_name)
        for r in rows
    ]
    stale_marker = fetched_at.isoformat() if error and fetched_at else bool(error)
    digest = hashlib.sha1(
        json.dumps([shown, stale_marker, str(error or "")], default=str).encode()
    ).hexdigest()[:16]
    return Listing(rows=rows, fetched_at=fetched_at, error=error, fingerprint=digest)


def warm_up() -> Listing | None:
    """Lists what the dashboard shows and derives its rows, before anyone asks (a served
    process's start); None when the cluster cannot be read (the watches keep trying)."""
    import_module(settings.ROOT_URLCONF)  # every page's code, imported once
    try:
        with cluster.deadline():
            return deployment_list(namespace=None)
    except ClusterError as exc:
        logger.warning("warming the mirror up: %s", exc.message)
        return None


def deployment_list_ready(*, namespace: str | None) -> bool:
    """Whether the table can be drawn without waiting for the cluster."""
    scopes = [namespace] if namespace else list_namespaces()
    return all(mirror.ready("dgds", scope) and mirror.ready("pods", scope) for scope in scopes)


def dgd_names(*, namespace: str) -> set[str] | None:
    """The names of the DGDs in a namespace (shared cache), or None when they cannot be read."""
    if not valid_namespace(namespace):
        return None
    snapshot = mirror.dgds(namespace)
    if not snapshot.has_value:
        return None
    return {(dgd.get("metadata") or {}).get("name", "") for dgd in snapshot.value}


def namespace_choices() -> list[str]:
    """The namespaces to filter by: the allow-list, or the cluster's (cached)."""
    if settings.DYNAMOTE_NAMESPACES:
        return list(settings.DYNAMOTE_NAMESPACES)
    return mirror.namespaces().value or []


# --- the deploy form -------------------------------------------------------------------------
# Each raises the ClusterError of the last read; typing in the form reads the shared cache,
# not the cluster.


def _value(snapshot: mirror.Snapshot):
    if snapshot.error is not None:
        raise snapshot.error
    return snapshot.value


def dgd_target() -> tuple[str, dict]:
    """The DGD version the cluster prefers and its CRD."""
    return _value(
        mirror.cached(
            "dgd_target",
            "",
            mirror.LIST_TTL,  # the cluster module keeps discovery itself; this retries failures
            lambda: (cluster.preferred_dgd_version(), cluster.dgd_crd()),
        )
    )


def dynamo_release(*, api_version: str) -> Release:
    """The Dynamo release new deployments are built for, and why (see `resolve_release`)."""
    namespace = settings.DYNAMOTE_DYNAMO_NAMESPACE
    image, why_not = _value(
        mirror.cached(
            "operator_image",
            namespace,
            mirror.STATUS_TTL,
            lambda: cluster.operator_image(namespace=namespace),
        )
    )
    return resolve_release(
        api_version=api_version,
        operator_image=image,
        configured=settings.DYNAMOTE_DYNAMO_VERSION,
        why_not=why_not,
    )


def cluster_namespaces() -> list[str]:
    """Every namespace of the cluster."""
    return _value(mirror.namespaces())


def gpu_usage() -> tuple[list[dict], list[dict]]:
    """The nodes and the pods of every namespace, for the GPU fit."""
    return _value(mirror.nodes()), _value(mirror.pods(mirror.ALL))


def volume_claims(*, namespace: str) -> list[dict]:
    """The PersistentVolumeClaims of a namespace (shared cache)."""
    return _value(
        mirror.cached(
            "persistentvolumeclaims",
            namespace,
            mirror.LIST_TTL,
            lambda: cluster.persistent_volume_claims(namespace=namespace),
        )
    )


def cluster_nodes() -> list[dict]:
    """The cluster's nodes (the mirror, as the GPU fit's)."""
    return _value(mirror.nodes())


def secret_present(*, namespace: str, name: str) -> bool:
    """Whether the Secret exists (its metadata only is read)."""
    return _value(
        mirror.cached(
            f"secret/{name}",
            namespace,
            mirror.LIST_TTL,
            lambda: cluster.secret_exists(namespace=namespace, name=name),
        )
    )


def dgd_named(*, namespace: str, name: str) -> dict | None:
    """The DGD of that name from the namespace's shared list, or None when it is absent."""
    snapshot = mirror.dgds(namespace)
    if snapshot.error is not None or not snapshot.has_value:
        raise snapshot.error or Missing("No data")
    return next((d for d in snapshot.value if (d.get("metadata") or {}).get("name") == name), None)


# --- one deployment ---------------------------------------------------------------------------


@dataclass
class PodRow:
    name: str
    component: str
    phase: str
    ready: bool
    ready_text: str
    restarts: int
    node: str
    created: datetime | None
    age: str
    gpus: int
    reason: str = ""  # why it is Pending or waiting, in the cluster's words

    def as_json(self) -> dict:
        return {
            "name": self.name,
            "component": self.component,
            "phase": self.phase,
            "reason": self.reason,
            "ready": self.ready,
            "restarts": self.restarts,
            "node": self.node,
            "createdAt": self.created.isoformat() if self.created else None,
            "age": self.age,
            "gpus": self.gpus,
        }


def _pod_row(pod: dict, now: datetime) -> PodRow:
    meta = pod.get("metadata") or {}
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    containers = (pod.get("spec") or {}).get("containers") or []
    created = parse_time(meta.get("creationTimestamp"))
    return PodRow(
        name=meta.get("name", ""),
        component=(meta.get("labels") or {}).get("nvidia.com/dynamo-component", ""),
        phase=pod_phase(pod),
        ready=pod_ready(pod),
        ready_text=f"{sum(1 for s in statuses if s.get('ready'))}/{len(containers) or 1}",
        restarts=pod_restarts(pod),
        node=(pod.get("spec") or {}).get("nodeName", ""),
        created=created,
        age=humanize_age(created, now=now),
        gpus=pod_gpus(pod),
        reason=pod_reason(pod),
    )


@dataclass
class Detail:
    """Everything the details page shows about one deployment."""

    namespace: str
    name: str
    dgd: dict | None  # None: deleted, pods still shutting down
    badge: Badge
    pods: list[PodRow]
    events: list[dict]
    reason: Reason | None
    components: list[dict]
    summary: dict
    submission: DeploymentSubmission | None
    manifest_yaml: str
    fetched_at: datetime | None
    error: ClusterError | None
    fingerprint: str
    # Parts that could not be read, each with the cluster's reason (e.g. a missing RBAC rule).
    events_error: str = ""
    logs_error: str = ""
    # A restart or rolling update under way, or the last restart's outcome.
    progress: Progress | None = None

    @property
    def stale(self) -> bool:
        return self.error is not None and self.fetched_at is not None

    @property
    def settled(self) -> bool:
        """Nothing will change by itself: every pod ready and the DGD ready."""
        return (
            self.dgd is not None
            and self.badge.key == "ready"
            and all(pod.ready for pod in self.pods)
            and self.error is None
        )

    @property
    def conditions(self) -> list[dict]:
        return ((self.dgd or {}).get("status") or {}).get("conditions") or []

    def as_json(self) -> dict:
        return {
            "namespace": self.namespace,
            "name": self.name,
            "status": self.badge.label,
            "statusReason": self.badge.reason,
            "whyNotReady": self.reason.sentence if self.reason else None,
            "summary": self.summary,
            "components": self.components,
            "conditions": self.conditions,
            "pods": [pod.as_json() for pod in self.pods],
            "createdBy": self.submission.user.get_username()
            if self.submission and self.submission.user
            else None,
            "manifest": self.dgd,
            "progress": self.progress.as_json() if self.progress else None,
            "stale": self.stale,
            "error": self.error.message if self.error else None,
        }


class Missing(ClusterError):
    """Neither the DGD nor any of its pods is on the cluster."""

    status = 404
    title = "Not found"


def _manifest_yaml(dgd: dict) -> str:
    shown = json.loads(json.dumps(dgd))
    (shown.get("metadata") or {}).pop("managedFields", None)
    return block_yaml(shown)


def _summary(dgd: dict, components: list[dict], pods: list[dict]) -> dict:
    kinds = {c["type"] for c in workers(components)}
    frontend = next((c for c in components if c["type"] == "frontend"), {})
    router = (frontend.get("env") or {}).get("DYN_ROUTER_MODE") or flag(
        frontend.get("args") or [], "--router-mode"
    )
    images = sorted({c["image"] for c in components if c["image"]})
    model, hf_model = dgd_model(dgd, components), dgd_hf_model(dgd, components)
    roles = worker_replicas(dgd, pods=pods)
    return {
        "model": model,
        "model_name": model_name(model, hf_model, catalog_names()),
        "hf_model": hf_model,
        "workers": workers_text(roles),
        "worker_roles": [{"role": r.role, "ready": r.ready, "desired": r.desired} for r in roles],
        "served_model_name": served_model_name(dgd, components),
        "engine": dgd_engine(dgd),
        "engine_label": engine_label(dgd_engine(dgd)),
        "mode": "disaggregated" if kinds & {"prefill", "decode"} else "aggregated",
        "router": router or "round-robin",
        "images": images,
        "secret": next((c["secret"] for c in components if c["secret"]), ""),
        "gpus": sum(c["gpus"] * c["replicas"] for c in components),
        "external": is_external(dgd),
        "api_version": dgd.get("apiVersion", ""),
        "custom_model": dgd_custom_model(dgd),
    }


def deployment_get(*, namespace: str, name: str) -> Detail:
    """One deployment with pods, events and why it is not ready; Missing when absent."""
    now = datetime.now(UTC)
    mirror.start("dgds", "pods", "events", namespace=namespace)
    dgds, pods = mirror.dgds(namespace), mirror.pods(namespace)
    if not dgds.has_value:
        raise dgds.error or pods.error or Missing("No data")
    error = dgds.error or pods.error
    dgd = next((d for d in dgds.value if (d.get("metadata") or {}).get("name") == name), None)
    owned = _grouped(pods.value or []).get((namespace, name), [])
    if dgd is None and not owned:
        raise Missing(not_found_message(namespace=namespace, name=name))
    names = {name} | {(p.get("metadata") or {}).get("name") for p in owned}
    events_snapshot = mirror.events(namespace)
    events = events_newest_first(
        [
            e
            for e in events_snapshot.value or []
            if (e.get("involvedObject") or {}).get("name") in names
        ]
    )
    badge = deployment_status(dgd, pods=owned)
    nodes = cluster_pods = None
    if any(
        c.get("type") == "PodScheduled" and c.get("status") == "False"
        for p in owned
        for c in (p.get("status") or {}).get("conditions") or []
    ):
        nodes = mirror.nodes().value
        cluster_pods = mirror.pods(mirror.ALL).value
    logs, logs_error = _crash_logs(namespace, owned)
    reason = (
        why_not_ready(
            dgd, pods=owned, events=events, nodes=nodes, cluster_pods=cluster_pods, logs=logs
        )
        if dgd is not None or owned
        else None
    )
    components = dgd_components(dgd) if dgd else []
    counts = {c["name"]: c for c in component_replicas(dgd, pods=owned)} if dgd else {}
    for component in components:
        component["ready"] = counts.get(component["name"], {}).get("ready", 0)
    submission = deployed_submission(namespace=namespace, name=name)
    pod_rows = sorted((_pod_row(p, now) for p in owned), key=lambda p: (p.component, p.name))
    meta = (dgd or {}).get("metadata") or {}
    digest = hashlib.sha1(
        json.dumps(
            [
                meta.get("resourceVersion"),
                [(p.name, p.phase, p.ready, p.restarts, p.age, p.reason) for p in pod_rows],
                [e.get("metadata", {}).get("resourceVersion") for e in events],
                bool(error),
            ]
        ).encode()
    ).hexdigest()[:16]
    return Detail(
        namespace=namespace,
        name=name,
        dgd=dgd,
        badge=badge,
        pods=pod_rows,
        events=events,
        reason=reason,
        components=components,
        summary=_summary(dgd, components, owned) if dgd else {},
        submission=submission,
        manifest_yaml=_manifest_yaml(dgd) if dgd else "",
        fetched_at=dgds.fetched_at,
        error=error,
        fingerprint=digest,
        events_error=events_snapshot.error.message if events_snapshot.error else "",
        logs_error=logs_error,
        progress=rollout_progress(dgd, owned),
    )


def _crash_logs(namespace: str, pods: list[dict]) -> tuple[dict[str, str], str]:
    """The last log lines of (at most) one crashing pod, and why they could not be read."""
    for pod in pods:
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        waiting = [((s.get("state") or {}).get("waiting") or {}).get("reason") for s in statuses]
        if "CrashLoopBackOff" in waiting or any(
            (s.get("lastState") or {}).get("terminated") for s in statuses
        ):
            name = pod["metadata"]["name"]
            # Restarted and running again: the lines that explain the crash are the last run's.
            previous = any((s.get("state") or {}).get("running") for s in statuses)
            snapshot = mirror.cached(
                "log",
                f"{namespace}/{name}/{previous}",
                mirror.LIST_TTL,
                lambda name=name, previous=previous: cluster.pod_log(
                    namespace=namespace, name=name, tail_lines=20, previous=previous
                ),
            )
            return {name: snapshot.value or ""}, snapshot.error.message if snapshot.error else ""
    return {}, ""


def pod_list(*, namespace: str, name: str) -> list[PodRow]:
    """The pods of one deployment, from the namespace's shared pod list."""
    now = datetime.now(UTC)
    snapshot = mirror.pods(namespace)
    if not snapshot.has_value:
        raise snapshot.error or Missing("No data")
    owned = _grouped(snapshot.value).get((namespace, name), [])
    return sorted((_pod_row(p, now) for p in owned), key=lambda p: (p.component, p.name))


def deployment_pods(*, namespace: str, name: str) -> list[dict]:
    """The pod objects of one deployment, from the namespace's shared pod list."""
    snapshot = mirror.pods(namespace)
    if not snapshot.has_value:
        raise snapshot.error or Missing("No data")
    return _grouped(snapshot.value).get((namespace, name), [])


# --- the cluster ------------------------------------------------------------------------------

CONNECTED, UNREACHABLE, NOT_INSTALLED = "connected", "unreachable", "not_installed"
CHECKING = "checking"
# A page waits this long (s) for the very first status check, then shows "Checking" and moves on.
STATUS_WAIT = 1.5


@dataclass(frozen=True)
class ClusterStatus:
    """What the header says about the cluster."""

    state: str
    message: str = ""
    server: str = ""
    context: str = ""
    version: str = ""
    dgd_versions: tuple[str, ...] = ()
    default_namespace: str = ""
    checked_at: datetime | None = None
    sandbox: bool = False
    # The Dynamo operator's image (its tag is the platform's release), or why it is unknown.
    operator_image: str = ""
    operator_note: str = ""

    @property
    def release(self) -> Release | None:
        """The release new deployments are built for, once the DGD versions are known."""
        if not self.dgd_versions:
            return None
        return resolve_release(
            api_version=self.dgd_versions[0],
            operator_image=self.operator_image,
            configured=settings.DYNAMOTE_DYNAMO_VERSION,
            why_not=self.operator_note,
        )

    @property
    def label(self) -> str:
        return {
            CONNECTED: "Connected",
            UNREACHABLE: "Unreachable",
            CHECKING: "Checking",
            NOT_INSTALLED: "Dynamo not installed",
        }[self.state]

    def as_json(self) -> dict:
        return {
            "state": self.state,
            "label": self.label,
            "message": self.message,
            "server": self.server,
            "context": self.context,
            "kubernetesVersion": self.version,
            "dgdVersions": list(self.dgd_versions),
            "defaultNamespace": self.default_namespace,
            "checkedAt": self.checked_at.isoformat() if self.checked_at else None,
            "sandbox": self.sandbox,
            "dynamoRelease": (
                {
                    "line": release.line.key,
                    "imageTag": release.image_tag,
                    "source": release.source,
                    "reason": release.reason,
                    "operatorImage": self.operator_image,
                }
                if (release := self.release)
                else None
            ),
        }


def _probe() -> dict:
    connection = cluster.connection()
    version = cluster.server_version()
    versions = tuple(cluster.dgd_versions())
    image, note = "", ""
    if versions:
        image, note = cluster.operator_image(namespace=settings.DYNAMOTE_DYNAMO_NAMESPACE)
    return {
        "server": connection.server,
        "context": connection.context,
        "version": version,
        "dgd_versions": versions,
        "operator_image": image,
        "operator_note": note,
    }


def cluster_status(*, fresh: bool = False) -> ClusterStatus:
    """Connected, unreachable or without Dynamo, for the header; never waits on the cluster.

    The check runs at most every 30 s for everyone, in the background; a page waits for the
    very first one only, STATUS_WAIT at most. `fresh` (asked for explicitly) waits for a new
    check whenever the last is old, within the request's deadline. A request that met an
    unreachable cluster says so, whatever the last check found.
    """
    wait = cluster.remaining(mirror.WAIT_TIMEOUT) if fresh else STATUS_WAIT
    common = {
        "default_namespace": settings.DYNAMOTE_DEFAULT_NAMESPACE,
        "sandbox": settings.DYNAMOTE_SANDBOX,
    }
    seen = cluster.seen_unreachable()
    if seen is not None:
        return ClusterStatus(
            UNREACHABLE, message=seen.message, checked_at=datetime.now(UTC), **_where(), **common
        )
    try:
        snapshot = mirror.shared_cache.get_soon(
            mirror.cache_key("cluster"), mirror.STATUS_TTL, _probe, wait=wait, fresh=fresh
        )
    except Exception as exc:
        return ClusterStatus(UNREACHABLE, message=str(exc), **common)
    if snapshot.error is not None:
        return ClusterStatus(
            UNREACHABLE,
            message=snapshot.error.message,
            checked_at=datetime.now(UTC),
            **_where(),
            **common,
        )
    if not snapshot.has_value:
        return ClusterStatus(
            CHECKING,
            message="Dynamote is asking the cluster; this page shows the answer soon.",
            **_where(),
            **common,
        )
    info = snapshot.value
    state = CONNECTED if info["dgd_versions"] else NOT_INSTALLED
    message = (
        ""
        if info["dgd_versions"]
        else "The cluster serves no DynamoGraphDeployment API: install the Dynamo platform."
    )
    return ClusterStatus(state, message=message, checked_at=snapshot.fetched_at, **info, **common)


def _where() -> dict:
    try:
        connection = cluster.connection()
    except ClusterError:
        return {}
    return {"server": connection.server, "context": connection.context}


def deployed_submission(*, namespace: str, name: str) -> DeploymentSubmission | None:
    """The newest deploy-form submission that created this deployment, with its user."""
    return (
        DeploymentSubmission.objects.filter(
            namespace=namespace, name=name, outcome=Outcome.SUCCEEDED
        )
        .select_related("user")
        .first()
    )


def not_found_message(*, namespace: str, name: str) -> str:
    return f'There is no deployment "{name}" in namespace "{namespace}".'
