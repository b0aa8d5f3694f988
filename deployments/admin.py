from django.contrib import admin

from deployments.models import DeploymentDeletion, DeploymentSubmission


@admin.register(DeploymentSubmission)
class DeploymentSubmissionAdmin(admin.ModelAdmin):
    list_display = ["name", "namespace", "model_slug", "engine", "outcome", "user", "created_at"]
    list_filter = ["outcome", "engine", "namespace"]
    search_fields = ["name", "model_slug", "message"]
    readonly_fields = [field.name for field in DeploymentSubmission._meta.fields]


@admin.register(DeploymentDeletion)
class DeploymentDeletionAdmin(admin.ModelAdmin):
    list_display = ["name", "namespace", "outcome", "user", "created_at"]
    list_filter = ["outcome", "namespace"]
    search_fields = ["name", "message"]
    readonly_fields = [field.name for field in DeploymentDeletion._meta.fields]
