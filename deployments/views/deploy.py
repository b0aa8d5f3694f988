"""The deploy form (placeholder until the deploy page lands)."""

from django.http import HttpRequest, JsonResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET

from catalog.selectors import catalog_get


@require_GET
def new(request: HttpRequest) -> TemplateResponse:
    """The deploy form (coming soon); names the chosen model."""
    model = catalog_get(slug=request.GET.get("model", ""))
    return TemplateResponse(
        request, "deployments/coming_soon.html", {"title": "Deploy a model", "model": model}
    )


def api_create(request: HttpRequest) -> JsonResponse:
    """POST /api/deployments (coming soon)."""
    return JsonResponse({"error": "Not implemented yet."}, status=501)
