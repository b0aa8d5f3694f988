"""Project-wide views: health."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET


@login_not_required
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness for probes: answers without touching the cluster or the database."""
    return JsonResponse({"status": "ok"})
