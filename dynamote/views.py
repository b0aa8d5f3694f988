"""Project-wide views: health, and the sign-in page when sign-ins are locked out."""

import logging
import math

from axes.helpers import get_client_ip_address, get_cool_off
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

logger = logging.getLogger("dynamote.auth")


@login_not_required
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness for probes: answers without touching the cluster or the database."""
    return JsonResponse({"status": "ok"})


def login_locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials=None
) -> HttpResponse:
    """The sign-in page with why it refused: too many failed sign-ins (django-axes lockout)."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    cool_off = get_cool_off(request)
    minutes = math.ceil(cool_off.total_seconds() / 60) if cool_off else 0
    logger.warning(
        "login locked out username=%r address=%s", username, get_client_ip_address(request)
    )
    from access.views import login_context

    form = AuthenticationForm(request, initial={"username": username})
    context = {
        **login_context(request),
        "form": form,
        "next": request.POST.get("next", ""),
        "locked_out": (
            f"Too many failed sign-ins; try again in {minutes} minute{'s' if minutes != 1 else ''}."
        ),
    }
    return render(request, "registration/login.html", context, status=429)
