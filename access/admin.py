from django import forms
from django.contrib import admin

from access import grants
from access.models import ApiToken, AuditEntry, Grant


class GrantForm(forms.ModelForm):
    class Meta:
        model = Grant
        fields = ["user", "group", "role", "namespace"]

    def clean_namespace(self):
        try:
            return grants.check_namespace(self.cleaned_data["namespace"].strip())
        except grants.GrantError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean(self):
        data = super().clean()
        if bool(data.get("user")) == bool(data.get("group")):
            raise forms.ValidationError("Grant the role to a user or to a group, not both.")
        return data


@admin.register(Grant)
class GrantAdmin(admin.ModelAdmin):
    form = GrantForm
    list_display = ["__str__", "role", "namespace", "created"]
    list_filter = ["role", "namespace"]
    search_fields = ["user__username", "group__name", "namespace"]

    def save_model(self, request, obj, form, change):
        who = obj.user or obj.group
        grants.grant(request, who, obj.role, obj.namespace)

    def delete_model(self, request, obj):
        grants.revoke(request, obj.user or obj.group, obj.namespace)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "read_only", "created", "expires", "last_used", "revoked"]
    list_filter = ["read_only"]
    search_fields = ["name", "user__username"]
    readonly_fields = ["prefix", "digest", "created", "last_used"]
    actions = ["revoke_selected"]

    def has_add_permission(self, request):
        return False  # tokens are created on the user's page or with manage.py create_token

    @admin.action(description="Revoke the selected tokens")
    def revoke_selected(self, request, queryset):
        for record in queryset:
            grants.revoke_token(request, record)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["time", "actor", "auth", "action", "namespace", "name", "outcome"]
    list_filter = ["action", "outcome", "namespace"]
    search_fields = ["actor", "name", "summary", "message", "request_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
