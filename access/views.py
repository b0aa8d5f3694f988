"""The Access page (admins), the API tokens page (everyone), the Audit page and API."""

from __future__ import annotations

import csv
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access import audit, grants
from access.decorators import requires
from access.forms import AuditFilterForm, GrantForm, TokenForm, namespace_hint
from access.models import ApiToken, Grant, Role
from access.roles import Action, is_admin
from access.selectors import audit_entries, grant_list, token_list
from dynamote.api import error_response

AUDIT_PAGE_SIZE = 50


@requires(Action.ADMINISTER)
@require_http_methods(["GET", "POST"])
def access(request: HttpRequest) -> HttpResponse:
    """Who holds which role where; admins grant and revoke."""
    form = GrantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        record = grants.grant(request, data["subject"], Role(data["role"]), data["namespace"])
        messages.success(request, f"Granted {record}.")
        return redirect("access:index")
    context = {"form": form, "grants": grant_list(), "namespace_hint": namespace_hint()}
    return TemplateResponse(
        request, "access/index.html", context, status=400 if form.errors else 200
    )


@requires(Action.ADMINISTER)
@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_object_or_404(Grant, pk=pk)
    label = str(record)
    grants.revoke(request, record.user or record.group, record.namespace)
    messages.success(request, f"Revoked {label}.")
    return redirect("access:index")


@requires(Action.VIEW)
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    """The user's API tokens; a new token is shown once, right after it is created."""
    form = TokenForm(request.POST or None, user=request.user)
    created = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        _, created = grants.new_token(
            request,
            request.user,
            name=data["name"],
            expires_days=data["expires_days"],
            read_only=data["read_only"],
        )
        form = TokenForm(user=request.user)
    everyone = is_admin(request.user) and request.GET.get("all") == "1"
    context = {
        "form": form,
        "created": created,
        "tokens": token_list(request.user, everyone=everyone),
        "everyone": everyone,
        "may_see_all": is_admin(request.user),
    }
    status = 400 if form.errors else 201 if created else 200
    response = TemplateResponse(request, "access/tokens.html", context, status=status)
    response["Cache-Control"] = "no-store"  # the new token is on this page
    return response


@requires(Action.VIEW)
@require_POST
def revoke_token(request: HttpRequest, pk: int) -> HttpResponse:
    """Revokes one of the user's tokens (admins: anyone's)."""
    record = get_object_or_404(ApiToken, pk=pk)
    if record.user_id != request.user.pk and not is_admin(request.user):
        message = "Only its owner or an admin may revoke a token."
        audit.refused(request, "token-revoke", message)
        raise PermissionDenied(message)
    grants.revoke_token(request, record)
    messages.success(request, f'Revoked the token "{record.name}".')
    return redirect("access:tokens")


@requires(Action.ADMINISTER)
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    """The audit log with filters; `?format=csv` or `json` exports what the filters select."""
    form = AuditFilterForm(request.GET or None)
    valid = form.is_valid() if request.GET else True
    entries = audit_entries(form.cleaned_data if request.GET and valid else {})
    export = request.GET.get("format")
    if valid and export == "csv":
        return _csv(entries)
    if valid and export == "json":
        return JsonResponse({"entries": [audit.as_dict(e) for e in entries]})
    page = Paginator(entries, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    return TemplateResponse(request, "access/audit.html", context, status=200 if valid else 400)


@requires(Action.ADMINISTER)
@require_GET
def api_audit(request: HttpRequest) -> JsonResponse:
    """GET /api/audit with the Audit page's filters."""
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return error_response("The filters are not valid.", status=400, fields=form.errors)
    entries = audit_entries(form.cleaned_data)[:1000]
    return JsonResponse({"entries": [audit.as_dict(e) for e in entries]})


def _csv(entries) -> HttpResponse:
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="dynamote-audit.csv"'
    columns = list(audit.as_dict(entries.model()).keys())
    writer = csv.DictWriter(response, fieldnames=columns)
    writer.writeheader()
    for entry in entries.iterator():
        row = audit.as_dict(entry)
        # A cell starting with = + - @ would run as a formula in a spreadsheet.
        writer.writerow({key: _cell(value) for key, value in row.items()})
    return response


def _cell(value) -> str:
    """A CSV cell a spreadsheet shows as text: a leading = + - @ would run as a formula."""
    text = str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


def login_context(request: HttpRequest, sso_error: str = "") -> dict:
    """What the sign-in page shows: the password form, the single sign-on button, or both."""
    from access import oidc

    next_url = request.POST.get("next") or request.GET.get("next") or ""
    return {
        "password_login": settings.DYNAMOTE_PASSWORD_LOGIN,
        "sso_enabled": oidc.enabled(),
        "sso_name": settings.DYNAMOTE_OIDC_PROVIDER_NAME,
        "sso_url": reverse("oidc_authentication_init")
        + (f"?{urlencode({'next': next_url})}" if next_url else ""),
        "sso_error": sso_error,
        "next": next_url,
        "form": AuthenticationForm(request),
    }


@method_decorator(login_not_required, name="dispatch")
class Login(LoginView):
    """Sign-in: a password form (unless switched off) and the single sign-on button."""

    template_name = "registration/login.html"

    def get_context_data(self, **kwargs):
        context = login_context(self.request)
        context.update(super().get_context_data(**kwargs))
        return context

    def post(self, request, *args, **kwargs):
        if not settings.DYNAMOTE_PASSWORD_LOGIN:
            message = "Password sign-in is switched off here: use single sign-on."
            context = login_context(request, message)
            return TemplateResponse(request, self.template_name, context, status=403)
        return super().post(request, *args, **kwargs)
