"""Checking answers against the OpenAPI document (openapi-core), and the API's routes."""

from __future__ import annotations

import json
import re
from functools import cache

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from openapi_core import OpenAPI
from openapi_core.contrib.django import DjangoOpenAPIRequest, DjangoOpenAPIResponse

from deployments.views.dashboard import api_invalid_name
from dynamote.openapi import document


@cache
def spec() -> OpenAPI:
    return OpenAPI.from_dict(document())


class _Request(DjangoOpenAPIRequest):
    """Found by its path, not its Django route: the catch-all for names Kubernetes refuses
    answers for the documented route it stands in for."""

    @property
    def path_pattern(self) -> None:
        return None

    @property
    def body(self):
        """A YAML body as text, for the document's `type: string`."""
        if self.request.content_type == "application/yaml":
            return self.request.body.decode()
        return super().body


class _Response(DjangoOpenAPIResponse):
    """A YAML or HTML body as text, for the document's `type: string`."""

    @property
    def data(self):
        if self.content_type.startswith("application/json"):
            return super().data
        return self.response.content.decode()


def check(response):
    """Fails unless the document describes this answer: status, content type and body; and,
    for a success, the request too (its query parameters and body as documented)."""
    request = _Request(response.wsgi_request)
    spec().validate_response(request, _Response(response))
    if response.status_code < 300:
        spec().validate_request(request)
    return response


class ApiClient:
    """A test client whose every answer is checked against the document."""

    def __init__(self, client: Client):
        self.client = client

    def get(self, path: str, **extra):
        return check(self.client.get(path, **extra))

    def delete(self, path: str, **extra):
        return check(self.client.delete(path, **extra))

    def post(self, path: str, data=None, **extra):
        return check(self.client.post(path, *_json(data), **extra))

    def patch(self, path: str, data=None, **extra):
        return check(self.client.patch(path, *_json(data), **extra))


def _json(data) -> tuple:
    if data is None:
        return ()
    return (json.dumps(data), "application/json")


def api_routes() -> dict[str, object]:
    """Every /api/ route as an OpenAPI path ("/api/deployments/{name}") and its view."""
    routes = {}
    for route, view in _patterns(get_resolver()):
        if not route.startswith("api/") or view is api_invalid_name:
            continue
        routes["/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)] = view
    return routes


def _patterns(resolver, prefix=""):
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, route)
        elif isinstance(entry, URLPattern):
            yield route.lstrip("^"), entry.callback
