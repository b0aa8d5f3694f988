"""Granting and revoking roles, and creating and revoking tokens: each change audited."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from access import audit, tokens
from access.models import ALL_NAMESPACES, ApiToken, Grant, Outcome, Role


class GrantError(ValueError):
    """A grant that cannot be made; the message says why."""


def subject(spec: str):
    """A user by name, or a group as `group:NAME` (created if new)."""
    if spec.startswith("group:"):
        name = spec.removeprefix("group:")
        if not name:
            raise GrantError("Name the group: group:NAME.")
        return Group.objects.get_or_create(name=name)[0]
    user = get_user_model().objects.filter(username=spec).first()
    if user is None:
        raise GrantError(f"There is no user {spec!r}.")
    return user


def check_namespace(namespace: str) -> str:
    allowed = settings.DYNAMOTE_NAMESPACES
    if namespace and allowed and namespace not in allowed:
        raise GrantError(
            f"Namespace {namespace!r} is not one Dynamote may use "
            f"(DYNAMOTE_NAMESPACES: {', '.join(allowed)})."
        )
    return namespace


def _owner(who) -> dict:
    return {"group": who} if isinstance(who, Group) else {"user": who}


def grant(request, who, role: Role, namespace: str = ALL_NAMESPACES) -> Grant:
    check_namespace(namespace)
    label = f"group:{who.name}" if isinstance(who, Group) else who.get_username()
    with audit.recorded(
        request, "grant", namespace=namespace, summary=f"{label}: {Role(role).label}"
    ):
        record, _ = Grant.objects.update_or_create(
            **_owner(who), namespace=namespace, defaults={"role": role}
        )
    return record


def revoke(request, who, namespace: str = ALL_NAMESPACES) -> int:
    label = f"group:{who.name}" if isinstance(who, Group) else who.get_username()
    entry = audit.begin(request, "revoke", namespace=namespace, summary=label)
    removed, _ = Grant.objects.filter(**_owner(who), namespace=namespace).delete()
    outcome = Outcome.SUCCEEDED if removed else Outcome.FAILED
    audit.complete(entry, outcome, "" if removed else "There was no such grant.")
    return removed


def new_token(request, user, **options) -> tuple[ApiToken, str]:
    summary = f"token {options.get('name', '')!r} for {user.get_username()}"
    with audit.recorded(request, "token-create", summary=summary):
        return tokens.create_token(user, **options)


def revoke_token(request, record: ApiToken) -> None:
    summary = f"token {record.name!r} of {record.user.get_username()}"
    with audit.recorded(request, "token-revoke", summary=summary):
        tokens.revoke(record)
