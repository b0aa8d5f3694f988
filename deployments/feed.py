"""Change notices from the cluster mirror to the pages that show them.

The mirror publishes one notice per object that changed (added, modified or deleted); a
page's stream waits for the notices after the last one it sent and redraws only what they
name. Waiting works from threads and from asyncio (an open stream holds no thread).
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from dataclasses import dataclass

HISTORY = 10_000  # notices kept; a stream further behind redraws everything
DEPLOYMENT_LABEL = "nvidia.com/dynamo-graph-deployment-name"


@dataclass(frozen=True)
class Notice:
    """One object changed: its kind ("dgd", "pod", "event", "node", "namespace", "cluster")."""

    seq: int
    kind: str
    namespace: str = ""
    name: str = ""
    deployment: str = ""  # the DGD the object belongs to, when it belongs to one


class Feed:
    """A numbered, bounded history of notices with waiting for the next one."""

    def __init__(self, history: int = HISTORY) -> None:
        self._lock = threading.Condition()
        self._notices: deque[Notice] = deque(maxlen=history)
        self._seq = 0
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def publish(self, kind: str, namespace: str = "", name: str = "", deployment: str = "") -> int:
        with self._lock:
            self._seq += 1
            self._notices.append(Notice(self._seq, kind, namespace, name, deployment))
            self._lock.notify_all()
            waiters = list(self._waiters)
        for loop, event in waiters:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # the loop closed: its stream is gone
                self._discard(loop, event)
        return self._seq

    def latest(self) -> int:
        with self._lock:
            return self._seq

    def since(self, seq: int) -> list[Notice] | None:
        """The notices after `seq`, or None when some of them were dropped from the history."""
        with self._lock:
            if seq >= self._seq:
                return []
            oldest = self._notices[0].seq if self._notices else self._seq + 1
            if seq + 1 < oldest:
                return None
            return [notice for notice in self._notices if notice.seq > seq]

    def wait(self, seq: int, timeout: float) -> int:
        """Blocks until a notice after `seq` exists or `timeout` passes; the latest number."""
        with self._lock:
            self._lock.wait_for(lambda: self._seq > seq, timeout)
            return self._seq

    async def wait_async(self, seq: int, timeout: float) -> int:
        """`wait` for asyncio: no thread is held while waiting."""
        loop, event = asyncio.get_running_loop(), asyncio.Event()
        waiter = (loop, event)
        with self._lock:
            if self._seq > seq:
                return self._seq
            self._waiters.add(waiter)
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            self._discard(*waiter)
        return self.latest()

    def _discard(self, loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> None:
        with self._lock:
            self._waiters.discard((loop, event))


feed = Feed()


def _key(obj: dict) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return meta.get("namespace", ""), meta.get("name", "")


def _version(obj: dict | None) -> str | None:
    return ((obj or {}).get("metadata") or {}).get("resourceVersion")


def publish_changes(kind: str, before: list[dict] | None, after: list[dict]) -> None:
    """One notice per object added, changed (by resourceVersion) or removed between lists."""
    old = {_key(obj): obj for obj in before or []}
    new = {_key(obj): obj for obj in after}
    for key in old.keys() | new.keys():
        a, b = old.get(key), new.get(key)
        if a is not None and b is not None and _version(a) == _version(b):
            continue
        labels = ((b or a).get("metadata") or {}).get("labels") or {}
        deployment = key[1] if kind == "dgd" else labels.get(DEPLOYMENT_LABEL, "")
        feed.publish(kind, key[0], key[1], deployment)
