"""Reusing a deployment: its manifest ready for Git (page and JSON API), deploying a copy,
adopting one created outside Dynamote."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access.decorators import requires
from access.roles import Action, require
from deployments import cluster
from deployments.cluster import ClusterError, NotFound
from deployments.dgd import is_external
from deployments.export import git_yaml
from deployments.manifests import MANAGED_BY, MANAGED_BY_LABEL, DeploymentConfig
from deployments.prefill import initial_from_dgd
from deployments.selectors import deployed_submission, not_found_message, valid_namespace
from deployments.services import deployment_adopt, free_name
from deployments.views.dashboard import _json_error, _json_namespace
from deployments.views.operate import api_namespace
from dynamote.api import error_response

YAML = "application/yaml; charset=utf-8"


@requires(Action.VIEW)
@require_GET
def manifest(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    """The manifest ready for Git, downloaded as <name>.yaml."""
    if not valid_namespace(namespace):
        raise Http404("No such namespace.")
    try:
        dgd = cluster.dgd_get(namespace=namespace, name=name)
    except NotFound as exc:
        raise Http404(not_found_message(namespace=namespace, name=name)) from exc
    except ClusterError as exc:
        return HttpResponse(
            f"Cannot read {name}: {exc.message}",
            status=exc.status,
            content_type="text/plain; charset=utf-8",
        )
    response = HttpResponse(git_yaml(dgd), content_type=YAML)
    response["Content-Disposition"] = f'attachment; filename="{name}.yaml"'
    return response


@requires(Action.VIEW)
@require_GET
def api_manifest(request: HttpRequest, name: str) -> HttpResponse:
    """GET /api/deployments/<name>/manifest[?namespace=]: the manifest ready for Git, as YAML."""
    try:
        namespace = _json_namespace(request, settings.DYNAMOTE_DEFAULT_NAMESPACE)
    except ValueError as exc:
        return error_response(str(exc), status=400, fields={"namespace": [str(exc)]})
    require(request, Action.VIEW, namespace, name=name)
    try:
        dgd = cluster.dgd_get(namespace=namespace, name=name)
    except NotFound:
        return error_response(not_found_message(namespace=namespace, name=name), status=404)
    except ClusterError as exc:
        return _json_error(exc)
    return HttpResponse(git_yaml(dgd), content_type=YAML)


def _query(values: dict) -> list[tuple[str, str]]:
    """Form values as the deploy form's query: a ticked box is "on", a list repeats its key."""
    pairs = []
    for key, value in values.items():
        if isinstance(value, bool):
            if value:
                pairs.append((key, "on"))
        elif isinstance(value, list | tuple):
            pairs.extend((key, str(item)) for item in value)
        elif value is not None:
            pairs.append((key, str(value)))
    return pairs


@requires(Action.DEPLOY)
@require_GET
def copy(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    """The deploy form filled from the live deployment, under a free name, any namespace."""
    if not valid_namespace(namespace):
        raise Http404("No such namespace.")
    detail_url = reverse("deployments:detail", args=[namespace, name])
    try:
        dgd = cluster.dgd_get(namespace=namespace, name=name)
    except NotFound as exc:
        raise Http404(not_found_message(namespace=namespace, name=name)) from exc
    except ClusterError as exc:
        messages.error(request, f"Cannot copy {name}: {exc.message}")
        return redirect(detail_url)
    submission = deployed_submission(namespace=namespace, name=name)
    if submission is None or is_external(dgd):
        messages.info(
            request,
            f"{name} was not created with Dynamote's deploy form, so there is no form to fill: "
            "download its manifest for Git and change the name in it instead.",
        )
        return redirect(detail_url)
    initial = initial_from_dgd(dgd, config=submission.config, manifest=submission.manifest)
    initial["name"] = (
        free_name(
            namespace=namespace,
            name=name,
            engine=str(initial.get("engine", "")),
            mode=str(initial.get("mode", "")),
        )
        or name
    )
    initial["idempotency_key"] = secrets.token_urlsafe(24)
    if submission.config.get("customModel"):
        initial["custom"] = "1"
    else:
        initial["model"] = submission.model_slug
    return redirect(f"{reverse('deployments:new')}?{urlencode(_query(initial))}")


@requires(Action.EDIT)
@require_http_methods(["GET", "POST"])
def adopt(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    """GET: what adopting does, to confirm; POST: label the DGD as managed by Dynamote."""
    if not valid_namespace(namespace):
        raise Http404("No such namespace.")
    detail_url = reverse("deployments:detail", args=[namespace, name])
    context = {
        "namespace": namespace,
        "name": name,
        "detail_url": detail_url,
        "adopt_url": reverse("deployments:adopt", args=[namespace, name]),
        "label": f"{MANAGED_BY_LABEL}={MANAGED_BY}",
    }
    if request.method == "GET":
        return TemplateResponse(request, "deployments/adopt.html", context)
    try:
        adopted = deployment_adopt(user=request.user, namespace=namespace, name=name)
    except NotFound as exc:
        raise Http404(not_found_message(namespace=namespace, name=name)) from exc
    except ClusterError as exc:
        context["error"] = exc.message
        return TemplateResponse(request, "deployments/adopt.html", context, status=exc.status)
    if adopted:
        messages.success(request, f"{name} is now managed by Dynamote.")
    else:
        messages.info(request, f"{name} is already managed by Dynamote: nothing changed.")
    return redirect(detail_url)


# Each config field by the form's (snake_case) name, to read the form's values back as a config.
_CONFIG_KEYS = {
    name: field.alias or name
    for name, field in DeploymentConfig.model_fields.items()
    if not field.exclude
}


def config_from_dgd(dgd: dict, *, config: dict, manifest: dict) -> dict:
    """The `POST /api/deployments` body that recreates a deployment: the stored config with
    what the live DGD says instead where it differs, as the "Deploy a copy" form is filled."""
    body = dict(config)
    for key, value in initial_from_dgd(dgd, config=config, manifest=manifest).items():
        if key in _CONFIG_KEYS and key != "engine_args":  # the form joins them into a line
            body[_CONFIG_KEYS[key]] = value
    return body


@requires(Action.VIEW)
@require_GET
def api_config(request: HttpRequest, name: str) -> JsonResponse:
    """GET /api/deployments/<name>/config[?namespace=]: the POST body that would recreate it."""
    namespace = api_namespace(request)
    try:
        dgd = cluster.dgd_get(namespace=namespace, name=name)
    except NotFound:
        return error_response(not_found_message(namespace=namespace, name=name), status=404)
    except ClusterError as exc:
        return _json_error(exc)
    submission = deployed_submission(namespace=namespace, name=name)
    if submission is None or is_external(dgd):
        message = (
            f"{name} was not created with Dynamote's deploy form, so it has no config: "
            f"GET /api/deployments/{name}/manifest?namespace={namespace} for its YAML."
        )
        return error_response(message, status=409)
    return JsonResponse(
        config_from_dgd(dgd, config=submission.config, manifest=submission.manifest)
    )


@requires(Action.EDIT)
@require_POST
def api_adopt(request: HttpRequest, name: str) -> JsonResponse:
    """POST /api/deployments/<name>/adopt[?namespace=]: label it as managed by Dynamote."""
    namespace = api_namespace(request, Action.EDIT)
    try:
        adopted = deployment_adopt(user=request.user, namespace=namespace, name=name)
    except NotFound:
        return error_response(not_found_message(namespace=namespace, name=name), status=404)
    except ClusterError as exc:
        return _json_error(exc)
    message = (
        f"{name} is now managed by Dynamote."
        if adopted
        else f"{name} is already managed by Dynamote: nothing changed."
    )
    return JsonResponse(
        {
            "adopted": adopted,
            "name": name,
            "namespace": namespace,
            "label": f"{MANAGED_BY_LABEL}={MANAGED_BY}",
            "message": message,
        }
    )
