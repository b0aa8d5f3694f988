"""JSON routes shared by the deploy and dashboard views."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from access.decorators import requires
from access.roles import Action
from deployments.views import dashboard, deploy


@requires(Action.VIEW, method_actions={"POST": Action.DEPLOY})
@require_http_methods(["GET", "POST"])
def deployments(request: HttpRequest) -> HttpResponse:
    """GET lists deployments; POST creates one."""
    if request.method == "POST":
        return deploy.api_create(request)
    return dashboard.api_list(request)
