"""Watches as the API server serves them: a stream of JSON lines, one event per change.

A watch starts from a resourceVersion: absent or "0" first sends the current objects as
ADDED events, a number replays the changes after it from the store's bounded history (a
version older than the history gets an ERROR event with a 410 Expired Status);
sendInitialEvents=true sends the current objects whatever the version, then a BOOKMARK
marked "k8s.io/initial-events-end" (the API server's watch-list). Selectors
filter each change, and an object that stops matching is sent as DELETED, as the API
server's watch cache does. A watch ends at its timeout, when its client hangs up (the
HTTP layer checks between events), or when the sandbox stops or has an outage.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .store import Change, Entry, Store, dumps

# The API server ends a watch without timeoutSeconds after --min-request-timeout to twice it.
DEFAULT_TIMEOUT = 1800.0
# How often a watch with allowWatchBookmarks=true gets a BOOKMARK (the API server: ~1 minute).
BOOKMARK_INTERVAL = 10.0
# The longest a watch waits without checking its client, the clock and its deadline.
TICK = 0.5


class WatchError(ValueError):
    """A watch request the API server refuses with 400 BadRequest."""


@dataclass(frozen=True)
class WatchOptions:
    """What a watch request asks for, parsed from its query."""

    since: int | None  # None: send the current objects first ("Any" start)
    timeout: float
    bookmarks: bool
    initial_events_end: bool = False  # sendInitialEvents: mark the end of the current objects

    @classmethod
    def parse(cls, query: dict) -> WatchOptions:
        """Read resourceVersion, timeoutSeconds and allowWatchBookmarks."""
        text = query.get("resourceVersion") or "0"
        try:
            version = int(text)
        except ValueError as err:
            raise WatchError(f'invalid resource version "{text}"') from err
        if version < 0:
            raise WatchError(f'invalid resource version "{text}"')
        timeout_text = query.get("timeoutSeconds")
        if timeout_text:
            try:
                timeout = float(int(timeout_text))
            except ValueError as err:
                raise WatchError(f'invalid timeoutSeconds "{timeout_text}"') from err
        else:
            timeout = DEFAULT_TIMEOUT * (1 + random.random())  # spread, as the API server does
        bookmarks = query.get("allowWatchBookmarks", "").lower() in ("true", "1")
        initial = query.get("sendInitialEvents", "").lower() in ("true", "1")
        if initial and not bookmarks:
            raise WatchError("sendInitialEvents requires allowWatchBookmarks=true")
        since = None if version == 0 or initial else version
        return cls(since, max(timeout, 0.0), bookmarks, initial)


@dataclass
class Watch:
    """One open watch over one resource, in one namespace or all of them."""

    store: Store
    resource: str  # the store's key
    namespace: str | None
    matches: Callable[[dict], bool]
    encode: Callable[[Entry], bytes]
    bookmark: Callable[[int, dict], bytes]  # a BOOKMARK's object: resourceVersion, annotations
    options: WatchOptions
    stopped: Callable[[], bool]  # the sandbox closed or had an outage
    stalled: Callable[[], bool]  # a fault: the watch stays open but sends nothing
    catch_up: Callable[[], None]  # let the simulation act on the clock
    bookmark_interval: float = BOOKMARK_INTERVAL
    # A BOOKMARK after every batch of changes, as etcd's progress notifications: a client then
    # knows at once that it has seen the store up to now (tests read consistently with it).
    progress_bookmarks: bool = False

    def visible(self, change: Change) -> str | None:
        """The event type this watch sees for a change, or None."""
        if change.resource != self.resource:
            return None
        if self.namespace is not None and change.namespace != self.namespace:
            return None
        now = self.matches(change.entry.obj)
        if change.type == "DELETED":
            return "DELETED" if now else None
        before = change.before is not None and self.matches(change.before)
        if now:
            return "MODIFIED" if before else "ADDED"
        return "DELETED" if before else None

    def events(self, initial: list[Entry], latest: int) -> Iterator[bytes]:
        """The stream's chunks; an empty chunk asks the HTTP layer to check the client."""
        started = time.monotonic()
        deadline = started + self.options.timeout
        next_bookmark = started + self.bookmark_interval
        cursor = latest if self.options.since is None else self.options.since
        if self.options.since is None:
            lines = [_event("ADDED", self.encode(entry)) for entry in initial]
            if self.options.initial_events_end:
                end = {"k8s.io/initial-events-end": "true"}
                lines.append(_event("BOOKMARK", self.bookmark(cursor, end)))
            if lines:
                yield b"".join(lines)
        while True:
            if self.stalled():
                # Hung, as behind a broken proxy: no events, no bookmarks, no end.
                if self.stopped():
                    raise ConnectionAbortedError("the sandbox stopped serving watches")
                yield b""
                time.sleep(TICK)
                continue
            changes = self.store.changes_since(cursor)
            if changes is None:
                yield _expired(cursor, self.store.oldest_version)
                return
            lines = []
            for change in changes:
                cursor = change.version
                kind = self.visible(change)
                if kind is not None:
                    lines.append(_event(kind, self.encode(change.entry)))
            if changes and self.options.bookmarks and self.progress_bookmarks:
                lines.append(_event("BOOKMARK", self.bookmark(cursor, {})))
            if lines:
                yield b"".join(lines)
            now = time.monotonic()
            if self.stopped():
                # Dropped, not ended: the client sees the connection cut, as in an outage.
                raise ConnectionAbortedError("the sandbox stopped serving watches")
            if now >= deadline:
                if self.options.bookmarks:
                    yield _event("BOOKMARK", self.bookmark(cursor, {}))
                return
            if self.options.bookmarks and now >= next_bookmark:
                yield _event("BOOKMARK", self.bookmark(cursor, {}))
                next_bookmark = now + self.bookmark_interval
            else:
                yield b""
            wait = min(TICK, deadline - now)
            if self.options.bookmarks:
                wait = min(wait, max(next_bookmark - now, 0.0))
            self.store.wait_for_change(cursor, wait)
            self.catch_up()


def _event(kind: str, data: bytes) -> bytes:
    return b'{"type":"' + kind.encode() + b'","object":' + data + b"}\n"


def _expired(version: int, oldest: int) -> bytes:
    status = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f"too old resource version: {version} ({oldest})",
        "reason": "Expired",
        "code": 410,
    }
    return _event("ERROR", dumps(status))
