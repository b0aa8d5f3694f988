"""The JSON API's one error shape, its body reader, and the middleware that keeps /api/ JSON.

Every answer under /api/, error or not, is JSON; an error reads
`{"error": "what went wrong", "fields": {"name": ["what to change"]}}` (`fields` may be empty).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger("dynamote.api")

PREFIX = "/api/"
MAX_DEPTH = 32  # a config is a few levels deep
_TOO_DEEP = f"The JSON is nested more than {MAX_DEPTH} levels deep."
_UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
_REASONS = {
    400: "The request is not valid.",
    401: "Authentication required: log in to Dynamote first.",
    403: "Forbidden: send the session cookie with the X-CSRFToken header from /login/.",
    404: "There is no such API route.",
    405: "This API route does not take that method.",
    413: "The request body is too large.",
    500: "Dynamote failed to answer; the server log has the details.",
}


class ApiError(Exception):
    """An answer with the API's error shape."""

    def __init__(self, message: str, *, status: int = 400, fields: dict | None = None):
        super().__init__(message)
        self.message, self.status, self.fields = message, status, fields or {}

    def response(self) -> JsonResponse:
        return error_response(self.message, status=self.status, fields=self.fields)


def error_response(
    message: str, *, status: int, fields: dict[str, list[str]] | None = None, **extra: Any
) -> JsonResponse:
    """The API's one error shape."""
    return JsonResponse({"error": message, "fields": fields or {}, **extra}, status=status)


def read_json_object(request: HttpRequest) -> dict:
    """The body as a JSON object; ApiError (400 or 413) when it is anything else."""
    try:
        raw = request.body
    except RequestDataTooBig as exc:
        raise ApiError(_too_large(), status=413) from exc
    if not raw.strip():
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError("Send the body as UTF-8 encoded JSON.") from exc
    try:
        body = json.loads(text)
    except RecursionError as exc:
        raise ApiError(_TOO_DEEP) from exc
    except ValueError as exc:
        raise ApiError(f"The body is not valid JSON: {exc}.") from exc
    if _too_deep(body):
        raise ApiError(_TOO_DEEP)
    if not isinstance(body, dict):
        raise ApiError('Send the config as a JSON object, e.g. {"modelId": "qwen3-8b"}.')
    return body


def _too_deep(value: Any, depth: int = 1) -> bool:
    """Whether lists and objects nest deeper than MAX_DEPTH."""
    if depth > MAX_DEPTH:
        return True
    if isinstance(value, dict):
        value = list(value.values())
    return isinstance(value, list) and any(_too_deep(item, depth + 1) for item in value)


def _too_large() -> str:
    return f"The request body is over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."


class ApiMiddleware:
    """Keeps /api/ JSON: 401 before the CSRF check, 413 for big bodies, JSON error pages."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(PREFIX):
            return self.get_response(request)
        user = getattr(request, "user", None)
        if request.method in _UNSAFE and not (user and user.is_authenticated):
            return error_response(_REASONS[401], status=401)
        if _content_length(request) > (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or float("inf")):
            return error_response(_too_large(), status=413)
        return _as_json(self.get_response(request))

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not request.path.startswith(PREFIX):
            return None
        if isinstance(exc, ApiError):
            return exc.response()
        if isinstance(exc, RequestDataTooBig):
            return error_response(_too_large(), status=413)
        if isinstance(exc, PermissionDenied) and str(exc):
            return error_response(str(exc), status=403)
        return None


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _as_json(response: HttpResponse) -> HttpResponse:
    """An HTML error page (404, 405, CSRF, 500) as the API's error shape, same status."""
    if response.streaming:
        return response
    if response.get("Content-Type", "").startswith("application/json"):
        if response.status_code >= 400:
            try:
                body = json.loads(response.content)
            except ValueError:
                body = None
            if isinstance(body, dict) and "error" in body and "fields" not in body:
                body["fields"] = {}
                response.content = json.dumps(body).encode()
        return response
    if response.status_code < 400:
        return response
    status = response.status_code
    message = _REASONS.get(status, f"The request failed (HTTP {status}).")
    converted = error_response(message, status=status)
    if "Allow" in response:
        converted["Allow"] = response["Allow"]
    return converted
