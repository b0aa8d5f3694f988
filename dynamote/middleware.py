"""Project middleware: login for every page, toasts for HTMX responses."""

from django.contrib import messages
from django.contrib.auth.middleware import LoginRequiredMiddleware as BaseLoginRequired
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers


class LoginRequiredMiddleware(BaseLoginRequired):
    """Every page needs a login; the JSON API answers 401 instead of redirecting."""

    def handle_no_permission(self, request: HttpRequest, view_func) -> HttpResponse:
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"error": "Authentication required: log in to Dynamote first."}, status=401
            )
        return super().handle_no_permission(request, view_func)


class HtmxMessagesMiddleware:
    """Appends pending Django messages to HTMX responses as an out-of-band toast swap."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # The same URL answers a full page or a partial: caches must tell them apart.
        patch_vary_headers(response, ["HX-Request"])
        if not getattr(request, "htmx", False) or response.streaming:
            return response
        if response.status_code in (204, 286) or "HX-Redirect" in response.headers:
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
        return response
