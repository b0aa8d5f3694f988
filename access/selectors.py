"""Reads for the Access, API tokens and Audit pages."""

from __future__ import annotations

from django.db.models import QuerySet

from access.models import ApiToken, AuditEntry, Grant


def grant_list() -> QuerySet[Grant]:
    return Grant.objects.select_related("user", "group").order_by(
        "namespace", "user__username", "group__name"
    )


def token_list(user, *, everyone: bool = False) -> QuerySet[ApiToken]:
    tokens = ApiToken.objects.select_related("user")
    return tokens if everyone else tokens.filter(user=user)


def audit_entries(filters: dict) -> QuerySet[AuditEntry]:
    """Entries matching the (cleaned) filters, newest first."""
    entries = AuditEntry.objects.all()
    for field in ("actor", "namespace", "action", "outcome"):
        if filters.get(field):
            entries = entries.filter(**{field: filters[field]})
    if filters.get("since"):
        entries = entries.filter(time__gte=filters["since"])
    if filters.get("until"):
        entries = entries.filter(time__lte=filters["until"])
    return entries


def deployment_history(*, namespace: str, name: str, limit: int = 20) -> list[AuditEntry]:
    """The deployment's own entries, newest first."""
    return list(AuditEntry.objects.filter(namespace=namespace, name=name)[:limit])
