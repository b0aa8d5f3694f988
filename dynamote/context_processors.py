"""Template context shared by every page."""

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def _cluster_status():
    from deployments.selectors import cluster_status

    return cluster_status()


def _may_administer(request: HttpRequest) -> bool:
    from access.roles import is_admin

    return is_admin(getattr(request, "user", None))


def navigation(request: HttpRequest) -> dict:
    match = getattr(request, "resolver_match", None)
    return {
        "nav_section": match.namespace if match else "",
        "nav_url": match.view_name if match else "",
        "may_administer": SimpleLazyObject(lambda: _may_administer(request)),
        "sandbox_mode": settings.DYNAMOTE_SANDBOX,
        # The header's cluster status: read only when a template shows it, from the
        # shared 30 s cache, so partials and JSON never pay for it.
        "cluster": SimpleLazyObject(_cluster_status),
    }
