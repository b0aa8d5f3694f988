"""The Cluster page and GET /api/cluster/capacity: who holds the cluster's GPUs."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET

from access.decorators import requires
from access.roles import Action, decide
from deployments.capacity import Capacity, capacity
from deployments.cluster import ClusterError
from dynamote.api import error_response


def _capacity(request: HttpRequest) -> Capacity:
    token = getattr(request, "api_token", None)
    return capacity(
        may_see=lambda namespace: decide(request.user, Action.VIEW, namespace, token=token).allowed
    )


@requires(Action.VIEW)
@require_GET
def page(request: HttpRequest) -> TemplateResponse:
    """Each GPU node, its free GPUs and who holds the others; totals per GPU product."""
    try:
        found, error = _capacity(request), None
    except ClusterError as exc:
        found, error = Capacity(), exc
    return TemplateResponse(
        request, "deployments/capacity.html", {"capacity": found, "error": error or found.error}
    )


@requires(Action.VIEW)
@require_GET
def api_capacity(request: HttpRequest) -> JsonResponse:
    """GET /api/cluster/capacity: the Cluster page as JSON."""
    try:
        return JsonResponse(_capacity(request).as_json())
    except ClusterError as exc:
        return error_response(exc.message, status=exc.status)
