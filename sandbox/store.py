"""In-memory object storage with a sandbox-wide resourceVersion and cached JSON per object.

Every write also lands in a bounded change history, which watches replay and wait on.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

# Pods and services of one DynamoGraphDeployment are listed by this label, so index it.
INDEXED_LABEL = "nvidia.com/dynamo-graph-deployment-name"

Key = tuple[str, str]  # (namespace, name); namespace is "" for cluster-scoped objects

# How many changes (cluster-wide) a watch can resume from, like etcd before compaction.
HISTORY = 1000


def dumps(obj: object) -> bytes:
    """Compact JSON, as the apiserver sends it."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


class Entry:
    """One stored object and its serialized forms (by API version), built on first read."""

    __slots__ = ("_encoded", "obj")

    def __init__(self, obj: dict) -> None:
        self.obj = obj
        self._encoded: dict[str, bytes] = {}

    def encoded(self, version: str = "", convert: Callable[[dict], dict] | None = None) -> bytes:
        """The object's JSON, converted to another version when convert is given."""
        data = self._encoded.get(version)
        if data is None:
            data = dumps(convert(self.obj) if convert else self.obj)
            self._encoded[version] = data
        return data


@dataclass(frozen=True)
class Change:
    """One write: the object after it (for DELETED, as it was, with the delete's version) and
    before it (None when ADDED), so a filtered watch can tell an object that stops matching."""

    version: int
    resource: str
    type: str  # ADDED, MODIFIED or DELETED
    entry: Entry
    before: dict | None

    @property
    def namespace(self) -> str:
        """The object's namespace ("" for cluster-scoped objects)."""
        return self.entry.obj["metadata"].get("namespace", "")


class Store:
    """Objects by resource, then namespace and name; every write takes the next resourceVersion."""

    def __init__(self, history: int = HISTORY) -> None:
        self._rv = 0
        self._data: dict[str, dict[Key, Entry]] = defaultdict(dict)
        self._index: dict[str, dict[Key, set[Key]]] = defaultdict(lambda: defaultdict(set))
        self._history: deque[Change] = deque(maxlen=history)
        self._compacted = 0  # the newest version no longer in the history
        # Watches wait on this; every change wakes them.
        self.changed = threading.Condition(threading.Lock())

    @property
    def resource_version(self) -> str:
        """The latest resourceVersion handed out."""
        return str(self._rv)

    def next_version(self) -> str:
        """Take a new resourceVersion."""
        self._rv += 1
        return str(self._rv)

    def get(self, resource: str, namespace: str, name: str) -> dict | None:
        """The stored object, or None (callers must not mutate it in place)."""
        entry = self._data[resource].get((namespace, name))
        return entry.obj if entry else None

    def entry(self, resource: str, namespace: str, name: str) -> Entry | None:
        """The stored entry, with its JSON cache."""
        return self._data[resource].get((namespace, name))

    def put(self, resource: str, obj: dict) -> dict:
        """Store obj (replacing any previous one), stamping a new resourceVersion."""
        meta = obj["metadata"]
        meta["resourceVersion"] = self.next_version()
        key = (meta.get("namespace", ""), meta["name"])
        old = self._data[resource].get(key)
        if old is not None:
            self._unindex(resource, key, old.obj)
        entry = self._data[resource][key] = Entry(obj)
        owner = (meta.get("labels") or {}).get(INDEXED_LABEL)
        if owner is not None:
            self._index[resource][(key[0], owner)].add(key)
        kind = "ADDED" if old is None else "MODIFIED"
        self._record(Change(self._rv, resource, kind, entry, old.obj if old else None))
        return obj

    def delete(self, resource: str, namespace: str, name: str) -> dict | None:
        """Remove and return an object."""
        entry = self._data[resource].pop((namespace, name), None)
        if entry is None:
            return None
        self._unindex(resource, (namespace, name), entry.obj)
        # Like the API server, the DELETED event carries the delete's own resourceVersion.
        version = self.next_version()
        gone = {**entry.obj, "metadata": {**entry.obj["metadata"], "resourceVersion": version}}
        self._record(Change(self._rv, resource, "DELETED", Entry(gone), entry.obj))
        return entry.obj

    # ------------------------------------------------------------------ change history

    def _record(self, change: Change) -> None:
        with self.changed:
            if len(self._history) == self._history.maxlen:
                self._compacted = self._history[0].version
            self._history.append(change)
            self.changed.notify_all()

    def changes_since(self, version: int) -> list[Change] | None:
        """The changes after a resourceVersion, oldest first; None if some are forgotten."""
        with self.changed:
            if version < self._compacted:
                return None
            newer: list[Change] = []
            for change in reversed(self._history):
                if change.version <= version:
                    break
                newer.append(change)
        newer.reverse()
        return newer

    @property
    def oldest_version(self) -> int:
        """The oldest resourceVersion a watch may still resume from."""
        with self.changed:
            return self._compacted

    def wait_for_change(self, version: int, timeout: float) -> None:
        """Block until a change newer than version is recorded, or the timeout passes."""
        with self.changed:
            if self._history and self._history[-1].version > version:
                return
            self.changed.wait(max(timeout, 0.0))

    def compact(self) -> None:
        """Forget the change history (as etcd's compaction): older versions get 410 Gone."""
        with self.changed:
            if self._history:
                self._compacted = self._history[-1].version
            self._history.clear()

    def wake_watchers(self) -> None:
        """Wake every waiting watch (to notice a close or an outage)."""
        with self.changed:
            self.changed.notify_all()

    def _unindex(self, resource: str, key: Key, obj: dict) -> None:
        owner = (obj["metadata"].get("labels") or {}).get(INDEXED_LABEL)
        if owner is not None:
            bucket = self._index[resource].get((key[0], owner))
            if bucket is not None:
                bucket.discard(key)
                if not bucket:
                    del self._index[resource][(key[0], owner)]

    def entries(
        self, resource: str, namespace: str | None = None, owner: str | None = None
    ) -> Iterator[Entry]:
        """Entries of a resource, optionally in one namespace and with one indexed label value."""
        table = self._data[resource]
        if owner is not None:
            keys: list[Key] = []
            for (ns, value), bucket in self._index[resource].items():
                if value == owner and (namespace is None or ns == namespace):
                    keys.extend(bucket)
            for key in sorted(keys):
                yield table[key]
            return
        if namespace is None:
            yield from table.values()
        else:
            for (ns, _name), entry in table.items():
                if ns == namespace:
                    yield entry

    def objects(self, resource: str, namespace: str | None = None) -> list[dict]:
        """The stored objects of a resource (not copies)."""
        return [e.obj for e in self.entries(resource, namespace)]

    def count(self, resource: str) -> int:
        """How many objects of a resource are stored."""
        return len(self._data[resource])
