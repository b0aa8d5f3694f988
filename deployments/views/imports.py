"""Importing a DGD manifest as YAML: the page (new, or "Edit as YAML") and the JSON API branch."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from access.decorators import requires
from access.roles import AccessDenied, Action
from deployments import changes, cluster, imports
from deployments.cluster import ClusterError, NotFound
from deployments.export import git_yaml
from deployments.selectors import not_found_message, valid_namespace
from dynamote.api import error_response


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _text(request: HttpRequest) -> str:
    """The pasted text, or the uploaded file's when one was chosen (ImportRefused if unreadable)."""
    upload = request.FILES.get("file")
    if upload is None or not upload.size:
        return request.POST.get("yaml", "")
    if upload.size > imports.MAX_BYTES:
        raise imports.ImportRefused(f"{upload.name} is larger than {imports.MAX_BYTES // 1000} kB.")
    try:
        return upload.read().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise imports.ImportRefused(f"{upload.name} is not UTF-8 text.") from exc


def _target_mismatch(manifest: imports.Manifest, namespace: str, name: str) -> None:
    if (manifest.namespace, manifest.name) != (namespace, name):
        message = (
            f"This page changes {namespace}/{name}; the YAML names "
            f"{manifest.namespace}/{manifest.name}. Name and namespace cannot change here: use "
            "Import YAML (or Deploy a copy) for another deployment."
        )
        raise imports.ImportRefused(message, {"metadata.name": [message]})


def _page(request: HttpRequest, context: dict, status: int = 200) -> HttpResponse:
    return TemplateResponse(request, "deployments/import.html", context, status=status)


def _import(request: HttpRequest, namespace: str | None = None, name: str | None = None):
    """The import form: review (parse, check, dry-run, diff), then apply the reviewed text."""
    editing = name is not None
    context = {
        "namespace": namespace,
        "name": name,
        "action_url": request.path,
        "detail_url": reverse("deployments:detail", args=[namespace, name]) if editing else "",
        "text": "",
        "errors": {},
    }
    if request.method == "GET":
        if editing:
            try:
                context["text"] = git_yaml(cluster.dgd_get(namespace=namespace, name=name))
            except NotFound as exc:
                raise Http404(not_found_message(namespace=namespace, name=name)) from exc
            except ClusterError as exc:
                context["error"] = f"The manifest could not be read: {exc.message}"
        return _page(request, context)
    try:
        text = _text(request)
    except imports.ImportRefused as exc:
        context.update(text=request.POST.get("yaml", ""), error=exc.message, errors=exc.fields)
        return _page(request, context, 400)
    context["text"] = text
    reviewed = request.POST.get("reviewed", "")
    applying = bool(request.POST.get("apply")) and reviewed == _digest(text)
    try:
        manifest = imports.parse(text, default_namespace=namespace)
        if editing:
            _target_mismatch(manifest, namespace, name)
        if applying:
            preview, revision = imports.deployment_import(
                user=request.user,
                manifest=manifest,
                resource_version=request.POST.get("resource_version", ""),
                note=request.POST.get("note", ""),
            )
        else:
            preview = imports.import_preview(user=request.user, manifest=manifest)
    except imports.ImportRefused as exc:
        context.update(error=exc.message, errors=exc.fields)
        return _page(request, context, exc.status)
    except AccessDenied as exc:
        context.update(error=exc.message, errors={"metadata.namespace": [exc.message]})
        return _page(request, context, 403)
    except changes.Stale as exc:
        preview = imports.ImportPreview(manifest, exc.preview)
        context.update(preview=preview, stale=exc.message, reviewed=_digest(text))
        return _page(request, context, 409)
    except ClusterError as exc:
        context.update(error=exc.message)
        return _page(request, context, exc.status)
    if not applying:
        if request.POST.get("apply"):
            context["stale"] = "The text changed since your review: review this diff, then apply."
        context.update(preview=preview, reviewed=_digest(text))
        return _page(request, context)
    return _applied(request, preview, revision)


def _applied(request: HttpRequest, preview: imports.ImportPreview, revision) -> HttpResponse:
    name = preview.manifest.name
    if preview.creates:
        messages.success(request, f"{name} created from the imported manifest.")
    elif revision is None:
        messages.info(request, f"{name} already has that spec: nothing changed.")
    else:
        messages.success(
            request, f"{name} changed (revision {revision.number}). {' '.join(revision.summary)}"
        )
    return redirect("deployments:detail", preview.manifest.namespace, name)


@requires(Action.IMPORT)
@require_http_methods(["GET", "POST"])
def import_new(request: HttpRequest) -> HttpResponse:
    """Paste or upload a DGD manifest: created when new, applied as an edit when it exists."""
    return _import(request)


@requires(Action.IMPORT)
@require_http_methods(["GET", "POST"])
def edit_yaml(request: HttpRequest, namespace: str, name: str) -> HttpResponse:
    """Edit a deployment as YAML: the text area filled with its manifest for Git."""
    if not valid_namespace(namespace):
        raise Http404("No such namespace.")
    return _import(request, namespace, name)


def api_import(request: HttpRequest) -> JsonResponse:
    """POST /api/deployments with a YAML body: created, or applied with the resourceVersion in
    its metadata (when given); ?dryRun=true answers the diff and changes nothing."""
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        return error_response("Send the manifest as UTF-8 encoded YAML.", status=400)
    dry_run = request.GET.get("dryRun", "").lower() in ("true", "1", "all")
    try:
        manifest = imports.parse(
            text,
            default_namespace=request.GET.get("namespace") or settings.DYNAMOTE_DEFAULT_NAMESPACE,
        )
        if dry_run:
            preview = imports.import_preview(user=request.user, manifest=manifest)
            return JsonResponse({**preview.as_json(), "dryRun": True})
        preview, revision = imports.deployment_import(user=request.user, manifest=manifest)
    except imports.ImportRefused as exc:
        return error_response(exc.message, status=exc.status, fields=exc.fields)
    except changes.Stale as exc:
        stale = imports.ImportPreview(manifest, exc.preview)
        return error_response(exc.message, status=409, **stale.as_json())
    except ClusterError as exc:
        return error_response(exc.message, status=exc.status)
    return JsonResponse(
        {
            **preview.as_json(),
            "revision": revision.number if revision else None,
            "url": reverse("deployments:detail", args=[manifest.namespace, manifest.name]),
        },
        status=201 if preview.creates else 200,
    )
