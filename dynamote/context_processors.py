"""Template context shared by every page."""

from django.conf import settings
from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict:
    match = getattr(request, "resolver_match", None)
    return {
        "nav_section": match.namespace if match else "",
        "sandbox_mode": settings.DYNAMOTE_SANDBOX,
    }
