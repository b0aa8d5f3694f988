"""Dynamote's mirror of the cluster: one LIST, then one WATCH, per resource and process.

Kubernetes load must not grow with the number of open pages. As client-go's informers do,
each process lists every resource it shows once (DGDs in the served version, the pods of
DGDs, events, nodes, namespaces; per allowed namespace, or cluster-wide without an
allow-list), then watches it from the list's resourceVersion, with bookmarks; the watch is
renewed when the server ends it, resumed after a cut with backoff and jitter, and listed
again on 410 Gone. Pages read the mirror, never the cluster. A watch silent for longer than
its bookmarks allow counts as stalled and is opened again.

A watch down for longer than STALE_AFTER makes the reads carry its error (the stale banner),
with the objects as last seen. Where the cluster forbids WATCH, the reads fall back to the
shared TTL cache of LIST calls (`shared_cache`, also used for the few reads that are not
lists: the CRD, the operator's image, a Secret's existence, a pod's log). Each added,
modified or deleted object is announced in `deployments.feed`.
"""

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from deployments import cluster, feed
from deployments.cluster import ClusterError

logger = logging.getLogger("dynamote.mirror")

LIST_TTL = 5.0  # the fallback's LIST cache, where the cluster forbids WATCH
STATUS_TTL = 30.0  # the header's cluster status
NODES_TTL = 30.0
WAIT_TIMEOUT = 15.0  # longer than one cluster call may take (cluster.TIMEOUT)
ALL = "*"  # the cache key of a cluster-wide list
STALE_AFTER = 5.0  # a watch down this long (s) makes the reads stale
STALL_SECONDS = 90.0  # a watch silent this long (s; bookmarks come every minute) is stalled
WRITE_WAIT = 1.5  # a write waits at most this long (s) for the mirror to see it
BACKOFF = (0.5, 30.0)  # the first and the longest wait (s) before watching again
# Tests set this to a function giving the cluster's latest resourceVersion (None while the
# cluster is down): each read then first waits (2 s at most) until its watch got that far
# (or noticed the cluster down), so a test's next step sees the change it just made. None
# in production: reads never wait for the cluster.
read_barrier: Callable[[], str | None] | None = None


@dataclass
class Snapshot:
    """A cached result: the last good value and when it was fetched, and the last error."""

    value: Any = None
    fetched_at: datetime | None = None
    error: ClusterError | None = None

    @property
    def has_value(self) -> bool:
        return self.fetched_at is not None


@dataclass
class _Entry:
    snapshot: Snapshot = field(default_factory=Snapshot)
    checked: float | None = None  # monotonic time of the last call, good or failed
    inflight: threading.Event | None = None


class SharedCache:
    """Process-wide TTL cache whose concurrent misses share one load (request coalescing)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple, _Entry] = {}

    def get(self, key: tuple, ttl: float, load: Callable[[], Any]) -> Snapshot:
        """The cached snapshot, loading it (once, for every waiting caller) when older than ttl.

        An unreachable cluster in the snapshot counts against the request's deadline: its
        other cluster calls fail at once instead of waiting for the same timeout again.
        """
        with self._lock:
            entry = self._entries.setdefault(key, _Entry())
            if entry.checked is not None and time.monotonic() - entry.checked < ttl:
                cluster.note(entry.snapshot.error)
                return entry.snapshot
            waiting = entry.inflight
            if waiting is None:
                entry.inflight = threading.Event()
        if waiting is not None:
            # Never longer than the request's own deadline allows.
            waiting.wait(cluster.remaining(WAIT_TIMEOUT))
        else:
            self._load(entry, load)
        cluster.note(entry.snapshot.error)
        return entry.snapshot

    def get_soon(
        self, key: tuple, ttl: float, load: Callable[[], Any], *, wait: float, fresh: bool = False
    ) -> Snapshot:
        """The snapshot without waiting on the cluster: an old one is reloaded in the background.

        Waits up to `wait` seconds for that reload when there is nothing to show yet (or,
        with `fresh`, whenever the snapshot is old).
        """
        with self._lock:
            entry = self._entries.setdefault(key, _Entry())
            if entry.checked is not None and time.monotonic() - entry.checked < ttl:
                return entry.snapshot
            waiting, start = entry.inflight, entry.inflight is None
            if start:
                waiting = entry.inflight = threading.Event()
        if start:
            threading.Thread(
                target=self._load_alone, args=(entry, load), daemon=True, name="dynamote-refresh"
            ).start()
        if fresh or entry.checked is None:
            waiting.wait(wait)
        return entry.snapshot

    def _load_alone(self, entry: _Entry, load: Callable[[], Any]) -> None:
        with cluster.deadline():
            self._load(entry, load)

    def _load(self, entry: _Entry, load: Callable[[], Any]) -> None:
        try:
            value = load()
        except ClusterError as exc:
            with self._lock:
                # Failures are cached too: a down cluster is not hammered by every viewer.
                entry.snapshot = Snapshot(entry.snapshot.value, entry.snapshot.fetched_at, exc)
                entry.checked = time.monotonic()
        else:
            with self._lock:
                entry.snapshot = Snapshot(value, datetime.now(UTC), None)
                entry.checked = time.monotonic()
        finally:
            with self._lock:
                done, entry.inflight = entry.inflight, None
            if done is not None:
                done.set()

    def peek(self, key: tuple, ttl: float) -> Snapshot | None:
        """The snapshot when it is fresh, without loading; else None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry and entry.checked is not None and time.monotonic() - entry.checked < ttl:
                return entry.snapshot
        return None

    def expire(self, match: Callable[[tuple], bool]) -> None:
        """Makes matching entries due for a reload (their last good value is kept)."""
        with self._lock:
            for key, entry in self._entries.items():
                if match(key):
                    entry.checked = None

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


shared_cache = SharedCache()


def cache_key(kind: str, namespace: str = "") -> tuple:
    return (cluster.config_key(), kind, namespace)


# --- trimming: keep what Dynamote reads ------------------------------------------------------

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# What Dynamote never reads of a pod (volumes and mounts it does: a missing model cache).
_POD_META = ("generateName", "ownerReferences")
_POD_SPEC = (
    "restartPolicy",
    "terminationGracePeriodSeconds",
    "dnsPolicy",
    "schedulerName",
    "serviceAccount",
    "serviceAccountName",
    "enableServiceLinks",
    "securityContext",
    "priority",
    "preemptionPolicy",
)
_POD_CONTAINER = (
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "imagePullPolicy",
    "terminationMessagePath",
    "terminationMessagePolicy",
)
_POD_STATUS = ("qosClass", "hostIP", "hostIPs", "podIPs")  # podIP: the metrics read Ready pods
_POD_CONTAINER_STATUS = ("imageID", "containerID", "started")


def _trim_meta(obj: dict) -> dict:
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
        annotations = meta.get("annotations")
        if annotations and LAST_APPLIED in annotations:
            meta["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    return obj


def _drop(obj: object, keys: tuple[str, ...]) -> None:
    if isinstance(obj, dict):
        for key in keys:
            obj.pop(key, None)


def _trim_pod(pod: dict) -> dict:
    _drop(pod.get("metadata"), _POD_META)
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    _drop(spec, _POD_SPEC)
    for container in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        _drop(container, _POD_CONTAINER)
    _drop(status, _POD_STATUS)
    for container in status.get("containerStatuses") or []:
        _drop(container, _POD_CONTAINER_STATUS)
    return _trim_meta(pod)


def _trim_node(node: dict) -> dict:
    (node.get("status") or {}).pop("images", None)
    return _trim_meta(node)


_TRIM = {"dgds": _trim_meta, "pods": _trim_pod, "events": _trim_meta, "nodes": _trim_node}
# The notices' kinds, by mirrored resource.
_KINDS = {
    "dgds": "dgd",
    "pods": "pod",
    "events": "event",
    "nodes": "node",
    "namespaces": "namespace",
}


def _key(obj: dict) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return meta.get("namespace", ""), meta.get("name", "")


def _version(obj: dict | None) -> str:
    return ((obj or {}).get("metadata") or {}).get("resourceVersion", "")


def _newer_or_same(seen: str, wanted: str) -> bool:
    """Whether resourceVersion `seen` is at or after `wanted` (numbers on every real cluster)."""
    if seen.isdigit() and wanted.isdigit():
        return int(seen) >= int(wanted)
    return seen == wanted


# --- one resource, listed then watched ---------------------------------------------------------


class Reflector:
    """The objects of one resource in one namespace (or all), kept by a LIST and a WATCH in a
    daemon thread; reads answer from memory."""

    def __init__(self, config: tuple, resource: str, scope: str, label_selector: str = ""):
        self.config, self.resource, self.scope = config, resource, scope
        self.label_selector = label_selector
        self.kind = _KINDS[resource]
        self._trim = _TRIM.get(resource, _trim_meta)
        self._cond = threading.Condition()
        self._objects: dict[tuple[str, str], dict] = {}
        self._views: dict[str, list] = {}  # the lists handed out, until the next change
        self.version = ""  # the resourceVersion seen last (an event's or a bookmark's)
        self.listed = False
        self.error: ClusterError | None = None
        self.down_since: float | None = None  # monotonic time the watch was lost
        self.down_at: datetime | None = None
        self.forbidden = False  # WATCH is forbidden: reads use the TTL LIST instead
        self.watching = False  # a watch is open
        self.failures = 0  # failed attempts to list or watch, ever
        self.synced = threading.Event()  # the first LIST answered (or failed)
        self._stop = threading.Event()
        self._watcher: cluster.Watcher | None = None
        self._stale_announced = False
        self.thread = threading.Thread(
            target=self._run, daemon=True, name=f"dynamote-mirror-{resource}-{scope}"
        )

    @property
    def namespace(self) -> str | None:
        return None if self.scope == ALL else self.scope

    def __repr__(self) -> str:
        where = "all namespaces" if self.scope == ALL else f'namespace "{self.scope}"'
        return f"{self.resource} in {where}"

    # ----- the thread

    def start(self) -> "Reflector":
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        watcher = self._watcher
        if watcher is not None:
            watcher.stop()
        with self._cond:
            self._cond.notify_all()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def _run(self) -> None:
        attempt, must_list = 0, True
        while not self._stop.is_set():
            if cluster.config_key() != self.config:
                self.stop()  # the cluster changed: a new reflector takes over
                break
            listing = must_list
            try:
                if must_list:
                    with cluster.deadline():
                        items, version = cluster.listing(
                            self.resource,
                            namespace=self.namespace,
                            label_selector=self.label_selector,
                        )
                    self._replace(items, version)
                    must_list = listing = False
                    self._up()
                    attempt = 0
                self._watch()
                attempt = 0
            except cluster.Expired as exc:
                if self._stop.is_set():
                    break
                logger.info("mirror %r: %s", self, exc.message)
                must_list = True
            except cluster.Forbidden as exc:
                if self._stop.is_set():
                    break
                if not listing:
                    self._fall_back(exc)
                    return
                attempt = self._failed(exc, attempt)
            except ClusterError as exc:
                if self._stop.is_set():
                    break
                attempt = self._failed(exc, attempt)
            except Exception as exc:  # never let a surprise end the mirror for good
                if self._stop.is_set():
                    break
                logger.exception("mirror %r: unexpected failure", self)
                attempt = self._failed(cluster.ServerError(f"Unexpected failure: {exc}"), attempt)

    def _watch(self) -> None:
        self._watcher = watcher = cluster.Watcher(on_open=self._opened)
        if self._stop.is_set():
            return
        opened = time.monotonic()
        try:
            self._watch_events(watcher)
            if time.monotonic() - opened < 1.0:
                # Ended at once by the server: never a tight loop of watch requests.
                self._stop.wait(BACKOFF[0] * (0.5 + random.random()))
        except cluster.Stalled:
            raise
        except cluster.Unreachable:
            if not self.watching:
                raise
            # An open watch cut off (a restart, a load balancer): watched again at once, and
            # reported only if that fails.
            self._stop.wait(BACKOFF[0] * random.random())
        finally:
            self.watching = False

    def _opened(self) -> None:
        self.watching = True
        self._up()

    def _watch_events(self, watcher: cluster.Watcher) -> None:
        # Renewed every 5-10 minutes, spread as client-go's reflectors do.
        seconds = int(cluster.WATCH_SECONDS * (1 + random.random()))
        for kind, obj in cluster.watch(
            self.resource,
            namespace=self.namespace,
            resource_version=self.version,
            timeout_seconds=seconds,
            label_selector=self.label_selector,
            stall_seconds=STALL_SECONDS,
            watcher=watcher,
        ):
            if self._stop.is_set():
                return
            self._apply(kind, obj)

    def _failed(self, exc: ClusterError, attempt: int) -> int:
        """Records the failure (logged once per outage) and waits before trying again."""
        self._down(exc)
        first, longest = BACKOFF
        delay = min(longest, first * 2**attempt) * (0.5 + random.random())  # jitter
        end = time.monotonic() + delay
        while not self._stop.is_set() and (left := end - time.monotonic()) > 0:
            with self._cond:
                since = self.down_since
            if since is not None and not self._stale_announced:
                until_stale = since + STALE_AFTER - time.monotonic()
                if until_stale <= 0:
                    self._stale_announced = True
                    _health_changed()
                    continue
                left = min(left, until_stale + 0.01)
            self._stop.wait(left)
        return attempt + 1

    def _up(self) -> None:
        with self._cond:
            was_down, since = self.down_since is not None, self.down_since
            self.error, self.down_since, self.down_at = None, None, None
            self._stale_announced = False
            # The objects did not change: the lists handed out stay (pages keep what they
            # derived from them; a renewed watch costs no redraw).
            self._cond.notify_all()
        self.synced.set()
        if was_down:
            logger.info(
                "mirror %r: watching again after %.1f s", self, time.monotonic() - (since or 0)
            )
            _health_changed()

    def _down(self, exc: ClusterError) -> None:
        with self._cond:
            first = self.down_since is None
            self.error = exc
            self.failures += 1
            if first:
                self.down_since, self.down_at = time.monotonic(), datetime.now(UTC)
            self._cond.notify_all()
        self.synced.set()
        if first:
            logger.warning("mirror %r: lost the watch (%s); reconnecting", self, exc.message)
            _health_changed()

    def _fall_back(self, exc: ClusterError) -> None:
        logger.warning(
            "mirror %r: the cluster forbids WATCH (%s); reading with a LIST every %.0f s",
            self,
            exc.message,
            LIST_TTL,
        )
        with self._cond:
            self.forbidden = True
            self._objects.clear()
            self._views.clear()
            self._cond.notify_all()
        self.synced.set()

    def _replace(self, items: list[dict], version: str) -> None:
        """A new LIST: what changed since the last one is announced (deleted ones too).

        The first LIST announces nothing: no page has been shown anything from it yet."""
        fresh = {_key(obj): self._trim(obj) for obj in items}
        with self._cond:
            old, self._objects = self._objects, fresh
            first, self.listed = not self.listed, True
            self.version = version
            self._views.clear()
            self._cond.notify_all()
        if first:
            return
        for key in old.keys() | fresh.keys():
            before, after = old.get(key), fresh.get(key)
            if before is None or after is None or _version(before) != _version(after):
                self._announce(key, after or before)

    def _apply(self, kind: str, obj: dict) -> None:
        version = _version(obj)
        if kind == "BOOKMARK":
            with self._cond:
                self.version = version or self.version
                self._cond.notify_all()
            return
        key = _key(obj)
        with self._cond:
            if kind == "DELETED":
                self._objects.pop(key, None)
            else:
                self._objects[key] = self._trim(obj)
            self.version = version or self.version
            self._views.clear()
            self._cond.notify_all()
        self._announce(key, obj)

    def _announce(self, key: tuple[str, str], obj: dict) -> None:
        if self._stop.is_set():  # a mirror being replaced tells nothing more
            return
        labels = (obj.get("metadata") or {}).get("labels") or {}
        deployment = key[1] if self.kind == "dgd" else labels.get(feed.DEPLOYMENT_LABEL, "")
        feed.feed.publish(self.kind, key[0], key[1], deployment)

    # ----- reads

    def stale(self) -> bool:
        since = self.down_since
        return since is not None and time.monotonic() - since >= STALE_AFTER

    def snapshot(self, namespace: str) -> Snapshot:
        """The objects (of one namespace, or all), the same list until something changes."""
        with self._cond:
            error = self.error if (not self.listed or self.stale()) else None
            if not self.listed:
                return Snapshot(None, None, error)
            view = self._views.get(namespace)
            if view is None:
                view = [
                    obj
                    for (ns, _), obj in self._objects.items()
                    if namespace == ALL or ns == namespace
                ]
                if self.resource == "namespaces":
                    view = sorted(name for _, name in self._objects)
                self._views[namespace] = view
            fetched = self.down_at if error is not None else datetime.now(UTC)
            return Snapshot(view, fetched, error)

    def wait_barrier(self, version: str | None, timeout: float) -> None:
        """Waits until the watch is open and delivered `version` (or failed once more), or
        with None until the watch is lost."""
        failures = self.failures

        def done() -> bool:
            if self._stop.is_set() or self.forbidden:
                return True
            if version is None:
                return self.down_since is not None
            if self.failures > failures:
                return True
            return self.listed and self.down_since is None and _newer_or_same(self.version, version)

        with self._cond:
            self._cond.wait_for(done, timeout)

    def wait_seen(self, version: str, key: tuple[str, str], timeout: float) -> bool:
        """Waits until the watch delivered `version` (or, without one, `key` is gone)."""

        def seen() -> bool:
            if self._stop.is_set() or self.down_since is not None or self.forbidden:
                return True
            if version:
                return _newer_or_same(self.version, version)
            return key not in self._objects

        with self._cond:
            return self._cond.wait_for(seen, timeout)


_lock = threading.Lock()
_reflectors: dict[tuple, Reflector] = {}
resets = 0  # how many times reset() ran: what started before a reset stops with it


def _scope(namespace: str) -> str:
    """Which reflector answers for a namespace: its own with an allow-list, else the
    cluster-wide one."""
    if namespace == ALL or not settings.DYNAMOTE_NAMESPACES:
        return ALL
    return namespace


def _selector(resource: str, scope: str) -> str:
    # A namespace's pods: those of DGDs. All pods (the GPU fit counts every GPU in use).
    return feed.DEPLOYMENT_LABEL if resource == "pods" and scope != ALL else ""


def reflector(resource: str, scope: str) -> Reflector:
    """The running reflector of a resource, started on the first read in this process."""
    config = cluster.config_key()
    key = (config, resource, scope)
    with _lock:
        found = _reflectors.get(key)
        if found is not None and not found.stopped:
            return found
        for other_key, other in list(_reflectors.items()):
            if other_key[0] != config:  # a replaced cluster: its watches end
                other.stop()
                del _reflectors[other_key]
        found = _reflectors[key] = Reflector(
            config, resource, scope, _selector(resource, scope)
        ).start()
    return found


def start(*resources: str, namespace: str) -> None:
    """Starts the watches a page is about to read, so that their first LISTs overlap."""
    for resource in resources:
        reflector(resource, _scope(namespace))


def _read(resource: str, namespace: str) -> Snapshot:
    current = reflector(resource, _scope(namespace))
    # The first read in a process waits for the first LIST (within the request's deadline).
    late = cluster.await_answer(current.synced)
    if late is not None and not current.listed:
        return Snapshot(None, None, late)
    if read_barrier is not None:  # never beyond the request's deadline
        current.wait_barrier(read_barrier(), cluster.remaining(2.0))
    forbidden = current.forbidden
    snapshot = _fallback(resource, namespace) if forbidden else current.snapshot(namespace)
    cluster.note(snapshot.error)
    return snapshot


_FALLBACK_LOADS = {
    "dgds": lambda ns: cluster.listing("dgds", namespace=ns)[0],
    "pods": lambda ns: cluster.listing(
        "pods", namespace=ns, label_selector=feed.DEPLOYMENT_LABEL if ns else ""
    )[0],
    "events": lambda ns: cluster.listing("events", namespace=ns)[0],
    "nodes": lambda ns: cluster.listing("nodes")[0],
    "namespaces": lambda ns: sorted(
        item["metadata"]["name"] for item in cluster.listing("namespaces")[0]
    ),
}
_published_lock = threading.Lock()
_published: dict[tuple, Any] = {}  # the list each fallback key's notices were computed from


def _fallback(resource: str, namespace: str) -> Snapshot:
    """Where WATCH is forbidden: a LIST shared by every viewer for LIST_TTL seconds."""
    key = cache_key(resource, namespace)
    snapshot = shared_cache.get(
        key, LIST_TTL, lambda: _FALLBACK_LOADS[resource](None if namespace == ALL else namespace)
    )
    if resource != "namespaces":
        with _published_lock:
            before = _published.get(key)
            changed = snapshot.value is not None and snapshot.value is not before
            if changed:
                _published[key] = snapshot.value
        if changed:
            feed.publish_changes(_KINDS[resource], before, snapshot.value)
    return snapshot


def _health_changed() -> None:
    """A watch was lost, went stale or came back: the header's status is checked again."""
    shared_cache.expire(lambda key: key[1] == "cluster")
    feed.feed.publish("cluster")


def dgds(namespace: str) -> Snapshot:
    snapshot = _read("dgds", namespace)
    _agree_with_cluster_status(snapshot)
    return snapshot


def _agree_with_cluster_status(snapshot: Snapshot) -> None:
    """Re-checks the header's status when a read finds the cluster up or down otherwise."""
    down = isinstance(snapshot.error, cluster.Unreachable | cluster.Unauthorized)
    status = shared_cache.peek(cache_key("cluster"), STATUS_TTL)
    if status is not None and (status.error is not None) != down:
        shared_cache.expire(lambda key: key[1] == "cluster")


def pods(namespace: str) -> Snapshot:
    """The pods of DGDs in a namespace; with ALL, every pod of the cluster."""
    return _read("pods", namespace)


def events(namespace: str) -> Snapshot:
    return _read("events", namespace)


def nodes() -> Snapshot:
    return _read("nodes", ALL)


def namespaces() -> Snapshot:
    """The names of the cluster's namespaces, sorted."""
    return _read("namespaces", ALL)


def ready(resource: str, namespace: str) -> bool:
    """Whether a read would answer without waiting for the cluster (starts the watch)."""
    current = reflector(resource, _scope(namespace))
    if current.forbidden:
        return shared_cache.peek(cache_key(resource, namespace), LIST_TTL) is not None
    return current.synced.is_set()


def cached(kind: str, namespace: str, ttl: float, load: Callable[[], Any]) -> Snapshot:
    """A read that is not a mirrored list (the CRD, a Secret, a log), cached for `ttl`."""
    return shared_cache.get(cache_key(kind, namespace), ttl, load)


def written(
    obj: dict | None, *, resource: str = "dgds", namespace: str = "", name: str = ""
) -> None:
    """After a write: waits (WRITE_WAIT at most) until the mirror has seen the object at the
    resourceVersion the cluster returned, so the page a redirect opens shows the change.

    `obj` is what the write returned; a delete that returned no object waits for the
    object to be gone. Nothing waits where no watch runs yet (the first read lists anyway).
    """
    meta = (obj or {}).get("metadata") or {}
    namespace = meta.get("namespace") or namespace
    name = meta.get("name") or name
    version = meta.get("resourceVersion", "") if (obj or {}).get("kind") != "Status" else ""
    deadline = time.monotonic() + WRITE_WAIT
    config = cluster.config_key()
    with _lock:
        watching = [
            r
            for (cfg, res, scope), r in _reflectors.items()
            if cfg == config and res == resource and scope in (namespace, ALL) and not r.stopped
        ]
    for current in watching:
        if current.forbidden:
            shared_cache.expire(lambda key: key[1] == resource and key[2] in (namespace, ALL))
            continue
        current.wait_seen(version, (namespace, name), max(deadline - time.monotonic(), 0))


def reset() -> None:
    """Stops every watch and forgets every read (tests, and a change of cluster)."""
    global resets
    with _lock:
        stopping = list(_reflectors.values())
        _reflectors.clear()
        resets += 1
    for current in stopping:
        current.stop()
    shared_cache.clear()
    with _published_lock:
        _published.clear()


def running() -> list[Reflector]:
    """The reflectors of this process (for the benchmark and tests)."""
    with _lock:
        return [r for r in _reflectors.values() if not r.stopped]
