"""The Try tab and the chat API: thin views over deployments.playground."""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from access.decorators import requires
from access.roles import Action, decide
from deployments import frontend_metrics, metrics_history, playground, snippets
from deployments.cluster import ClusterError
from deployments.selectors import Missing, valid_namespace
from deployments.views.operate import api_namespace
from dynamote.api import ApiError, error_response

logger = logging.getLogger("dynamote.playground")

DEFAULT_MESSAGE = "Hello! What can you do?"
DEFAULT_MAX_TOKENS = 256


def _number(value: str, default: float, low: float, high: float) -> float:
    try:
        return min(max(float(value), low), high)
    except ValueError:
        return default


def _tab_context(request: HttpRequest, namespace: str, name: str) -> dict:
    """The Try tab: the deployment's state, its models, the chat's fields and their curl."""
    chat_path = reverse("api-deployment-chat", args=[name]) + f"?namespace={namespace}"
    refusal = decide(
        request.user, Action.CHAT, namespace, token=getattr(request, "api_token", None)
    )
    context = {
        "namespace": namespace,
        "name": name,
        "try_url": reverse("deployments:try", args=[namespace, name]),
        "detail_url": reverse("deployments:detail", args=[namespace, name]),
        "chat_url": chat_path,
        "chat_refusal": refusal.reason,
        "poll_seconds": settings.DYNAMOTE_POLL_SECONDS,
        "system": request.GET.get("system", ""),
        "message": request.GET.get("message", DEFAULT_MESSAGE),
        "temperature": _number(request.GET.get("temperature", ""), 0.7, 0, 2),
        "max_tokens": int(_number(request.GET.get("max_tokens", ""), DEFAULT_MAX_TOKENS, 1, 1e7)),
    }
    body = playground.chat_body(
        message=context["message"],
        system=context["system"],
        temperature=context["temperature"],
        max_tokens=context["max_tokens"],
    )
    context["curl"] = snippets.chat_api(url=request.build_absolute_uri(chat_path), body=body)
    try:
        target = playground.target(namespace=namespace, name=name)
    except Missing as exc:
        return {**context, "error": exc.message}
    except ClusterError as exc:
        return {**context, "error": exc.message}
    context["target"] = target
    if target.ready:
        try:
            context["models"] = playground.models(namespace=namespace, name=name)
        except ClusterError as exc:
            context["models_error"] = exc.message
    return context


@requires(Action.VIEW)
@require_GET
def try_tab(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    """The Try tab: a chat with the deployment (HTMX gets the panel or only its curl)."""
    if not valid_namespace(namespace):
        raise Http404("No such namespace.")
    if request.htmx and request.GET.get("part") == "curl":
        context = _tab_context_curl(request, namespace, name)
        return TemplateResponse(request, "deployments/playground.html#curl", context)
    context = _tab_context(request, namespace, name)
    template = (
        "deployments/playground.html#panel" if request.htmx else "deployments/playground.html"
    )
    return TemplateResponse(request, template, context)


def _tab_context_curl(request: HttpRequest, namespace: str, name: str) -> dict:
    """Only the curl, for the fields as typed: no cluster call."""
    chat_path = reverse("api-deployment-chat", args=[name]) + f"?namespace={namespace}"
    body = playground.chat_body(
        message=request.GET.get("message", ""),
        system=request.GET.get("system", ""),
        temperature=_number(request.GET.get("temperature", ""), 0.7, 0, 2),
        max_tokens=int(_number(request.GET.get("max_tokens", ""), DEFAULT_MAX_TOKENS, 1, 1e7)),
    )
    return {"curl": snippets.chat_api(url=request.build_absolute_uri(chat_path), body=body)}


@requires(Action.CHAT)
@require_POST
async def api_chat(request: HttpRequest, name: str) -> HttpResponse:
    """An OpenAI chat-completions body in; what the deployment answers out (streamed or not)."""
    try:
        namespace = await sync_to_async(api_namespace)(request, Action.CHAT)
        body = playground.check(playground.parse_body(request.body), context=None)
        target = await sync_to_async(playground.target)(namespace=namespace, name=name)
        body = playground.prepare(playground.check(body, context=target.context), target)
        answer = await sync_to_async(playground.open_chat)(chat_target=target, body=body)
    except ApiError as exc:
        return exc.response()
    except playground.ChatInvalid as exc:
        return error_response(exc.message, status=400, fields=exc.fields)
    except ClusterError as exc:
        return error_response(exc.message, status=exc.status)
    logger.info(
        "chat namespace=%s name=%s user=%s stream=%s",
        namespace,
        name,
        request.user.get_username(),
        bool(body.get("stream")),
    )
    if body.get("stream"):
        # Under uvicorn the chunks are read in a thread and handed to the event loop; under a
        # WSGI server (gunicorn's threads) the request's own thread reads them.
        wsgi = isinstance(request, WSGIRequest)
        content = playground.relay_sync(answer) if wsgi else playground.relay(answer)
        response = StreamingHttpResponse(content, content_type="text/event-stream; charset=utf-8")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"  # nginx and ingresses: pass each event at once
        return response
    raw = await asyncio.to_thread(answer.read)
    return HttpResponse(raw, content_type=answer.content_type or "application/json")


@requires(Action.VIEW)
@require_GET
def api_metrics(request: HttpRequest, name: str) -> HttpResponse:
    """The deployment's current serving metrics, read through the cluster's proxies."""
    try:
        namespace = api_namespace(request, Action.VIEW)
        return JsonResponse(frontend_metrics.deployment_metrics(namespace=namespace, name=name))
    except ApiError as exc:
        return exc.response()
    except ClusterError as exc:
        return error_response(exc.message, status=exc.status)


@requires(Action.VIEW)
@require_GET
def api_metrics_history(request: HttpRequest, name: str) -> HttpResponse:
    """The deployment's serving metrics over the last `seconds` (default an hour)."""
    try:
        namespace = api_namespace(request, Action.VIEW)
        seconds = request.GET.get("seconds", "3600")
        if not seconds.isdigit() or not 60 <= int(seconds) <= 86400:
            raise ApiError("seconds must be a whole number from 60 to 86400.", status=400)
        answer = metrics_history.history(namespace=namespace, name=name, seconds=int(seconds))
        return JsonResponse(answer)
    except ApiError as exc:
        return exc.response()
    except ClusterError as exc:
        return error_response(exc.message, status=exc.status)
