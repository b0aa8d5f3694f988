"""A deployment's pod logs: the Logs tab, its live stream (server-sent events), the text API.

The streaming views are async: under ASGI a response's async iterator is sent as it comes
(a sync one would be buffered), and when the client goes away the iterator is cancelled,
which hangs up on the cluster's log streams.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET

from access.decorators import requires
from access.roles import Action, require
from deployments import logs
from deployments.cluster import ClusterError
from deployments.logs import BadLogRequest, LogLine, LogRequest
from deployments.selectors import Missing, valid_namespace
from deployments.views.dashboard import _json_namespace
from dynamote.api import error_response

TEXT = "text/plain; charset=utf-8"
# Lines a page shows without a tailLines of its own.
DEFAULT_TAIL = 200


def _params(request: HttpRequest) -> dict[str, str]:
    return {key: request.GET.get(key, "") for key in request.GET}


@requires(Action.VIEW)
@require_GET
def panel(request: HttpRequest, namespace: str, name: str) -> TemplateResponse:
    """The Logs tab: pickers and the lines; without JavaScript the form reads the log once."""
    if not valid_namespace(namespace):
        raise Http404("No such namespace.")
    context: dict = {"namespace": namespace, "name": name, "lines": None, "errors": {}}
    try:
        context["choices"] = logs.choices(namespace=namespace, name=name)
    except (ClusterError, Missing) as exc:
        context["choices"], context["error"] = logs.Choices(), getattr(exc, "message", str(exc))
    params = _params(request)
    context["params"] = params
    if params.get("pod") or params.get("component"):
        params = {**params, "follow": ""}
        try:
            log = logs.log_request(namespace=namespace, name=name, params=params)
            context["lines"] = list(logs.read(log))
            context["several"] = _several(log)
        except BadLogRequest as exc:
            context["errors"] = exc.fields
        except ClusterError as exc:
            context["error"] = logs.no_log_message(exc)
    template = "deployments/logs.html#panel" if request.htmx else "deployments/logs.html"
    return TemplateResponse(request, template, context)


def _event(kind: str, data: dict) -> str:
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n"


async def _events(
    log: LogRequest | None, problem: str = "", fields: dict | None = None
) -> AsyncIterator[str]:
    # No automatic reconnection: the page decides when to follow again.
    yield "retry: 3600000\n\n"
    if log is None:
        yield _event("problem", {"message": problem, "fields": fields or {}})
        return
    if log.previous:
        # The last crashed run's log is written in full: read, not followed.
        try:
            lines = await sync_to_async(lambda: list(logs.read(log)))()
        except ClusterError as exc:
            yield _event("problem", {"message": logs.no_log_message(exc)})
            return
        yield _event("start", {"pods": list(log.pods), "container": log.container})
        for line in lines:
            yield _line(line)
        yield _event("end", {"message": "The previous run's log, in full."})
        return
    yield _event("start", {"pods": list(log.pods), "container": log.container})
    async for line in logs.follow_async(log):
        yield _line(line)
    yield _event("end", {"message": "The log ended: nothing is left to follow."})


def _line(line: LogLine) -> str:
    data = {"pod": line.pod, "text": line.text, "notice": line.notice, "change": line.change}
    return f"data: {json.dumps(data)}\n\n"


@requires(Action.VIEW)
@require_GET
async def stream(request: HttpRequest, namespace: str, name: str) -> StreamingHttpResponse:
    """Server-sent events: the followed lines of the chosen pods, until they end."""
    if not valid_namespace(namespace):
        raise Http404("No such namespace.")
    params = {**_params(request), "follow": "true"}
    log, problem, fields = None, "", {}
    try:
        log = await sync_to_async(logs.log_request)(namespace=namespace, name=name, params=params)
    except BadLogRequest as exc:
        problem, fields = exc.message, exc.fields
    except (ClusterError, Missing) as exc:
        problem = getattr(exc, "message", str(exc))
    events = _events(log, problem, fields)
    response = StreamingHttpResponse(events, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx in front: send each event at once
    return response


def _several(log: LogRequest) -> bool:
    """Lines carry their pod's name when they may come from several pods."""
    return len(log.pods) > 1 or bool(log.component)


def _text(line: LogLine, several: bool) -> str:
    if several and line.pod and not line.change:
        return f"{line.pod} {line.text}\n"
    return f"{line.text}\n"


async def _followed(log: LogRequest) -> AsyncIterator[str]:
    several = _several(log)
    async for line in logs.follow_async(log):
        yield _text(line, several)


def _checked(request: HttpRequest, name: str) -> LogRequest | HttpResponse:
    """The checked request, or the JSON answer that refuses it (nothing sent to the cluster)."""
    try:
        namespace = _json_namespace(request, settings.DYNAMOTE_DEFAULT_NAMESPACE)
    except ValueError as exc:
        return error_response(str(exc), status=400, fields={"namespace": [str(exc)]})
    require(request, Action.VIEW, namespace, name=name)
    try:
        return logs.log_request(namespace=namespace, name=name, params=_params(request))
    except BadLogRequest as exc:
        return error_response(exc.message, status=400, fields=exc.fields)
    except ClusterError as exc:
        return error_response(exc.message, status=exc.status)
    except Missing as exc:
        return error_response(str(exc), status=503)


def _read_all(log: LogRequest) -> HttpResponse:
    several = _several(log)
    try:
        text = "".join(_text(line, several) for line in logs.read(log))
    except ClusterError as exc:
        return error_response(
            logs.no_log_message(exc).removeprefix("No log: "), status=logs.refusal_status(exc)
        )
    return HttpResponse(text, content_type=TEXT)


@requires(Action.VIEW)
@require_GET
async def api_logs(request: HttpRequest, name: str) -> HttpResponse:
    """GET /api/deployments/<name>/logs?namespace=&pod=|component=&container=&tailLines=
    &sinceSeconds=&timestamps=&previous=&follow=: the log as text; follow=true streams it."""
    checked = await sync_to_async(_checked)(request, name)
    if isinstance(checked, HttpResponse):
        return checked
    if not checked.follow or checked.previous:  # a previous run's log grows no more
        return await sync_to_async(_read_all)(checked)
    response = StreamingHttpResponse(_followed(checked), content_type=TEXT)
    response["X-Accel-Buffering"] = "no"
    return response
