"""The model catalog: cards with search and engine filters, and its JSON API."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from access.decorators import requires
from access.roles import Action, is_admin
from catalog.custom import CustomModelError, from_form_data, parse_custom_model
from catalog.models import ENGINES
from catalog.selectors import catalog_get, catalog_model_json, catalog_search
from catalog.services import catalog_add_custom
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


@requires(Action.VIEW)
@require_POST
def save_custom(request: HttpRequest) -> HttpResponse:
    """Staff only: the deploy form's custom model becomes a catalog entry, then deploy it."""
    if not (request.user.is_staff or is_admin(request.user)):
        raise PermissionDenied("Only staff and admins may add models to the catalog.")
    try:
        custom = parse_custom_model(from_form_data(request.POST))
    except CustomModelError as exc:
        problems = "; ".join(" ".join(texts) for texts in exc.errors.values())
        messages.error(request, f"Not saved to the catalog: {problems}")
        if request.htmx:
            response = HttpResponse(status=422)
            response["HX-Reswap"] = "none"
            return response
        return redirect(f"{reverse('deployments:new')}?custom=1")
    model, created = catalog_add_custom(custom=custom)
    if created:
        messages.success(
            request,
            f"Saved {model.name} to the catalog as {model.slug}; edit it in the admin.",
        )
    else:
        messages.info(request, f"{custom.hf_repo_id} is already in the catalog as {model.name}.")
    url = f"{reverse('deployments:new')}?model={model.slug}"
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
