"""Every route says which action it performs, so none is left open to every signed-in user."""

from django.urls import URLPattern, URLResolver, get_resolver

# Routes whose access is decided elsewhere: sign-in, sign-out, the admin (staff), health.
EXEMPT_PREFIXES = ("login/", "logout/", "admin/", "api/health")


def _patterns(resolver=None, prefix=""):
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, route)
        elif isinstance(entry, URLPattern):
            yield route.lstrip("^"), entry.callback


def test_every_route_names_its_action():
    unclassified = [
        route
        for route, view in _patterns()
        if not route.startswith(EXEMPT_PREFIXES)
        and not hasattr(view, "access_action")
        and getattr(view, "login_required", True)
    ]
    assert unclassified == []
