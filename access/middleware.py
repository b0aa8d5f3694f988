"""Bearer-token sign-in for the JSON API."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from access import audit, kube
from access.tokens import InvalidToken, authenticate
from deployments import cluster
from dynamote.api import PREFIX, error_response


class BearerTokenMiddleware:
    """`Authorization: Bearer dyn_…` on /api/ signs the request in as the token's owner.

    Such requests carry no cookie a browser would send on its own, so they need no CSRF
    token; session requests keep the CSRF check.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.api_token = None
        header = request.headers.get("Authorization", "")
        if request.path.startswith(PREFIX) and header[:7].lower() == "bearer ":
            try:
                token = authenticate(header[7:].strip())
            except InvalidToken as exc:
                audit.refused(request, "token-sign-in", str(exc))
                return error_response(str(exc), status=401)
            request.user = token.user
            request.api_token = token
            request._dont_enforce_csrf_checks = True
        return self.get_response(request)


class ImpersonationMiddleware:
    """With DYNAMOTE_IMPERSONATE, the request's cluster writes and access reviews carry
    Impersonate-User/Impersonate-Group for the signed-in user (session or API token), so
    Kubernetes decides. Calls made outside a request go as Dynamote's own account."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        identity = kube.identity_of(request.user) if kube.enabled() else None
        with cluster.acting_as(identity):
            return self.get_response(request)
