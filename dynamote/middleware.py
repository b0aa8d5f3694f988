"""Project middleware: health, request ids, cluster deadline, CSP, login, HTMX toasts."""

import re
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.middleware import LoginRequiredMiddleware as BaseLoginRequired
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers

from deployments import cluster
from dynamote.logging import request_id, request_user
from dynamote.views import health

# Scripts, styles and connections only from Dynamote's own origin: no inline code at all.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def content_security_policy() -> str:
    """The policy; with single sign-on, forms may also lead to the identity provider (the
    sign-out form is answered with a redirect to the provider's end-session page)."""
    issuer = settings.DYNAMOTE_OIDC_ISSUER
    if not issuer:
        return CONTENT_SECURITY_POLICY
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(issuer))
    return CONTENT_SECURITY_POLICY.replace("form-action 'self'", f"form-action 'self' {origin}")


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class HealthCheckMiddleware:
    """Answers /api/health before host checks and HTTPS redirects: probes use the pod IP."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/api/health" and request.method == "GET":
            return health(request)
        return self.get_response(request)


class RequestContextMiddleware:
    """Gives each request an id (X-Request-ID when sane) for logs and the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex[:16]
        id_token = request_id.set(rid)
        user_token = request_user.set("-")
        try:
            response = self.get_response(request)
        finally:
            request_id.reset(id_token)
            request_user.reset(user_token)
        response["X-Request-ID"] = rid
        return response


class ClusterDeadlineMiddleware:
    """One deadline for all of a request's cluster calls: a slow cluster costs one timeout."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with cluster.deadline():
            return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", content_security_policy())
        return response


class LoginRequiredMiddleware(BaseLoginRequired):
    """Every page needs a login; the JSON API answers 401 instead of redirecting."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.user.is_authenticated:
            request_user.set(request.user.get_username())
        return super().process_view(request, view_func, view_args, view_kwargs)

    def handle_no_permission(self, request: HttpRequest, view_func) -> HttpResponse:
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"error": "Authentication required: log in to Dynamote first."}, status=401
            )
        return super().handle_no_permission(request, view_func)


class HtmxMessagesMiddleware:
    """Appends to HTMX answers, as out-of-band swaps, pending messages (toasts) and the
    header's cluster status, so an open tab's header agrees with the table it just got."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # The same URL answers a full page or a partial: caches must tell them apart.
        patch_vary_headers(response, ["HX-Request"])
        if not getattr(request, "htmx", False) or response.streaming:
            return response
        if response.status_code == 204:
            return self._status_if_changed(request, response)
        if response.status_code == 286 or "HX-Redirect" in response.headers:
            return response
        if "HX-Location" in response.headers or not response.get("Content-Type", "").startswith(
            "text/html"
        ):
            return response
        pending = list(messages.get_messages(request))
        if pending:
            response.content += render_to_string(
                "toasts.html", {"messages": pending, "oob": True}, request=request
            ).encode()
        if _shows_cluster_status(request) and b'id="cluster-status"' not in response.content:
            response.content += _cluster_status_html(request)
        return response

    def _status_if_changed(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """A poll with nothing new still corrects a header that shows another cluster state."""
        shown = request.headers.get("X-Dynamote-Cluster", "")
        if not shown or not _shows_cluster_status(request):
            return response
        if shown == _cluster_state():
            return response
        answer = HttpResponse(_cluster_status_html(request))
        answer["HX-Reswap"] = "none"  # only the out-of-band status is swapped in
        return answer


def _shows_cluster_status(request: HttpRequest) -> bool:
    return request.method == "GET" and request.user.is_authenticated


def _cluster_state() -> str:
    from deployments.selectors import cluster_status

    return cluster_status().state


def _cluster_status_html(request: HttpRequest) -> bytes:
    return render_to_string("layout/cluster_status.html", {"oob": True}, request=request).encode()
