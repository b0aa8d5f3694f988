"""Reusing a deployment: its manifest ready for Git (page and JSON API)."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from access.decorators import requires
from access.roles import Action, require
from deployments import cluster
from deployments.cluster import ClusterError, NotFound
from deployments.export import git_yaml
from deployments.selectors import valid_namespace
from deployments.views.dashboard import _json_error, _json_namespace
from dynamote.api import error_response

YAML = "application/yaml; charset=utf-8"


def _gone(namespace: str, name: str) -> str:
    return f'There is no deployment "{name}" in namespace "{namespace}".'


@requires(Action.VIEW)
@require_GET
def manifest(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    """The manifest ready for Git, downloaded as <name>.yaml."""
    if not valid_namespace(namespace):
        raise Http404("No such namespace.")
    try:
        dgd = cluster.dgd_get(namespace=namespace, name=name)
    except NotFound as exc:
        raise Http404(_gone(namespace, name)) from exc
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
        return error_response(_gone(namespace, name), status=404)
    except ClusterError as exc:
        return _json_error(exc)
    return HttpResponse(git_yaml(dgd), content_type=YAML)
