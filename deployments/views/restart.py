"""Restarting a deployment or some of its components: the dialog, the form and the JSON API."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from access.decorators import requires
from access.roles import Action
from deployments.cluster import ClusterError, NotFound
from deployments.restarts import RestartRefused
from deployments.selectors import not_found_message, valid_namespace
from deployments.services import deployment_restart, restart_choices
from deployments.views.dashboard import _json_error, _json_namespace
from dynamote.api import ApiError, error_response, read_json_object


def _back(request: HttpRequest, url: str) -> HttpResponse:
    if request.htmx:
        response = HttpResponse(status=200)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _dialog(request: HttpRequest, context: dict) -> HttpResponse:
    if request.htmx:
        return TemplateResponse(request, "deployments/restart.html#dialog", context)
    return TemplateResponse(request, "deployments/restart.html", context)


@requires(Action.RESTART)
@require_http_methods(["GET", "POST"])
def restart(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    """GET: what can restart and what it does (a dialog for HTMX); POST: restart it."""
    if not valid_namespace(namespace):
        raise Http404("No such namespace.")
    detail_url = reverse("deployments:detail", args=[namespace, name])
    context = {
        "namespace": namespace,
        "name": name,
        "restart_url": reverse("deployments:restart", args=[namespace, name]),
        "detail_url": detail_url,
        "selected": request.POST.get("component", request.GET.get("component", "")),
    }
    try:
        context["choices"] = restart_choices(namespace=namespace, name=name)
    except NotFound:
        messages.info(request, not_found_message(namespace=namespace, name=name))
        return _back(request, detail_url)
    except ClusterError as exc:
        messages.error(request, f"Cannot restart {name}: {exc.message}")
        return _back(request, detail_url)
    if request.method == "GET":
        return _dialog(request, context)
    chosen = context["selected"]
    try:
        plan = deployment_restart(
            user=request.user,
            namespace=namespace,
            name=name,
            components=[chosen] if chosen else None,
        )
    except RestartRefused as exc:
        return _dialog(request, {**context, "error": exc.message})
    except NotFound:
        messages.info(request, not_found_message(namespace=namespace, name=name))
        return _back(request, detail_url)
    except ClusterError as exc:
        return _dialog(request, {**context, "error": exc.message})
    what = chosen or name
    messages.success(request, f"Restarting {what}. {plan.summary}")
    return _back(request, detail_url)


@requires(Action.RESTART)
@require_POST
def api_restart(request: HttpRequest, name: str) -> JsonResponse:
    """POST /api/deployments/<name>/restart[?namespace=] with optional {"components": [...]}."""
    try:
        namespace = _json_namespace(request, settings.DYNAMOTE_DEFAULT_NAMESPACE)
    except ValueError as exc:
        return error_response(str(exc), status=400, fields={"namespace": [str(exc)]})
    try:
        body = read_json_object(request)
    except ApiError as exc:
        return exc.response()
    components = body.get("components")
    unknown = sorted(set(body) - {"components"})
    if unknown:
        message = f"Unknown field {', '.join(unknown)}: send only an optional components list."
        return error_response(message, status=400, fields={k: [message] for k in unknown})
    if components is not None and (
        not isinstance(components, list) or not all(isinstance(c, str) and c for c in components)
    ):
        message = 'Send components as a list of component names, e.g. ["decode"].'
        return error_response(message, status=400, fields={"components": [message]})
    try:
        plan = deployment_restart(
            user=request.user, namespace=namespace, name=name, components=components or None
        )
    except RestartRefused as exc:
        status = 400 if exc.fields else 409
        return error_response(exc.message, status=status, fields=exc.fields)
    except NotFound:
        return error_response(not_found_message(namespace=namespace, name=name), status=404)
    except ClusterError as exc:
        return _json_error(exc)
    return JsonResponse({"restarted": name, "namespace": namespace, **plan.as_json()}, status=202)
