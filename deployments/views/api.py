"""JSON routes shared by the deploy and dashboard views."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from access.decorators import requires
from access.roles import Action
from deployments.imports import is_yaml
from deployments.views import dashboard, deploy, imports


@requires(Action.VIEW, method_actions={"POST": Action.DEPLOY})
@require_http_methods(["GET", "POST"])
def deployments(request: HttpRequest) -> HttpResponse:
    """GET lists deployments; POST creates one (from a JSON config, or a DGD as YAML)."""
    if request.method == "POST":
        if is_yaml(request.content_type or ""):
            return imports.api_import(request)
        return deploy.api_create(request)
    return dashboard.api_list(request)
