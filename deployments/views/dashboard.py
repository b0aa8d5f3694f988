"""The deployments dashboard (placeholder until the dashboard lands)."""

from django.http import HttpRequest, JsonResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET


@require_GET
def index(request: HttpRequest) -> TemplateResponse:
    """The deployments dashboard (coming soon)."""
    return TemplateResponse(request, "deployments/coming_soon.html", {"title": "Deployments"})


def api_list(request: HttpRequest) -> JsonResponse:
    """GET /api/deployments (coming soon)."""
    return JsonResponse({"error": "Not implemented yet."}, status=501)
