"""The shared cache of cluster reads: one short cache shared by every viewer.

Kubernetes load must not grow with the number of open dashboards: each read goes
through `shared_cache`, which keeps a result for a few seconds per namespace and lets
concurrent callers wait for the one call already in flight instead of making their own.
The last good result is kept with its fetch time, so an outage shows stale data, not errors.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from deployments import cluster, feed
from deployments.cluster import ClusterError

LIST_TTL = 5.0  # DGD and pod lists per namespace
STATUS_TTL = 30.0  # the header's cluster status
NODES_TTL = 30.0
WAIT_TIMEOUT = 15.0  # longer than one cluster call may take (cluster.TIMEOUT)
ALL = "*"  # the cache key of a cluster-wide list


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


_published_lock = threading.Lock()
_published: dict[tuple, Any] = {}  # the list each key's notices were last computed from


def _publish(kind: str, key: tuple, snapshot: Snapshot) -> None:
    """Tells the pages' streams which objects a newly loaded list changed."""
    with _published_lock:
        before = _published.get(key)
        if snapshot.value is None or snapshot.value is before:
            return
        _published[key] = snapshot.value
    feed.publish_changes(kind, before, snapshot.value)


def dgds(namespace: str) -> Snapshot:
    key = cache_key("dgds", namespace)
    snapshot = shared_cache.get(
        key, LIST_TTL, lambda: cluster.dgd_list(namespace=None if namespace == ALL else namespace)
    )
    _publish("dgd", key, snapshot)
    _agree_with_cluster_status(snapshot)
    return snapshot


def _agree_with_cluster_status(snapshot: Snapshot) -> None:
    """Re-checks the header's status when a read finds the cluster up or down otherwise."""
    down = isinstance(snapshot.error, cluster.Unreachable | cluster.Unauthorized)
    status = shared_cache.peek(cache_key("cluster"), STATUS_TTL)
    if status is not None and (status.error is not None) != down:
        shared_cache.expire(lambda key: key[1] == "cluster")


def pods(namespace: str) -> Snapshot:
    key = cache_key("pods", namespace)
    snapshot = shared_cache.get(
        key, LIST_TTL, lambda: cluster.pods(namespace=None if namespace == ALL else namespace)
    )
    _publish("pod", key, snapshot)
    return snapshot


def cached(kind: str, namespace: str, ttl: float, load: Callable[[], Any]) -> Snapshot:
    return shared_cache.get(cache_key(kind, namespace), ttl, load)


def reset() -> None:
    """Forgets every cached read (tests, and a change of cluster)."""
    shared_cache.clear()
    with _published_lock:
        _published.clear()


def cache_expire(*, namespace: str) -> None:
    """After a write: the next read of this namespace (and of all namespaces) asks the cluster."""
    shared_cache.expire(lambda key: key[2] in (namespace, ALL))
