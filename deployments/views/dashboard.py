"""The deployments dashboard, a deployment's details, and deleting one (pages and JSON)."""

import threading
from dataclasses import replace

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.loader import get_template
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods

from access.decorators import requires
from access.roles import Action, decide, namespaces_for, require
from access.selectors import deployment_history
from deployments import snippets
from deployments.changes import operate_panel
from deployments.cluster import ClusterError, NotFound
from deployments.export import git_yaml
from deployments.names import NAME_RULE, NAMESPACE_RULE, is_name, is_namespace
from deployments.selectors import (
    SORTS,
    Listing,
    Missing,
    Row,
    cluster_status,
    deployment_get,
    deployment_list,
    deployment_list_ready,
    dgd_named,
    namespace_choices,
    not_found_message,
    pod_list,
    valid_namespace,
)
from deployments.selectors import warm_up as warm_up_listing
from deployments.services import (
    ConfirmationRequired,
    DeleteTarget,
    DeleteUnconfirmed,
    InvalidRequest,
    deployment_delete,
    resolve_unknown,
)
from deployments.views import live
from dynamote.api import error_response

ROW_CACHE_SIZE = 5000
_row_html: dict[tuple[Row, str], str] = {}
_row_html_lock = threading.Lock()


def _rows_html(request: HttpRequest, rows: list[Row]) -> list[str]:
    """Each row's HTML, rendered once per row state (and whether the viewer may delete and
    scale it), and reused by every viewer and poll."""
    template = get_template("deployments/index.html#row")
    refusals: dict[str, tuple[str, str]] = {}
    result = []
    token = getattr(request, "api_token", None)
    for row in rows:
        if row.namespace not in refusals:
            refusals[row.namespace] = tuple(
                decide(request.user, action, row.namespace, token=token).reason
                for action in (Action.DELETE, Action.SCALE)
            )
        key = (row, refusals[row.namespace])
        html = _row_html.get(key)
        if html is None:
            delete_refusal, scale_refusal = key[1]
            html = template.render(
                {"row": row, "delete_refusal": delete_refusal, "scale_refusal": scale_refusal}
            )  # a SafeString
            with _row_html_lock:
                if len(_row_html) >= ROW_CACHE_SIZE:
                    _row_html.clear()
                _row_html[key] = html
        result.append(html)
    return result


def warm_up() -> None:
    """At a served process's start: lists the dashboard and renders its rows as a viewer
    who may delete and scale sees them, so the first such viewer waits for neither."""
    listing = warm_up_listing()
    if listing is None:
        return
    template = get_template("deployments/index.html#row")
    with _row_html_lock:
        for row in listing.rows[:ROW_CACHE_SIZE]:
            key = (row, ("", ""))
            if key not in _row_html:
                _row_html[key] = template.render(
                    {"row": row, "delete_refusal": "", "scale_refusal": ""}
                )


def _unchanged(response: HttpResponse | None = None) -> HttpResponse:
    """An empty answer to a poll whose data did not change: as few bytes as possible."""
    response = response or HttpResponse(status=204)
    del response["Content-Type"]
    # Nothing to render or frame: the strictest policy is also the shortest.
    response["Content-Security-Policy"] = "default-src 'none'"
    response.xframe_options_exempt = True
    return response


# A settled deployment (everything Ready) is asked less often, but still asked: a change made
# outside Dynamote (kubectl delete, a scale) shows within one interval.
SETTLED_POLL_FACTOR = 3


def _poll_seconds() -> float:
    return settings.DYNAMOTE_POLL_SECONDS


def _filters(request: HttpRequest) -> tuple[str, str, bool]:
    namespace = request.GET.get("namespace", "").strip()
    if namespace and not valid_namespace(namespace):
        namespace = ""
    sort = request.GET.get("sort", "name")
    descending = sort.startswith("-")
    sort = sort.lstrip("-")
    if sort not in SORTS:
        sort, descending = "name", False
    return namespace, sort, descending


def _sort_links(namespace: str, sort: str, descending: bool) -> dict[str, dict]:
    """Per sortable column: the URL that sorts by it (toggling direction) and aria-sort."""
    links = {}
    for column in SORTS:
        active = column == sort
        flip = "" if (active and descending) else "-"
        query = {"sort": f"{flip if active else ''}{column}"}
        if namespace:
            query["namespace"] = namespace
        links[column] = {
            "url": f"{reverse('deployments:index')}?{urlencode(query)}",
            "aria": ("descending" if descending else "ascending") if active else "none",
        }
    return links


def _table_context(namespace: str, sort: str, descending: bool) -> dict:
    """What the table partial needs besides its rows: filters, sort links, polling."""
    query = {"sort": f"{'-' if descending else ''}{sort}"}
    if namespace:
        query["namespace"] = namespace
    return {
        "namespace": namespace,
        "sort": sort,
        "descending": descending,
        "sort_links": _sort_links(namespace, sort, descending),
        "table_url": f"{reverse('deployments:index')}?{urlencode(query)}",
        "stream_url": live.stream_url("deployments:stream", **query),
        "poll_seconds": _poll_seconds(),
    }


@requires(Action.VIEW)
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """The dashboard; HTMX requests get the table partial, or 204 when nothing changed."""
    namespace, sort, descending = _filters(request)
    context = _table_context(namespace, sort, descending)
    if (
        not request.htmx
        and not request.GET.get("wait")
        and not deployment_list_ready(namespace=namespace or None)
    ):
        # First load with a cold cache: the page comes at once, the table follows.
        context["skeleton"] = True
        return TemplateResponse(
            request,
            "deployments/index.html",
            {**context, "namespaces": _namespace_choices(namespace)},
        )
    listing = _listing(request, namespace or None, sort=sort, descending=descending)
    if request.htmx and request.GET.get("fp") == listing.fingerprint:
        return _unchanged()
    context.update(listing=listing, rows_html=_rows_html(request, listing.rows))
    if request.htmx:
        return TemplateResponse(request, "deployments/index.html#table", context)
    context["namespaces"] = _namespace_choices(namespace)
    return TemplateResponse(request, "deployments/index.html", context)


def _listing(request: HttpRequest, namespace: str | None, **order) -> Listing:
    """The deployments of the namespaces the user may see."""
    if namespace is not None:
        require(request, Action.VIEW, namespace)
    listing = deployment_list(namespace=namespace, **order)
    visible = namespaces_for(request.user, Action.VIEW, settings.DYNAMOTE_NAMESPACES)
    if visible is None:
        return listing
    return replace(listing, rows=[row for row in listing.rows if row.namespace in visible])


def _namespace_choices(namespace: str) -> list[str]:
    choices = namespace_choices()
    if namespace and namespace not in choices:
        choices = sorted([*choices, namespace])
    return choices


def _reach(detail) -> dict:
    model = detail.summary.get("served_model_name") or "<model>"
    return {
        "port_forward": snippets.port_forward(name=detail.name, namespace=detail.namespace),
        "models": snippets.list_models(),
        "chat": snippets.chat(model=model),
    }


def _detail_context(request: HttpRequest, namespace: str, name: str) -> dict:
    context = {
        "namespace": namespace,
        "name": name,
        "poll_seconds": _poll_seconds(),
        "settled_poll_seconds": _poll_seconds() * SETTLED_POLL_FACTOR,
        "detail_url": reverse("deployments:detail", args=[namespace, name]),
        "delete_url": reverse("deployments:delete", args=[namespace, name]),
        "restart_url": reverse("deployments:restart", args=[namespace, name]),
        "stream_url": live.stream_url("deployments:detail_stream", namespace, name),
        "metrics_step": settings.DYNAMOTE_METRICS_STEP_SECONDS,
    }
    resolve_unknown(namespace=namespace, name=name)
    try:
        detail = deployment_get(namespace=namespace, name=name)
    except Missing as exc:
        context.update(missing=True, error_message=exc.message)
        return context
    except ClusterError as exc:
        context.update(error=exc)
        return context
    context.update(detail=detail, reach=_reach(detail) if detail.dgd else None)
    context.update(operate_panel(detail))
    if detail.dgd:
        context["git_yaml"] = git_yaml(detail.dgd)
        context["manifest_url"] = reverse("deployments:manifest", args=[namespace, name])
    context["activity"] = deployment_history(namespace=namespace, name=name)
    return context


@requires(Action.VIEW)
@require_GET
def detail(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    """A deployment's configuration, status, pods, events and how to reach it."""
    if not valid_namespace(namespace):
        raise Http404("No such namespace.")
    context = _detail_context(request, namespace, name)
    detail = context.get("detail")
    if request.htmx:
        if detail is not None and request.GET.get("fp") == detail.fingerprint:
            return _unchanged()
        return TemplateResponse(request, "deployments/detail.html#live", context)
    status = 404 if context.get("missing") else 200
    return TemplateResponse(request, "deployments/detail.html", context, status=status)


@requires(Action.VIEW)
def invalid_name(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    """A namespace or name Kubernetes would refuse: a 404 page that says why, no cluster call."""
    problems = []
    if not is_namespace(namespace):
        problems.append(f"“{namespace}” is not a namespace. {NAMESPACE_RULE}")
    if not is_name(name):
        problems.append(f"“{name}” is not a deployment name. {NAME_RULE}")
    context = {
        "namespace": namespace,
        "name": name,
        "missing": True,
        "invalid_name": True,
        "error_message": " ".join(problems),
        "detail_url": reverse("deployments:index"),
    }
    return TemplateResponse(request, "deployments/detail.html", context, status=404)


@requires(Action.DELETE)
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    """GET: the confirmation (a dialog for HTMX); POST: delete, with the name typed if Ready."""
    if not valid_namespace(namespace):
        raise Http404("No such namespace.")
    origin = request.POST.get("from") or request.GET.get("from") or "detail"
    context = {
        "namespace": namespace,
        "name": name,
        "origin": origin,
        "delete_url": reverse("deployments:delete", args=[namespace, name]),
        "detail_url": reverse("deployments:detail", args=[namespace, name]),
        "index_url": reverse("deployments:index"),
    }
    if request.method == "GET":
        try:
            dgd = dgd_named(namespace=namespace, name=name)
        except ClusterError as exc:
            messages.error(request, f"Cannot delete {name}: {exc.message}")
            return _after_delete(request, context)
        if dgd is None:
            messages.info(request, f'"{name}" is already gone.')
            return _after_delete(request, context)
        # The delete itself reads the DGD afresh before asking for the typed name.
        context["require_typing"] = DeleteTarget(namespace, name, dgd).ready
        if request.htmx:
            return TemplateResponse(request, "deployments/detail.html#confirm_delete", context)
        return TemplateResponse(
            request,
            "deployments/detail.html",
            {**_detail_context(request, namespace, name), **context, "confirming": True},
        )
    typed = request.POST.get("confirm", "")
    try:
        deployment_delete(user=request.user, namespace=namespace, name=name, confirmation=typed)
    except ConfirmationRequired as exc:
        return _confirm_again(request, context, str(exc))
    except InvalidRequest as exc:
        raise Http404(str(exc)) from exc
    except DeleteUnconfirmed as exc:
        messages.warning(request, f"Deleting {name}: {exc.record.message}")
        return _after_delete(request, context)
    except NotFound:
        messages.info(request, f'"{name}" was already deleted.')
        return _after_delete(request, context)
    except ClusterError as exc:
        messages.error(request, f"Deleting {name} failed: {exc.message}")
        return _confirm_again(request, context, exc.message)
    messages.success(request, f'Deleting "{name}" in namespace "{namespace}".')
    return _after_delete(request, context)


def _confirm_again(request: HttpRequest, context: dict, error: str) -> HttpResponse:
    context.update(require_typing=True, error=error, typed=request.POST.get("confirm", ""))
    if request.htmx:
        return TemplateResponse(
            request, "deployments/detail.html#confirm_delete", context, status=200
        )
    page = {**_detail_context(request, context["namespace"], context["name"]), **context}
    return TemplateResponse(request, "deployments/detail.html", {**page, "confirming": True})


def _after_delete(request: HttpRequest, context: dict) -> HttpResponse:
    if not request.htmx:
        return redirect("deployments:index")
    if context["origin"] != "index":
        response = HttpResponse(status=200)
        response["HX-Redirect"] = context["index_url"]
        return response
    # From the dashboard: close the dialog and redraw the table, where the row shows Deleting.
    current = request.headers.get("HX-Current-URL", "")
    namespace, sort, descending = _filters(_query_of(request, current))
    listing = _listing(request, namespace or None, sort=sort, descending=descending)
    response = TemplateResponse(
        request,
        "deployments/index.html#table",
        {
            **_table_context(namespace, sort, descending),
            "listing": listing,
            "rows_html": _rows_html(request, listing.rows),
        },
    )
    response["HX-Retarget"] = "#deployments-table"
    response["HX-Reswap"] = "outerHTML"
    response["HX-Trigger"] = "dynamote:dialog-close"
    return response


def _query_of(request: HttpRequest, url: str) -> HttpRequest:
    """A request-like object whose GET is the query string of the page's own URL."""
    from urllib.parse import urlsplit

    from django.http import QueryDict

    shadow = HttpRequest()
    shadow.GET = QueryDict(urlsplit(url).query)
    return shadow


# --- JSON -------------------------------------------------------------------------------------


def _json_error(exc: ClusterError) -> JsonResponse:
    return error_response(exc.message, status=exc.status)


def _json_namespace(request: HttpRequest, default: str | None) -> str | None:
    namespace = request.GET.get("namespace", "").strip() or default
    if namespace is None:
        return None
    if not is_namespace(namespace):
        raise ValueError(f"“{namespace}” is not a namespace. {NAMESPACE_RULE}")
    if not valid_namespace(namespace):
        raise ValueError(f"“{namespace}” is not a namespace Dynamote may use.")
    return namespace


@requires(Action.VIEW)
def api_invalid_name(request: HttpRequest, name: str) -> JsonResponse:
    """Any /api/deployments/<name> whose name Kubernetes would refuse: 400, no cluster call."""
    message = f"“{name}” is not a deployment name. {NAME_RULE}"
    return error_response(message, status=400, fields={"name": [message]})


@requires(Action.VIEW)
@require_GET
def api_list(request: HttpRequest) -> JsonResponse:
    """GET /api/deployments[?namespace=]: every deployment with status and replicas."""
    try:
        namespace = _json_namespace(request, None)
    except ValueError as exc:
        return error_response(str(exc), status=400, fields={"namespace": [str(exc)]})
    listing = _listing(request, namespace)
    if listing.error and not listing.stale:
        return _json_error(listing.error)
    return JsonResponse(
        {
            "deployments": [row.as_json() for row in listing.rows],
            "fetchedAt": listing.fetched_at.isoformat() if listing.fetched_at else None,
            "stale": listing.stale,
            "error": listing.error.message if listing.error else None,
        }
    )


@requires(Action.VIEW, method_actions={"DELETE": Action.DELETE})
@require_http_methods(["GET", "DELETE"])
def api_detail(request: HttpRequest, name: str) -> JsonResponse:
    """GET one deployment (404 when absent); DELETE it."""
    try:
        namespace = _json_namespace(request, settings.DYNAMOTE_DEFAULT_NAMESPACE)
    except ValueError as exc:
        return error_response(str(exc), status=400, fields={"namespace": [str(exc)]})
    require(request, Action.VIEW, namespace, name=name)
    if request.method == "DELETE":
        try:
            record = deployment_delete(user=request.user, namespace=namespace, name=name)
        except InvalidRequest as exc:
            return error_response(str(exc), status=400, fields=exc.fields)
        except DeleteUnconfirmed as exc:
            return error_response(
                exc.record.message,
                status=exc.error.status,
                outcome=exc.record.outcome,
                deletionId=exc.record.pk,
            )
        except NotFound:
            return error_response(not_found_message(namespace=namespace, name=name), status=404)
        except ClusterError as exc:
            return _json_error(exc)
        return JsonResponse(
            {"deleted": name, "namespace": namespace, "deletionId": record.pk}, status=202
        )
    resolve_unknown(namespace=namespace, name=name)
    try:
        detail = deployment_get(namespace=namespace, name=name)
    except ClusterError as exc:
        return _json_error(exc)
    return JsonResponse(detail.as_json())


@requires(Action.VIEW)
@require_GET
def api_pods(request: HttpRequest, name: str) -> JsonResponse:
    """GET /api/deployments/<name>/pods[?namespace=]."""
    try:
        namespace = _json_namespace(request, settings.DYNAMOTE_DEFAULT_NAMESPACE)
    except ValueError as exc:
        return error_response(str(exc), status=400, fields={"namespace": [str(exc)]})
    require(request, Action.VIEW, namespace, name=name)
    try:
        pods = pod_list(namespace=namespace, name=name)
    except ClusterError as exc:
        return _json_error(exc)
    return JsonResponse({"namespace": namespace, "name": name, "pods": [p.as_json() for p in pods]})


@requires(Action.VIEW)
@require_GET
def api_cluster_status(request: HttpRequest) -> JsonResponse:
    """GET /api/cluster/status: connected, unreachable or without Dynamo, and where."""
    return JsonResponse(cluster_status(fresh=True).as_json())
