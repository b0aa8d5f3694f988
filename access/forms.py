"""Forms of the Access, API tokens and Audit pages: every field validated with a message."""

from __future__ import annotations

from django import forms
from django.conf import settings

from access import grants
from access.models import Outcome, Role

INPUT = (
    "w-full rounded-lg border border-zinc-700 bg-zinc-950 px-3 py-2 text-sm text-zinc-100 "
    "focus:border-nvidia focus:outline-none focus:ring-2 focus:ring-nvidia/40"
)


def _styled(form: forms.Form) -> None:
    for field in form.fields.values():
        if not isinstance(field.widget, forms.CheckboxInput):
            field.widget.attrs.setdefault("class", INPUT)


class GrantForm(forms.Form):
    subject = forms.CharField(
        max_length=160,
        label="User or group",
        help_text="A username, or group:NAME for everyone in a group (an SSO group too).",
    )
    role = forms.ChoiceField(choices=Role.choices)
    namespace = forms.CharField(
        max_length=63, required=False, help_text="Empty: every namespace Dynamote may use."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _styled(self)

    def clean_subject(self):
        spec = self.cleaned_data["subject"].strip()
        try:
            return grants.subject(spec)
        except grants.GrantError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_namespace(self):
        namespace = self.cleaned_data["namespace"].strip()
        try:
            return grants.check_namespace(namespace)
        except grants.GrantError as exc:
            raise forms.ValidationError(str(exc)) from exc


class TokenForm(forms.Form):
    name = forms.CharField(max_length=64, help_text="What uses it, e.g. ci-pipeline.")
    expires_days = forms.IntegerField(
        min_value=1, max_value=3650, initial=90, label="Expires after (days)"
    )
    read_only = forms.BooleanField(
        required=False, label="Read-only", help_text="May read, never change anything."
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        _styled(self)

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if self.user is not None and self.user.api_tokens.filter(name=name, revoked=None).exists():
            raise forms.ValidationError("You already have an active token with this name.")
        return name


class AuditFilterForm(forms.Form):
    actor = forms.CharField(max_length=150, required=False, label="Who")
    namespace = forms.CharField(max_length=63, required=False)
    action = forms.CharField(max_length=32, required=False)
    outcome = forms.ChoiceField(choices=[("", "Any"), *Outcome.choices], required=False)
    since = forms.DateTimeField(required=False, help_text="e.g. 2026-11-01 00:00")
    until = forms.DateTimeField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _styled(self)

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "Pick a time after the start.")
        return data


def namespace_hint() -> str:
    allowed = settings.DYNAMOTE_NAMESPACES
    return f"One of: {', '.join(allowed)}." if allowed else ""
