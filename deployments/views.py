"""Deployments: placeholders until the deploy form and the dashboard land."""

from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET

from catalog.selectors import catalog_get


@require_GET
def index(request: HttpRequest) -> TemplateResponse:
    """The deployments dashboard (coming soon)."""
    return TemplateResponse(request, "deployments/coming_soon.html", {"title": "Deployments"})


@require_GET
def new(request: HttpRequest) -> TemplateResponse:
    """The deploy form (coming soon); names the chosen model."""
    model = catalog_get(slug=request.GET.get("model", ""))
    return TemplateResponse(
        request, "deployments/coming_soon.html", {"title": "Deploy a model", "model": model}
    )
