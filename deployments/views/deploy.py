"""The deploy form: pick an engine and sizes, watch the manifest and GPU fit, create the DGD."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from access.decorators import requires
from access.policy import check_references
from access.roles import Action, namespaces_for
from catalog.custom import CustomModelError, parse_custom_model
from catalog.selectors import catalog_get, catalog_search
from deployments import cluster, custom_model
from deployments.forms import DeploymentForm, initial_from_config
from deployments.manifests import ModelFacts, config_field_for_path, render_yaml
from deployments.models import DeploymentSubmission, Outcome
from deployments.plan import plan
from deployments.selectors import dgd_names
from deployments.services import (
    ClusterSession,
    DeploymentFailed,
    IdempotencyMismatch,
    InvalidRequest,
    deploy_target,
    deployment_create,
    deployment_dry_run,
    free_name,
    gpu_fit,
    resolve_unknown,
    secret_check,
)
from dynamote.api import ApiError, error_response, read_json_object

# Query parameters that are not form values, kept out of download links.
_NOT_CONFIG = ("csrfmiddlewaretoken", "idempotency_key", "format", "from")


def detail_url(*, namespace: str, name: str) -> str:
    """The deployment's page, or the deployments list until that page exists."""
    try:
        return reverse("deployments:detail", args=[namespace, name])
    except NoReverseMatch:
        return reverse("deployments:index")


@requires(Action.DEPLOY)
@require_http_methods(["GET", "POST"])
def new(request: HttpRequest) -> HttpResponse:
    """The deploy form; HTMX GETs get the live preview, a POST creates the deployment."""
    custom = custom_model.requested(request)
    model, facts, source = _page_model(request, custom=custom)
    if model is None:
        slug = request.POST.get("model") or request.GET.get("model", "")
        return TemplateResponse(
            request,
            "deployments/new.html",
            {"models": catalog_search(), "unknown_model": slug},
            status=404 if slug else 200,
        )
    session = ClusterSession()
    target = deploy_target(session=session)
    form_kwargs = {
        "model": facts,
        "target": target,
        "default_namespace": settings.DYNAMOTE_DEFAULT_NAMESPACE,
        "allowed_namespaces": _deploy_namespaces(request),
        "taken_names": _taken_names(request, session=session),
        "custom": custom,
    }
    if request.method == "POST":
        return _submit(request, model=model, session=session, form_kwargs=form_kwargs)

    if source is not None and source.outcome == Outcome.UNKNOWN:
        resolve_unknown(namespace=source.namespace, name=source.name)
        source.refresh_from_db()
    bound = "engine" in request.GET
    if bound:
        data = request.GET
    else:
        initial = initial_from_config(source.config) if source else {}
        data = _as_data(DeploymentForm(initial=initial, **form_kwargs))
    form = DeploymentForm(data, **form_kwargs)
    form.custom_quiet = custom
    valid = form.is_valid()
    if request.GET.get("format") == "yaml" and valid:
        response = HttpResponse(render_yaml(form.manifest), content_type="application/yaml")
        response["Content-Disposition"] = f'attachment; filename="{form.config.name}.yaml"'
        return response
    context = _context(request, model=model, form=form, session=session, data=data)
    context["source"] = source
    partial = request.htmx and bound and not request.htmx.boosted
    template = "deployments/new.html#live" if partial else "deployments/new.html"
    return TemplateResponse(request, template, {**context, "oob": partial})


def _page_model(request: HttpRequest, *, custom: bool):
    """The model the page is for, its facts and the submission to start from (`?from=`).

    A catalog model by its id, or a custom model from the form's facts (or from the
    submission being retried); (None, None, None) when no published model is named.
    """
    if custom:
        source = _source_submission(request, slug=None)
        data = request.POST if request.method == "POST" else request.GET
        if source is not None and "engine" not in data:
            data = custom_model.initial_from_config(source.config.get("customModel"))
        page = custom_model.PageModel(facts=custom_model.facts_from_form(data))
        return page, page.facts, source
    slug = request.POST.get("model") or request.GET.get("model", "")
    model = catalog_get(slug=slug) if slug else None
    if model is None:
        return None, None, None
    source = _source_submission(request, slug=model.slug) if request.method == "GET" else None
    return model, ModelFacts.from_catalog(model), source


def _deploy_namespaces(request: HttpRequest) -> list[str]:
    """The namespaces the form offers: where the user holds the Deployer role."""
    granted = namespaces_for(request.user, Action.DEPLOY, settings.DYNAMOTE_NAMESPACES)
    return settings.DYNAMOTE_NAMESPACES if granted is None else granted


def _taken_names(request: HttpRequest, *, session: ClusterSession) -> set[str]:
    """The DGD names in the namespace the form is for, so the proposed name is a free one."""
    source = request.POST if request.method == "POST" else request.GET
    namespace = str(source.get("namespace") or settings.DYNAMOTE_DEFAULT_NAMESPACE).strip()
    if session.down is not None:
        return set()
    return dgd_names(namespace=namespace) or set()


def _submit(request: HttpRequest, *, model, session: ClusterSession, form_kwargs) -> HttpResponse:
    """Validates, records, dry-runs and creates; a failure re-renders the filled form."""
    key = request.POST.get("idempotency_key", "")
    data = request.POST.copy()
    # The re-rendered form is a new submission: a retry must not replay this one's outcome.
    data["idempotency_key"] = secrets.token_urlsafe(24)
    form = DeploymentForm(data, **form_kwargs)
    failed = None
    if form.is_valid():
        for field, problems in check_references(request, form.config).items():
            for problem in problems:
                form.add_error(field if field in form.fields else None, problem)
    if form.is_valid():
        config = form.config
        try:
            submission = deployment_create(
                user=request.user,
                config=config,
                manifest=form.manifest,
                idempotency_key=key,
                session=session,
            )
        except DeploymentFailed as failure:
            failed = failure.submission
            if failed.outcome == Outcome.UNKNOWN:
                data["idempotency_key"] = key  # deploying again finishes this submission
                form.add_error(None, failed.message)
                messages.warning(request, f"Deployment {config.name}: {failed.message}")
            else:
                _explain_failure(form, failure, session=session)
                messages.error(
                    request, f"Deployment {config.name} was not created: {failed.message}"
                )
        except InvalidRequest as exc:
            form.add_error(None, str(exc))
        except IdempotencyMismatch:
            form.add_error(
                None,
                "This form was sent before with other values; press Deploy again to send "
                "these as a new deployment.",
            )
        else:
            if getattr(submission, "replayed", False) and submission.outcome == Outcome.PENDING:
                messages.info(request, f"Deployment {submission.name} is already being created.")
            else:
                messages.success(request, f"Deployment {submission.name} created")
            url = detail_url(namespace=submission.namespace, name=submission.name)
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    if failed is None:
        # Said as a toast too: on a phone the first error may be far from the button.
        count = len(form.errors)
        messages.error(
            request,
            f"Not deployed: fix the {count} highlighted fields."
            if count > 1
            else "Not deployed: fix the highlighted field.",
        )
    context = _context(request, model=model, form=form, session=session, data=data)
    context["failed_submission"] = failed
    template = "deployments/new.html#deploy" if request.htmx else "deployments/new.html"
    response = TemplateResponse(request, template, context)
    if request.htmx:
        response["HX-Trigger-After-Settle"] = "dynamote:form-invalid"
    return response


def _explain_failure(form: DeploymentForm, failure: DeploymentFailed, *, session) -> None:
    """Puts what the cluster said next to the fields it concerns."""
    error = failure.error
    config = form.config
    if isinstance(error, cluster.Invalid):
        errors: dict[str, list[str]] = {}
        for cause in error.causes:
            field = config_field_for_path(cause.field, form.manifest)
            text = f"{cause.field}: {cause.message}" if field == "__all__" else cause.message
            errors.setdefault(field, []).append(text)
        form.add_config_errors(errors or {"__all__": [error.message]})
    elif isinstance(error, cluster.Conflict):
        suggestion = None
        if session.down is None:
            suggestion = free_name(
                namespace=config.namespace, name=config.name, engine=config.engine, mode=config.mode
            )
        hint = f" Try {suggestion}." if suggestion else " Choose another name."
        form.add_error(
            "name", f"A deployment named {config.name} already exists in {config.namespace}.{hint}"
        )
        form.name_suggestion = suggestion
    else:
        form.add_error(None, failure.submission.message)


def _context(request, *, model, form: DeploymentForm, session: ClusterSession, data) -> dict:
    """The page's context: the form, and the preview, GPU fit and secret check beside it."""
    # A form the cluster refused still shows the manifest it tried.
    valid = form.config is not None and form.manifest is not None
    config = form.config
    facts = form.facts
    namespace = str(data.get("namespace") or form.default_namespace)
    secret_name = str(data.get("hf_token_secret") or "").strip()
    query = QueryDict(mutable=True)
    for key in data:
        if key not in _NOT_CONFIG:
            values = data.getlist(key) if hasattr(data, "getlist") else data[key]
            query.setlist(key, values if isinstance(values, list) else [values])
    query["format"] = "yaml"
    return {
        "model": model,
        # The query that reopens this page: the catalog model, or the custom model's form.
        "model_query": "custom=1" if form.custom else f"model={model.slug}",
        "form": form,
        "target": form.target,
        "valid": valid,
        "config": config,
        "yaml": render_yaml(form.manifest) if valid else "",
        "download_query": query.urlencode(),
        "fit": gpu_fit(session=session, config=config, model=facts) if valid else None,
        "secret": secret_check(
            session=session,
            namespace=namespace,
            name=secret_name,
            gated=model.gated,
            model_name=model.name,
        ),
        "cluster_down": session.down,
    }


def _as_data(form: DeploymentForm) -> dict:
    """An unbound form's initial values as submitted data, to preview the defaults."""
    data = {}
    for name in form.fields:
        value = form[name].value()
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, list | tuple):
            data[name] = [str(item) for item in value]
        elif value is not None:
            data[name] = str(value)
    return data


def _source_submission(request: HttpRequest, *, slug: str | None) -> DeploymentSubmission | None:
    """One of the user's own submissions to start from (`?from=<id>`); staff may open any.

    Without a slug, a submission of a custom model (its facts are in its config).
    """
    raw = request.GET.get("from", "")
    if not raw.isdigit():
        return None
    mine = DeploymentSubmission.objects.filter(pk=int(raw))
    if slug is not None:
        mine = mine.filter(model_slug=slug)
    if not request.user.is_staff:
        mine = mine.filter(user=request.user)
    source = mine.first()
    if source is not None and slug is None and not source.config.get("customModel"):
        return None
    return source


# --- JSON ------------------------------------------------------------------------------------


@require_POST
def api_create(request: HttpRequest) -> JsonResponse:
    """POST /api/deployments: create a DGD from a camelCase config; ?dryRun=true only checks."""
    body = read_json_object(request)
    facts, body = _api_model(body)
    session = ClusterSession()
    result = plan(facts, deploy_target(session=session), body)
    if not result.ok:
        raise ApiError("The config is not valid; see the fields.", fields=result.errors)
    refused = check_references(request, result.config)
    if refused:
        raise ApiError("The config references what Deployers may not use.", fields=refused)
    manifest = result.manifest
    if request.GET.get("dryRun", "").lower() in ("true", "1", "all"):
        try:
            session.call(deployment_dry_run, manifest=manifest)
        except cluster.ClusterError as exc:
            return _api_error(exc, manifest)
        return JsonResponse({"dryRun": True, "manifest": manifest, "yaml": render_yaml(manifest)})
    try:
        submission = deployment_create(
            user=request.user,
            config=result.config,
            manifest=manifest,
            idempotency_key=request.headers.get("Idempotency-Key", ""),
            session=session,
        )
    except InvalidRequest as exc:
        raise ApiError(str(exc), fields=exc.fields) from exc
    except IdempotencyMismatch as exc:
        raise ApiError(str(exc), status=422, fields={"Idempotency-Key": [str(exc)]}) from exc
    except DeploymentFailed as failure:
        submission = failure.submission
        if failure.error is None:
            return error_response(
                f"This Idempotency-Key was used before and failed: {submission.message}",
                status=409,
                submission=submission.pk,
            )
        if submission.outcome == Outcome.UNKNOWN:
            return error_response(
                submission.message,
                status=failure.error.status,
                submission=submission.pk,
                outcome=submission.outcome,
            )
        return _api_error(failure.error, manifest)
    created = getattr(submission, "created_object", None)
    return JsonResponse(
        {
            "deployment": created or submission.manifest,
            "submission": submission.pk,
            "url": detail_url(namespace=submission.namespace, name=submission.name),
        },
        status=201 if created is not None and not getattr(submission, "replayed", False) else 200,
    )


def _api_model(body: dict) -> tuple[ModelFacts, dict]:
    """The model a JSON config names: a catalog id (`modelId`) or its facts (`customModel`)."""
    if body.get("customModel") is not None:
        try:
            custom = parse_custom_model(body["customModel"])
        except CustomModelError as exc:
            raise ApiError(
                "The custom model's facts are not valid; see the fields.",
                fields={f"customModel.{key}": texts for key, texts in exc.errors.items()},
            ) from exc
        return custom_model.facts_for(custom), {**body, "customModel": custom.as_config()}
    model = catalog_get(slug=str(body.get("modelId") or ""))
    if model is None:
        raise ApiError(
            "The config names no catalog model.",
            fields={
                "modelId": [
                    "Give the id of a published catalog model, or the model's facts as customModel."
                ]
            },
        )
    return ModelFacts.from_catalog(model), body


def _api_error(error: cluster.ClusterError, manifest: dict) -> JsonResponse:
    """What the cluster said, with its causes under the config fields they concern."""
    fields: dict[str, list[str]] = {}
    message = error.message
    if isinstance(error, cluster.Invalid):
        for cause in error.causes:
            field = config_field_for_path(cause.field, manifest)
            fields.setdefault(field, []).append(f"{cause.field}: {cause.message}")
    elif isinstance(error, cluster.Conflict):
        meta = manifest["metadata"]
        message = f"A deployment named {meta['name']} already exists in {meta['namespace']}."
        fields["name"] = [message]
    return error_response(message, status=error.status, fields=fields)
