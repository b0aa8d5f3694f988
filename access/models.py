"""Who may do what (grants), how scripts sign in (API tokens), and what was done (audit)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils import timezone


class Role(models.TextChoices):
    """Each role may do what the one before it may, and more."""

    VIEWER = "viewer", "Viewer"
    DEPLOYER = "deployer", "Deployer"
    ADMIN = "admin", "Admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self) + 1


ALL_NAMESPACES = ""


class Grant(models.Model):
    """A role for a user or a group, in one namespace or (namespace empty) in all."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE
    )
    group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.CASCADE)
    role = models.CharField(max_length=16, choices=Role.choices)
    namespace = models.CharField(
        max_length=63, blank=True, help_text="Empty: every namespace Dynamote may use."
    )
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, group__isnull=True)
                | models.Q(user__isnull=True, group__isnull=False),
                name="grant_to_user_or_group",
            ),
            models.UniqueConstraint(
                fields=["user", "namespace"], name="one_grant_per_user_namespace"
            ),
            models.UniqueConstraint(
                fields=["group", "namespace"], name="one_grant_per_group_namespace"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject}: {self.get_role_display()} in {self.scope}"

    @property
    def subject(self) -> str:
        return self.user.get_username() if self.user_id else f"group:{self.group.name}"

    @property
    def scope(self) -> str:
        return f"namespace {self.namespace}" if self.namespace else "all namespaces"


class ApiToken(models.Model):
    """A personal access token: only its hash is kept; the token is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=64)
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    read_only = models.BooleanField(default=False)
    created = models.DateTimeField(default=timezone.now)
    expires = models.DateTimeField(null=True, blank=True)
    last_used = models.DateTimeField(null=True, blank=True)
    revoked = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name} ({self.user.get_username()})"

    @property
    def active(self) -> bool:
        return not self.revoked and not (self.expires and self.expires <= timezone.now())


class Outcome(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    REFUSED = "refused", "Refused"
    UNKNOWN = "unknown", "Unknown"


class AppendOnly(Exception):
    """Audit entries are never edited or deleted in the app."""


class AuditEntry(models.Model):
    """One thing someone did or tried, appended before it is sent and completed after."""

    time = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.CharField(max_length=150, blank=True, db_index=True)
    auth = models.CharField(max_length=100, blank=True, help_text="password, sso or token:<name>")
    client = models.CharField(max_length=64, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=32, db_index=True)
    namespace = models.CharField(max_length=63, blank=True, db_index=True)
    name = models.CharField(max_length=253, blank=True)
    summary = models.TextField(blank=True)
    diff = models.TextField(blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    message = models.TextField(blank=True)
    completed = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-time", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        target = f" {self.namespace}/{self.name}" if self.name else ""
        return f"{self.time:%Y-%m-%d %H:%M:%S} {self.actor} {self.action}{target}: {self.outcome}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not kwargs.pop("completing", False):
            raise AppendOnly("An audit entry cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("An audit entry cannot be deleted; prune_audit removes old ones.")


class SsoIdentity(models.Model):
    """Which Dynamote user an identity provider's subject is."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identities"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="one_user_per_subject")
        ]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"
