"""Receivers: new users get the default role; sign-ins, failures and lockouts are audited."""

from __future__ import annotations

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver

from access import audit
from access.models import ALL_NAMESPACES, Grant, Outcome
from access.roles import default_role


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def give_default_role(sender, instance, created, raw=False, **kwargs):
    role = default_role()
    if created and not raw and role is not None and not instance.is_superuser:
        Grant.objects.get_or_create(
            user=instance, namespace=ALL_NAMESPACES, defaults={"role": role}
        )


@receiver(user_logged_in)
def audit_sign_in(sender, request, user, **kwargs):
    if request is not None:
        actor = audit.actor_of(request)
        actor = audit.Actor(user.get_username(), audit.how_authenticated(request), actor.client)
        audit.complete(audit.begin(request, "sign-in", actor=actor), Outcome.SUCCEEDED)


@receiver(user_login_failed)
def audit_failed_sign_in(sender, credentials, request=None, **kwargs):
    if request is not None:
        who = str(credentials.get("username", ""))[:150]
        actor = audit.Actor(who, "password", audit.actor_of(request).client)
        audit.refused(request, "sign-in", "Wrong username or password.", actor=actor)


@receiver(user_locked_out)
def audit_lockout(sender, request, username=None, ip_address=None, **kwargs):
    if request is not None:
        actor = audit.Actor(str(username or "")[:150], "password", str(ip_address or "")[:64])
        message = f"Too many failed sign-ins from {ip_address}: locked out."
        audit.refused(request, "lockout", message, actor=actor)
