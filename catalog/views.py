"""The model catalog: cards with search and engine filters, and its JSON API."""

from django.http import HttpRequest, JsonResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET

from access.decorators import requires
from access.roles import Action
from catalog.models import ENGINES
from catalog.selectors import catalog_get, catalog_model_json, catalog_search
from dynamote.api import error_response


def _filters(request: HttpRequest) -> tuple[str, list[str]]:
    query = request.GET.get("q", "").strip()[:200]
    engines = [engine for engine in request.GET.getlist("engine") if engine in ENGINES]
    return query, engines


@requires(Action.VIEW)
@require_GET
def index(request: HttpRequest) -> TemplateResponse:
    """The catalog page; HTMX requests get only the results partial."""
    query, engines = _filters(request)
    # A history restore (back button, snapshot not cached) swaps the whole page in.
    partial = request.htmx and not request.htmx.history_restore_request
    template = "catalog/index.html#results" if partial else "catalog/index.html"
    return TemplateResponse(
        request,
        template,
        {
            "models": catalog_search(query=query, engines=engines),
            "query": query,
            "selected_engines": engines,
            "engines": ENGINES,
        },
    )


@requires(Action.VIEW)
@require_GET
def api_list(request: HttpRequest) -> JsonResponse:
    """Published catalog models as JSON, filtered like the catalog page."""
    query, engines = _filters(request)
    models = catalog_search(query=query, engines=engines)
    return JsonResponse({"models": [catalog_model_json(model) for model in models]})


@requires(Action.VIEW)
@require_GET
def api_detail(request: HttpRequest, slug: str) -> JsonResponse:
    """One catalog model as JSON."""
    model = catalog_get(slug=slug)
    if model is None:
        return error_response(f"No catalog model with id {slug!r}.", status=404)
    return JsonResponse(catalog_model_json(model))
