"""In-memory object storage with a sandbox-wide resourceVersion and cached JSON per object."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator

# Pods and services of one DynamoGraphDeployment are listed by this label, so index it.
INDEXED_LABEL = "nvidia.com/dynamo-graph-deployment-name"

Key = tuple[str, str]  # (namespace, name); namespace is "" for cluster-scoped objects


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


class Store:
    """Objects by resource, then namespace and name; every write takes the next resourceVersion."""

    def __init__(self) -> None:
        self._rv = 0
        self._data: dict[str, dict[Key, Entry]] = defaultdict(dict)
        self._index: dict[str, dict[Key, set[Key]]] = defaultdict(lambda: defaultdict(set))

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
        self._data[resource][key] = Entry(obj)
        owner = (meta.get("labels") or {}).get(INDEXED_LABEL)
        if owner is not None:
            self._index[resource][(key[0], owner)].add(key)
        return obj

    def delete(self, resource: str, namespace: str, name: str) -> dict | None:
        """Remove and return an object."""
        entry = self._data[resource].pop((namespace, name), None)
        if entry is None:
            return None
        self._unindex(resource, (namespace, name), entry.obj)
        return entry.obj

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
