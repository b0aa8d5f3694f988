"""What Dynamote records of its own actions on the cluster."""

from django.conf import settings
from django.db import models


class Outcome(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class DeploymentSubmission(models.Model):
    """A deploy request, stored before it is sent so a failure loses nothing."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # One key per rendered form: a second submit of the same form finds this record.
    idempotency_key = models.CharField(max_length=64, unique=True, null=True, blank=True)
    namespace = models.CharField(max_length=63)
    name = models.CharField(max_length=63)
    model_slug = models.CharField(max_length=63)
    engine = models.CharField(max_length=16)
    api_version = models.CharField(max_length=16)
    config = models.JSONField()
    manifest = models.JSONField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["namespace", "name", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name} ({self.outcome})"


class DeploymentDeletion(models.Model):
    """A delete request: who asked, when, for what, and what the cluster said."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    namespace = models.CharField(max_length=63)
    name = models.CharField(max_length=253)
    manifest = models.JSONField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"delete {self.namespace}/{self.name} ({self.outcome})"
