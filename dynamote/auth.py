"""Who is signing in from where: the client address sign-in throttling counts by."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The client's address: the connection's, or the one the outermost trusted proxy saw.

    Each of the DYNAMOTE_TRUSTED_PROXIES reverse proxies appends the address it received the
    request from to X-Forwarded-For, so the last N entries are theirs and the N-th from the
    end is the client's; anything before it was written by the client and is ignored.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    hops = settings.DYNAMOTE_TRUSTED_PROXIES
    if not hops:
        return remote
    forwarded = [
        entry.strip()
        for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if entry.strip()
    ]
    if len(forwarded) < hops:
        return remote
    candidate = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
