"""What Dynamote records of its own actions on the cluster."""

from django.conf import settings
from django.db import models


class Outcome(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    # Sent, but the cluster did not confirm it (a timeout): settled by reading the cluster.
    UNKNOWN = "unknown", "Unknown"


class DeploymentSubmission(models.Model):
    """A deploy request, stored before it is sent so a failure loses nothing."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # One key per rendered form (or API request), per user: a second submit finds this record.
    # NULL, not "", without a key: the per-user unique constraint ignores NULLs.
    idempotency_key = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    # SHA-256 of the config: the same key with another config is refused.
    request_hash = models.CharField(max_length=64, blank=True)
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
        constraints = [
            models.UniqueConstraint(
                fields=["user", "idempotency_key"], name="submission_key_per_user"
            )
        ]

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


class Revision(models.Model):
    """One version of a deployment's spec: applied by Dynamote, or first seen after a change
    made outside Dynamote (a `metadata.generation` Dynamote did not write)."""

    class Source(models.TextChoices):
        DYNAMOTE = "dynamote", "Dynamote"
        OUTSIDE = "outside", "Outside Dynamote"

    namespace = models.CharField(max_length=63)
    name = models.CharField(max_length=253)
    # The DGD's uid: a deployment deleted and created again under its name starts over.
    uid = models.CharField(max_length=64, blank=True)
    number = models.PositiveIntegerField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=200, blank=True)
    # create, import, scale, edit, rollback, restart, or seen (a change found on the cluster).
    action = models.CharField(max_length=16)
    api_version = models.CharField(max_length=16, blank=True)
    spec = models.JSONField()
    diff = models.TextField(blank=True)
    summary = models.JSONField(default=list, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    message = models.TextField(blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.DYNAMOTE)
    # The metadata.generation this revision produced (None until the cluster has it).
    generation = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["namespace", "name", "uid", "number"], name="revision_number_per_dgd"
            )
        ]

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name} #{self.number} ({self.action}, {self.outcome})"

    @property
    def outside(self) -> bool:
        return self.source == self.Source.OUTSIDE

    @property
    def can_roll_back(self) -> bool:
        """A restart changed no configuration: rolling back to it is not offered."""
        return self.action != "restart"


class MetricsSample(models.Model):
    """One reading of a deployment's serving metrics, as its pods exposed them: cumulative
    counters and histogram buckets per frontend pod, gauges as read. The Metrics tab's rates
    and percentiles come from the change between two consecutive samples.

    One per deployment and step (`slot` = the reading's time // the step): every replica of
    Dynamote shares them, and a replica that finds the slot filled does not read again.
    """

    namespace = models.CharField(max_length=63)
    name = models.CharField(max_length=253)
    slot = models.BigIntegerField()
    taken_at = models.FloatField(db_index=True)  # epoch seconds
    data = models.JSONField()

    class Meta:
        ordering = ["namespace", "name", "slot"]
        constraints = [
            models.UniqueConstraint(
                fields=["namespace", "name", "slot"], name="metrics_sample_per_step"
            )
        ]

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name} @{self.taken_at:.0f}"
