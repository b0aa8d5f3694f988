"""The audit log: each change appended before it is sent, completed after, and logged once
as a JSON line (logger `dynamote.audit`) for a SIEM."""

from __future__ import annotations

import contextvars
import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass

from django.utils import timezone

from access.models import AuditEntry, Outcome
from dynamote.auth import client_ip
from dynamote.logging import request_id

logger = logging.getLogger("dynamote.audit")
SESSION_AUTH_KEY = "dynamote_auth"  # how the session signed in: "password" or "sso"


@dataclass(frozen=True)
class Actor:
    """Who is acting, how they signed in, and from where."""

    name: str
    auth: str
    client: str


COMMAND_LINE = Actor("manage.py", "command", "")
current_actor: contextvars.ContextVar[Actor] = contextvars.ContextVar(
    "current_actor", default=COMMAND_LINE
)


def actor_of(request) -> Actor:
    user = getattr(request, "user", None)
    name = user.get_username() if user is not None and user.is_authenticated else ""
    return Actor(name, how_authenticated(request) if name else "", client_ip(request)[:64])


class AuditActorMiddleware:
    """Makes the signed-in user the actor of the audit entries this request appends."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_actor.set(actor_of(request))
        try:
            return self.get_response(request)
        finally:
            current_actor.reset(token)


def how_authenticated(request) -> str:
    token = getattr(request, "api_token", None)
    if token is not None:
        return f"token:{token.name}"
    session = getattr(request, "session", None)
    return (session.get(SESSION_AUTH_KEY) if session is not None else None) or "password"


def begin(
    request,
    action: str,
    *,
    namespace: str = "",
    name: str = "",
    summary: str = "",
    diff: str = "",
    actor: Actor | None = None,
) -> AuditEntry:
    """Appends an entry for what is about to be done (outcome pending).

    The actor is the request's user, or without a request the current request's (or, in a
    `manage.py` command, the command line).
    """
    if actor is None:
        actor = current_actor.get() if request is None else actor_of(request)
    return AuditEntry.objects.create(
        actor=actor.name,
        auth=actor.auth,
        client=actor.client,
        request_id=request_id.get()[:64],
        action=action,
        namespace=namespace,
        name=name,
        summary=summary,
        diff=diff,
    )


def complete(entry: AuditEntry, outcome: Outcome | str, message: str = "") -> AuditEntry:
    """Records the outcome (once) and writes the entry's JSON log line."""
    if entry.completed is None:
        entry.outcome, entry.message, entry.completed = outcome, message, timezone.now()
        entry.save(completing=True, update_fields=["outcome", "message", "completed"])
        logger.info(json.dumps(as_dict(entry), sort_keys=True))
    return entry


@contextmanager
def recorded(request, action: str, **fields):
    """Wraps a change: pending before, succeeded after, failed with the error's text."""
    entry = begin(request, action, **fields)
    try:
        yield entry
    except BaseException as exc:
        complete(entry, Outcome.FAILED, str(exc)[:2000])
        raise
    complete(entry, Outcome.SUCCEEDED)


def settle(action: str, *, namespace: str, name: str, outcome: str, message: str = "") -> None:
    """Completes the newest pending entry of this action on this deployment (or appends one
    when an unconfirmed outcome is settled later)."""
    entry = (
        AuditEntry.objects.filter(
            action=action, namespace=namespace, name=name, outcome=Outcome.PENDING
        )
        .order_by("-time", "-id")
        .first()
    )
    if entry is None:
        # Its entry was completed as unknown; reading the cluster has settled it since.
        entry = begin(None, action, namespace=namespace, name=name, summary="settled")
    complete(entry, outcome, message)


def refused(request, action: str, message: str, **fields) -> AuditEntry:
    """A refusal (denied role, bad token, …): appended and completed at once."""
    return complete(begin(request, action, **fields), Outcome.REFUSED, message)


def as_dict(entry: AuditEntry) -> dict:
    return {
        "time": entry.time.isoformat(),
        "actor": entry.actor,
        "auth": entry.auth,
        "client": entry.client,
        "request_id": entry.request_id,
        "action": entry.action,
        "namespace": entry.namespace,
        "name": entry.name,
        "summary": entry.summary,
        "diff": entry.diff,
        "outcome": entry.outcome,
        "message": entry.message,
    }
