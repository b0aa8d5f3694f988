"""Server-sent events: the dashboard's rows, a deployment's live parts and the header's cluster
status, pushed to open pages as the cluster changes.

The views are async: an open stream is a coroutine waiting on `feed.wait_async`, so hundreds
of open pages hold no thread. What a stream sends is read and rendered by the same selectors
and partials the pages and their polling use; those block (on the cluster and the database),
so they run in a bounded pool of worker threads (`sync_to_async` with its own executor: the
thread bridge) only when something changed. htmx's SSE extension swaps the fragments in.

Event ids are the feed's sequence numbers: a reconnect sends `Last-Event-ID` (or the page
its `since`, the number when it was rendered), and the stream redraws what changed after it,
everything when the feed's history no longer goes back that far.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django.http import Http404, HttpRequest, StreamingHttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from access.decorators import requires
from access.roles import Action, require
from deployments import cluster
from deployments.feed import Notice, feed
from deployments.selectors import cluster_status, valid_namespace
from deployments.views import dashboard

HEARTBEAT_SECONDS = 15.0  # a comment line keeps proxies and the browser from closing it
REREAD_SECONDS = 1.0  # with no notice for this long, a scope is read again (once per process)
RETRY_MS = 3000  # how long the browser waits before reconnecting

REREAD = "reread"  # a stream's own read found a change (an error, say) the others should see
STATUS = ("status",)  # the header's cluster status, checked once per REREAD_SECONDS

# The thread bridge: a stream's reads and renders run here, bounded however many streams are
# open; its own pool, so streams waiting on a slow cluster never delay Django's other work.
_pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="dynamote-stream")
_open_streams = 0
_reread_at: dict[tuple, float] = {}  # per scope: when a stream last read it for its notices
_status_seen: tuple | None = None  # the header status the streams last announced


def open_streams() -> int:
    """Streams whose generator is running in this process."""
    return _open_streams


def stream_url(name: str, *args: str, **query: str) -> str:
    """A stream's URL for a page rendered now: it resumes after the feed's current notice."""
    params = {key: value for key, value in query.items() if value}
    params["since"] = str(feed.latest())
    return f"{reverse(name, args=args)}?{urlencode(params)}"


# --- what each stream shows ---------------------------------------------------------------


@dataclass
class Scope:
    """What one stream shows: which notices concern it, how to read it, and what to send."""

    key: tuple
    announce: tuple[str, str, str]  # namespace, name, deployment of its "reread" notice
    relevant: Callable[[Notice], bool]
    read: Callable[[], Any]  # the state (sync: runs in a worker thread)
    redraw: Callable[[Any], list[tuple[str, str]]]  # (event, html) for the whole state
    changes: Callable[[Any, Any], list[tuple[str, str]]]  # (event, html) from old to new


def _row_key(row) -> tuple[str, str]:
    return row.namespace, row.name


def _table_scope(request: HttpRequest, namespace: str, sort: str, descending: bool) -> Scope:
    def read():
        listing = dashboard._listing(request, namespace or None, sort=sort, descending=descending)
        return listing

    def redraw(listing) -> list[tuple[str, str]]:
        context = {
            **dashboard._table_context(namespace, sort, descending),
            "listing": listing,
            "rows_html": dashboard._rows_html(request, listing.rows),
        }
        html = render_to_string("deployments/index.html#table_body", context, request=request)
        return [("table", html)]

    def shape(listing):
        # Ages tick on every read: a row changed when anything else about it did.
        rows = {_row_key(row): replace(row, age="") for row in listing.rows}
        error = listing.error.message if listing.error else None
        return [*rows], rows, error, listing.stale

    def changes(old, new) -> list[tuple[str, str]]:
        old_order, old_rows, *old_rest = shape(old)
        new_order, new_rows, *new_rest = shape(new)
        if old_order != new_order or old_rest != new_rest:
            return redraw(new)  # rows added, removed or reordered; an error came or went
        changed = [row for row in new.rows if old_rows[_row_key(row)] != new_rows[_row_key(row)]]
        if not changed:
            return []
        html = "".join(
            _oob_row(row, fragment)
            for row, fragment in zip(changed, dashboard._rows_html(request, changed), strict=True)
        )
        return [("oob", html)]

    def relevant(notice: Notice) -> bool:
        if notice.kind == "cluster":  # an outage or its end: the banner comes or goes
            return True
        if notice.kind == REREAD:
            return not namespace or notice.namespace in ("", namespace)
        return notice.kind in ("dgd", "pod") and (not namespace or notice.namespace == namespace)

    return Scope(("table", namespace), (namespace, "", ""), relevant, read, redraw, changes)


def _oob_row(row, html: str) -> str:
    """A row's HTML that replaces the same row wherever the table shows it."""
    selector = f"tr[data-deployment='{row.namespace}/{row.name}']"
    return html.replace("<tr ", f'<tr hx-swap-oob="outerHTML:{selector}" ', 1)


def _detail_scope(request: HttpRequest, namespace: str, name: str) -> Scope:
    def read():
        context = dashboard._detail_context(request, namespace, name)
        detail = context.get("detail")
        fingerprint = detail.fingerprint if detail is not None else repr(context.get("error"))
        return fingerprint, context

    def redraw(state) -> list[tuple[str, str]]:
        _, context = state
        html = render_to_string("deployments/detail.html#live", context, request=request)
        html += render_to_string(
            "deployments/detail.html#why", {**context, "oob": True}, request=request
        )
        if context.get("detail") is not None:
            badge = render_to_string(
                "deployments/index.html#badge", {"badge": context["detail"].badge}
            )
            html += f'<span id="header-badge" hx-swap-oob="true">{badge}</span>'
        return [("live", html)]

    def changes(old, new) -> list[tuple[str, str]]:
        return [] if old[0] == new[0] else redraw(new)

    def relevant(notice: Notice) -> bool:
        if notice.kind == "cluster":  # an outage or its end: the stale notice comes or goes
            return True
        return notice.namespace == namespace and (
            notice.deployment == name or (notice.kind == "dgd" and notice.name == name)
        )

    return Scope(
        ("detail", namespace, name), (namespace, name, name), relevant, read, redraw, changes
    )


def _status_scope() -> Scope:
    """Only the header's status: "cluster" notices, which every stream handles."""
    return Scope(
        ("page",), ("", "", ""), lambda notice: False, lambda: None, lambda s: [], lambda o, n: []
    )


# --- the stream ------------------------------------------------------------------------------


def _blocking(fn: Callable, *args):
    """Runs a selector or a render in the worker pool, with its own cluster deadline."""

    def call():
        try:
            with cluster.deadline():
                return fn(*args)
        finally:
            close_old_connections()

    return sync_to_async(call, thread_sensitive=False, executor=_pool)()


def _status_html(request: HttpRequest) -> str:
    return render_to_string(
        "layout/cluster_status.html", {"oob": True, "cluster": cluster_status()}, request=request
    )


def _event(name: str, html: str, seq: int) -> str:
    data = "".join(f"data: {line}\n" for line in html.splitlines() or [""])
    return f"id: {seq}\nevent: {name}\n{data}\n"


def _resume_from(request: HttpRequest) -> int | None:
    for value in (request.headers.get("Last-Event-ID"), request.GET.get("since")):
        if value and value.strip().isdigit():
            return int(value.strip())
    return None


def _due(key: tuple, now: float) -> bool:
    """Whether this stream reads `key` again: once per REREAD_SECONDS for the whole process
    (one event loop, no await between the check and the mark)."""
    if now - _reread_at.get(key, 0.0) < REREAD_SECONDS:
        return False
    _reread_at[key] = now
    return True


def _status_key() -> tuple:
    status = cluster_status()
    return status.state, status.label, status.message


async def _check_status() -> None:
    """Announces a changed header status to every stream, as a "cluster" notice."""
    global _status_seen
    key = await _blocking(_status_key)
    if _status_seen is not None and key != _status_seen:
        feed.publish("cluster")
    _status_seen = key


async def _stream(request: HttpRequest, scope: Scope) -> AsyncIterator[str]:
    global _open_streams
    _open_streams += 1
    try:
        yield f"retry: {RETRY_MS}\n\n"
        since = _resume_from(request)
        state = await _blocking(scope.read)
        # After the read: a change its read brought (announced meanwhile) is one the page,
        # drawn at `since`, has not seen.
        last = feed.latest()
        missed = feed.since(since) if since is not None and since < last else []
        if missed is None or any(scope.relevant(notice) for notice in missed):
            for name, html in await _blocking(scope.redraw, state):
                yield _event(name, html, last)
        yield _event("oob", await _blocking(_status_html, request), last)
        sent_at = time.monotonic()
        while True:
            seq = await feed.wait_async(last, min(REREAD_SECONDS, HEARTBEAT_SECONDS))
            notices = feed.since(last) if seq > last else []
            last = max(last, seq)
            now = time.monotonic()
            reread = notices == [] and _due(scope.key, now)
            if notices == [] and _due(STATUS, now):
                await _check_status()
            pushes: list[tuple[str, str]] = []
            if notices is None:  # further behind than the history: everything again
                state = await _blocking(scope.read)
                pushes = await _blocking(scope.redraw, state)
            elif reread or any(scope.relevant(notice) for notice in notices):
                new = await _blocking(scope.read)
                pushes = await _blocking(scope.changes, state, new)
                if reread and pushes:  # one stream read for all: the others read again
                    feed.publish(REREAD, *scope.announce)
                    # Drawn again after the notice: a redrawn table resumes after it.
                    pushes = await _blocking(scope.changes, state, new)
                state = new
            if notices is None or any(notice.kind == "cluster" for notice in notices):
                pushes.append(("oob", await _blocking(_status_html, request)))
            for name, html in pushes:
                yield _event(name, html, last)
                sent_at = time.monotonic()
            if time.monotonic() - sent_at >= HEARTBEAT_SECONDS:
                yield ": heartbeat\n\n"
                sent_at = time.monotonic()
    finally:
        _open_streams -= 1


def _response(request: HttpRequest, scope: Scope) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_stream(request, scope), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx and the like pass each event on at once
    return response


@requires(Action.VIEW)
@require_GET
async def table(request: HttpRequest) -> StreamingHttpResponse:
    """GET /deployments/stream/?namespace=&sort=: the dashboard table's changed rows."""
    namespace, sort, descending = await sync_to_async(dashboard._filters)(request)
    if namespace:
        await sync_to_async(require)(request, Action.VIEW, namespace)
    return _response(request, _table_scope(request, namespace, sort, descending))


@requires(Action.VIEW)
@require_GET
async def detail(request: HttpRequest, namespace: str, name: str) -> StreamingHttpResponse:
    """GET /deployments/<ns>/<name>/stream/: the details page's status, pods, events."""
    if not await sync_to_async(valid_namespace)(namespace):
        raise Http404("No such namespace.")
    return _response(request, _detail_scope(request, namespace, name))


@requires(Action.VIEW)
@require_GET
async def status(request: HttpRequest) -> StreamingHttpResponse:
    """GET /deployments/stream/status/: the header's cluster status, for every other page."""
    return _response(request, _status_scope())
