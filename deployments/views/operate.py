"""Changing a running deployment: scale, revisions and rollback (pages and JSON)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from pydantic.alias_generators import to_snake

from access.decorators import requires
from access.roles import Action, require
from catalog.selectors import catalog_get
from deployments import changes, revisions
from deployments.cluster import ClusterError, NotFound
from deployments.dgd import is_external
from deployments.forms import DeploymentForm
from deployments.manifests import ModelFacts
from deployments.models import Revision
from deployments.plan import plan
from deployments.prefill import NAME_LOCKED, initial_from_dgd, keep_live_replicas
from deployments.selectors import (
    Missing,
    deployed_submission,
    deployment_get,
    not_found_message,
    valid_namespace,
)
from deployments.services import ClusterSession, deploy_target
from deployments.views import dashboard
from dynamote.api import ApiError, error_response, read_json_object

# --- scale ----------------------------------------------------------------------------------------


def _form_replicas(request: HttpRequest) -> dict[str, str]:
    """The counts the person changed: a count left as the page showed it is not sent, so a
    component scaled elsewhere since the page was loaded keeps its replicas."""
    wanted = _prefixed(request, "replicas-")
    shown = _prefixed(request, "current-")
    return {c: v for c, v in wanted.items() if c not in shown or shown[c] != v.strip()}


def _prefixed(request: HttpRequest, prefix: str) -> dict[str, str]:
    return {k[len(prefix) :]: v for k, v in request.POST.items() if k.startswith(prefix)}


def _change_page(request: HttpRequest, namespace: str, name: str, **context) -> HttpResponse:
    context.setdefault("status", 200)
    return TemplateResponse(
        request,
        "deployments/change.html",
        {
            "namespace": namespace,
            "name": name,
            "detail_url": reverse("deployments:detail", args=[namespace, name]),
            **context,
        },
        status=context["status"],
    )


def _scale_dialog(request: HttpRequest, namespace: str, name: str, origin: str) -> HttpResponse:
    """The steppers of every component (a dialog over the dashboard, or a page without JS)."""
    back = _back_url(origin, namespace, name)
    try:
        detail = deployment_get(namespace=namespace, name=name)
    except Missing as exc:
        raise Http404(exc.message) from exc
    except ClusterError as exc:
        messages.error(request, f"Cannot scale {name}: {exc.message}")
        if request.htmx:  # the whole page goes back, not into the dialog's slot
            return HttpResponse(headers={"HX-Redirect": back})
        return redirect(back)
    if not detail.dgd:
        raise Http404(not_found_message(namespace=namespace, name=name))
    context = {
        "namespace": namespace,
        "name": name,
        "origin": origin,
        "back_url": back,
        "detail_url": reverse("deployments:detail", args=[namespace, name]),
        **changes.operate_panel(detail),
    }
    if request.htmx:
        return TemplateResponse(request, "deployments/scale.html#dialog", context)
    return TemplateResponse(request, "deployments/scale.html", context)


def _back_url(origin: str, namespace: str, name: str) -> str:
    """Where a scale returns: the dashboard when it was started from a row, else the details."""
    if origin == "index":
        return reverse("deployments:index")
    return reverse("deployments:detail", args=[namespace, name])


@requires(Action.SCALE)
@require_http_methods(["GET", "POST"])
def scale(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    """GET: the steppers; POST the desired replicas: first the diff and GPU fit to review,
    then (apply) the change."""
    if not valid_namespace(namespace):
        raise Http404("No such namespace.")
    origin = "index" if request.GET.get("from", request.POST.get("from")) == "index" else ""
    if request.method == "GET":
        return _scale_dialog(request, namespace, name, origin)
    replicas = _form_replicas(request)
    if not replicas:
        messages.info(request, "Change a count first: nothing was changed.")
        return redirect(_back_url(origin, namespace, name))
    action_url = reverse("deployments:scale", args=[namespace, name])
    base = {"action_url": action_url, "kind": "scale", "replicas_form": replicas, "origin": origin}
    try:
        if not request.POST.get("apply"):
            preview = changes.scale_preview(namespace=namespace, name=name, replicas=replicas)
            return _change_page(request, namespace, name, preview=preview, **base)
        preview, revision = changes.deployment_scale(
            user=request.user,
            namespace=namespace,
            name=name,
            replicas=replicas,
            resource_version=request.POST.get("resource_version") or None,
            confirm_zero=bool(request.POST.get("confirm_zero")),
            note=request.POST.get("note", ""),
        )
    except changes.Stale as exc:
        return _change_page(
            request, namespace, name, preview=exc.preview, stale=exc.message, status=409, **base
        )
    except changes.ChangeRefused as exc:
        return _change_page(request, namespace, name, refused=exc, status=400, **base)
    except ClusterError as exc:
        return _change_page(request, namespace, name, cluster_error=exc, status=exc.status, **base)
    if revision is None:
        messages.info(request, f"{name} already has those replicas: nothing changed.")
    else:
        messages.success(request, f"{revision.message} {preview.summary.text}")
    return redirect(_back_url(origin, namespace, name))


# --- edit -----------------------------------------------------------------------------------------


def _edit_form(request: HttpRequest, dgd: dict, submission, data=None):
    """The deploy form for this deployment: filled from the live DGD, name and namespace locked."""
    model = catalog_get(slug=submission.model_slug)
    if model is None:
        return None
    meta = dgd.get("metadata") or {}
    session = ClusterSession()
    kwargs = {
        "model": ModelFacts.from_catalog(model),
        "target": deploy_target(session=session),
        "default_namespace": meta["namespace"],
        "allowed_namespaces": [meta["namespace"]],
    }
    if data is not None:
        data = data.copy()
        data.update({"name": meta["name"], "namespace": meta["namespace"], "model": model.slug})
        form = DeploymentForm(data, **kwargs)
    else:
        initial = initial_from_dgd(dgd, config=submission.config, manifest=submission.manifest)
        form = DeploymentForm(initial=initial, **kwargs)
    for locked in ("name", "namespace"):
        form.fields[locked].disabled = True
        form.fields[locked].help_text = NAME_LOCKED
    return form


@requires(Action.EDIT)
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    """The deploy form filled from the live DGD; POST shows the diff, POST apply applies it."""
    if not valid_namespace(namespace):
        raise Http404("No such namespace.")
    context = {
        "kind": "edit",
        "action_url": reverse("deployments:edit", args=[namespace, name]),
    }
    try:
        dgd = changes._read(namespace, name)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ClusterError as exc:
        return _change_page(
            request, namespace, name, cluster_error=exc, status=exc.status, **context
        )
    submission = deployed_submission(namespace=namespace, name=name)
    yaml_url = reverse("deployments:edit-yaml", args=[namespace, name])
    if submission is None or is_external(dgd):
        message = (
            f"{name} was not created with Dynamote's deploy form, so there is no form to fill; "
            "edit its YAML instead."
        )
        return _change_page(
            request, namespace, name, not_editable=message, yaml_url=yaml_url, status=409, **context
        )
    form = _edit_form(request, dgd, submission, request.POST if request.method == "POST" else None)
    if form is None:
        message = (
            f"The model {submission.model_slug} is no longer in the catalog; edit its YAML instead."
        )
        return _change_page(
            request, namespace, name, not_editable=message, yaml_url=yaml_url, status=409, **context
        )
    read_version = request.POST.get("resource_version") or (dgd.get("metadata") or {}).get(
        "resourceVersion"
    )
    context.update(form=form, read_version=read_version)
    if request.method == "GET" or not form.is_valid():
        status = 400 if request.method == "POST" else 200
        return _change_page(request, namespace, name, status=status, **context)
    spec = keep_live_replicas(form.manifest["spec"], dgd)
    try:
        preview, revision = changes.deployment_change_spec(
            user=request.user,
            namespace=namespace,
            name=name,
            spec=spec,
            action="edit",
            resource_version=read_version,
            note=request.POST.get("note", ""),
            dry_run=not request.POST.get("apply"),
        )
    except changes.Stale as exc:
        context["read_version"] = exc.preview.resource_version
        return _change_page(
            request, namespace, name, preview=exc.preview, stale=exc.message, status=409, **context
        )
    except ClusterError as exc:
        return _change_page(request, namespace, name, cluster_error=exc, status=400, **context)
    if not request.POST.get("apply") and preview.changed:
        return _change_page(request, namespace, name, preview=preview, **context)
    if revision is None:
        messages.info(request, f"{name} already has those settings: nothing changed.")
    else:
        messages.success(
            request, f"{name} changed (revision {revision.number}). {' '.join(revision.summary)}"
        )
    return redirect("deployments:detail", namespace, name)


# --- revisions and rollback -----------------------------------------------------------------------


def _live_and_revision(namespace: str, name: str, number: int):
    dgd = changes._read(namespace, name)
    uid = (dgd.get("metadata") or {}).get("uid")
    changes.revisions_observe(dgd=dgd)
    try:
        revision = changes.revision_get(namespace=namespace, name=name, number=number, uid=uid)
    except Revision.DoesNotExist as exc:
        raise Http404(str(exc)) from exc
    return dgd, revision


@requires(Action.VIEW)
@require_GET
def revision(request: HttpRequest, namespace: str, name: str, number: int) -> HttpResponse:
    """One revision: its spec, its diff from the one before, and its diff against the live spec."""
    if not valid_namespace(namespace):
        raise Http404("No such namespace.")
    try:
        dgd, found = _live_and_revision(namespace, name, number)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ClusterError as exc:
        return _change_page(request, namespace, name, cluster_error=exc, status=exc.status)
    preview = changes.spec_preview(
        namespace=namespace, name=name, spec=found.spec, action="rollback", dgd=dgd
    )
    return _change_page(
        request,
        namespace,
        name,
        kind="rollback",
        revision=found,
        revision_diff=revisions.diff_lines(found.diff),
        revision_yaml=revisions.spec_yaml(found.spec),
        preview=preview,
        action_url=reverse("deployments:rollback", args=[namespace, name, number]),
        no_rollback=changes.NO_ROLLBACK_TO_RESTART,
    )


@requires(Action.ROLLBACK)
@require_POST
def rollback(request: HttpRequest, namespace: str, name: str, number: int) -> HttpResponse:
    """Rolls back to a revision: applied as a new revision, with the version reviewed."""
    if not valid_namespace(namespace):
        raise Http404("No such namespace.")
    base = {
        "kind": "rollback",
        "action_url": reverse("deployments:rollback", args=[namespace, name, number]),
    }
    try:
        preview, created = changes.deployment_rollback(
            user=request.user,
            namespace=namespace,
            name=name,
            number=number,
            resource_version=request.POST.get("resource_version") or None,
            note=request.POST.get("note", ""),
        )
    except Revision.DoesNotExist as exc:
        raise Http404(str(exc)) from exc
    except changes.Stale as exc:
        return _change_page(
            request, namespace, name, preview=exc.preview, stale=exc.message, status=409, **base
        )
    except changes.ChangeRefused as exc:
        return _change_page(request, namespace, name, refused=exc, status=400, **base)
    except ClusterError as exc:
        return _change_page(request, namespace, name, cluster_error=exc, status=exc.status, **base)
    if created is None:
        messages.info(request, f"{name} already runs revision {number}'s spec: nothing changed.")
    else:
        messages.success(
            request,
            f"Rolled {name} back to revision {number} as revision {created.number}. "
            + preview.summary.text,
        )
    return redirect("deployments:detail", namespace, name)


# --- JSON -----------------------------------------------------------------------------------------


def api_namespace(request: HttpRequest, action: Action = Action.VIEW) -> str:
    """The query's namespace (or the default), checked, and the user's role in it."""
    try:
        namespace = dashboard._json_namespace(request, settings.DYNAMOTE_DEFAULT_NAMESPACE)
    except ValueError as exc:
        raise ApiError(str(exc), fields={"namespace": [str(exc)]}) from exc
    require(request, action, namespace)
    return namespace


# What a change of a running deployment may raise, each answered by `_change_json`.
CHANGE_ERRORS = (changes.Stale, changes.ChangeRefused, ClusterError)


def _change_json(
    exc: changes.Stale | changes.ChangeRefused | ClusterError, name: str, namespace: str
) -> JsonResponse:
    """The one JSON answer for each of CHANGE_ERRORS: 409 with the newer version's diff for a
    stale change, 400 with the fields for a refused one, 404 or the cluster's status."""
    if isinstance(exc, changes.Stale):
        return error_response(exc.message, status=409, **exc.preview.as_json())
    if isinstance(exc, changes.ChangeRefused):
        return error_response(exc.message, status=400, fields=exc.fields)
    if isinstance(exc, NotFound):
        return error_response(not_found_message(namespace=namespace, name=name), status=404)
    return error_response(exc.message, status=exc.status)


def _revision_json(revision: Revision, *, full: bool = False) -> dict:
    data = {
        "revision": revision.number,
        "action": revision.action,
        "source": revision.source,
        "user": revision.user.get_username() if revision.user else None,
        "createdAt": revision.created_at.isoformat(),
        "note": revision.note,
        "outcome": revision.outcome,
        "message": revision.message,
        "generation": revision.generation,
        "summary": revision.summary,
        "canRollBack": revision.can_roll_back,
    }
    if full:
        data.update(spec=revision.spec, diff=revision.diff, apiVersion=revision.api_version)
    return data


@requires(Action.VIEW, method_actions={"DELETE": Action.DELETE, "PATCH": Action.EDIT})
@require_http_methods(["GET", "DELETE", "PATCH"])
def api_deployment(request: HttpRequest, name: str) -> HttpResponse:
    """GET or DELETE one deployment (as before); PATCH changes its replicas or config."""
    if request.method != "PATCH":
        return dashboard.api_detail(request, name)
    return api_patch(request, name)


def api_patch(request: HttpRequest, name: str) -> JsonResponse:
    """PATCH /api/deployments/<name>: {"replicas": {...}} and/or {"config": {...}}."""
    namespace = api_namespace(request, Action.EDIT)
    body = read_json_object(request)
    unknown = sorted(set(body) - {"replicas", "config", "resourceVersion", "note", "confirm"})
    if unknown:
        message = f"Unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}."
        return error_response(message, status=400, fields={k: ["Unknown field."] for k in unknown})
    if "replicas" not in body and "config" not in body:
        message = 'Send {"replicas": {"<component>": n}} and/or {"config": {...}}.'
        return error_response(message, status=400, fields={"replicas": [message]})
    dry_run = request.GET.get("dryRun", "").lower() in ("true", "1", "all")
    resource_version = body.get("resourceVersion") or None
    if "config" in body:
        return _api_edit(request, namespace, name, body, dry_run=dry_run)
    try:
        if dry_run:
            preview = changes.scale_preview(
                namespace=namespace, name=name, replicas=body["replicas"]
            )
            if resource_version and resource_version != preview.resource_version:
                raise changes.Stale(preview)
            return JsonResponse({**preview.as_json(), "dryRun": True})
        preview, revision = changes.deployment_scale(
            user=request.user,
            namespace=namespace,
            name=name,
            replicas=body["replicas"],
            resource_version=resource_version,
            confirm_zero=bool(body.get("confirm", True)),
            note=str(body.get("note") or ""),
        )
    except CHANGE_ERRORS as exc:
        return _change_json(exc, name, namespace)
    return JsonResponse(
        {
            **preview.as_json(),
            "revision": revision.number if revision else None,
            "message": revision.message if revision else "Nothing changed.",
        }
    )


def _api_edit(request: HttpRequest, namespace: str, name: str, body: dict, *, dry_run: bool):
    """PATCH with "config": the stored config, the live DGD's values, then these changes."""
    config = body["config"]
    if not isinstance(config, dict):
        message = 'Send "config" as an object of the same fields as POST /api/deployments.'
        return error_response(message, status=400, fields={"config": [message]})
    changed = {to_snake(key): value for key, value in config.items()}
    locked = {
        key: [NAME_LOCKED]
        for key, value in (("name", name), ("namespace", namespace))
        if key in changed and changed[key] != value
    }
    if locked:
        return error_response(NAME_LOCKED, status=400, fields=locked)
    try:
        dgd = changes._read(namespace, name)
    except ClusterError as exc:
        return _change_json(exc, name, namespace)
    submission = deployed_submission(namespace=namespace, name=name)
    model = catalog_get(slug=submission.model_slug) if submission else None
    if submission is None or model is None or is_external(dgd):
        message = f"{name} was not created with Dynamote's deploy form: change it with its YAML."
        return error_response(message, status=409, fields={"config": [message]})
    data = {
        **initial_from_dgd(dgd, config=submission.config, manifest=submission.manifest),
        **changed,
        "name": name,
        "namespace": namespace,
        "model_id": model.slug,
    }
    result = plan(ModelFacts.from_catalog(model), deploy_target(session=ClusterSession()), data)
    if not result.ok:
        return error_response(
            "The config is not valid; see the fields.", status=400, fields=result.errors
        )
    spec = keep_live_replicas(result.manifest["spec"], dgd)
    try:
        if body.get("replicas"):
            wanted = changes._clean_replicas({**dgd, "spec": spec}, body["replicas"])
            spec = revisions.with_replicas(spec, wanted)
        preview, revision = changes.deployment_change_spec(
            user=request.user,
            namespace=namespace,
            name=name,
            spec=spec,
            action="edit",
            resource_version=body.get("resourceVersion") or None,
            note=str(body.get("note") or ""),
            dry_run=dry_run,
        )
    except CHANGE_ERRORS as exc:
        return _change_json(exc, name, namespace)
    return JsonResponse(
        {
            **preview.as_json(),
            "dryRun": dry_run,
            "revision": revision.number if revision else None,
        }
    )


@requires(Action.VIEW)
@require_GET
def api_revisions(request: HttpRequest, name: str) -> JsonResponse:
    """GET /api/deployments/<name>/revisions: newest first."""
    namespace = api_namespace(request)
    try:
        dgd = changes._read(namespace, name)
    except ClusterError as exc:
        return _change_json(exc, name, namespace)
    changes.revisions_observe(dgd=dgd)
    uid = (dgd.get("metadata") or {}).get("uid")
    found = changes.revision_list(namespace=namespace, name=name, uid=uid)
    return JsonResponse(
        {
            "namespace": namespace,
            "name": name,
            "resourceVersion": (dgd.get("metadata") or {}).get("resourceVersion"),
            "revisions": [_revision_json(r) for r in found],
        }
    )


@requires(Action.VIEW)
@require_GET
def api_revision(request: HttpRequest, name: str, number: int) -> JsonResponse:
    """GET /api/deployments/<name>/revisions/<n>: the spec, its diff, and the diff to live."""
    namespace = api_namespace(request)
    try:
        dgd, found = _live_and_revision(namespace, name, number)
    except Http404 as exc:
        return error_response(str(exc), status=404)
    except ClusterError as exc:
        return _change_json(exc, name, namespace)
    preview = changes.spec_preview(
        namespace=namespace, name=name, spec=found.spec, action="rollback", dgd=dgd
    )
    rollback = preview.as_json() if found.can_roll_back else None
    return JsonResponse({**_revision_json(found, full=True), "rollback": rollback})


@requires(Action.ROLLBACK)
@require_POST
def api_rollback(request: HttpRequest, name: str) -> JsonResponse:
    """POST /api/deployments/<name>/rollback {"revision": n} [?dryRun=true]."""
    namespace = api_namespace(request, Action.ROLLBACK)
    body = read_json_object(request)
    number = body.get("revision")
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        message = 'Give the revision number to roll back to, e.g. {"revision": 2}.'
        return error_response(message, status=400, fields={"revision": [message]})
    dry_run = request.GET.get("dryRun", "").lower() in ("true", "1", "all")
    try:
        preview, created = changes.deployment_rollback(
            user=request.user,
            namespace=namespace,
            name=name,
            number=number,
            resource_version=body.get("resourceVersion") or None,
            note=str(body.get("note") or ""),
            dry_run=dry_run,
        )
    except Revision.DoesNotExist as exc:
        return error_response(str(exc), status=404, fields={"revision": [str(exc)]})
    except CHANGE_ERRORS as exc:
        return _change_json(exc, name, namespace)
    return JsonResponse(
        {
            **preview.as_json(),
            "dryRun": dry_run,
            "revision": created.number if created else None,
        }
    )
