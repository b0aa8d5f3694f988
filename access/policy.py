"""What a Deployer may put in a deployment: the Secrets it may mount and the images it may run.

An Admin in the namespace may reference anything. Everyone else is held to
`DYNAMOTE_ALLOWED_SECRETS` (per namespace; default: the Hugging Face token Secret) and
`DYNAMOTE_ALLOWED_IMAGE_PREFIXES` (default: NVIDIA's Dynamo runtime images).
"""

from __future__ import annotations

from django.conf import settings

from access.models import Role
from access.roles import role_in


def allowed_secrets(namespace: str) -> list[str]:
    """The Secret names Deployers may reference in the namespace ("*:" entries apply to all)."""
    names = []
    for entry in settings.DYNAMOTE_ALLOWED_SECRETS:
        scope, _, name = entry.rpartition(":")
        if scope in ("", "*", namespace):
            names.append(name)
    return sorted(set(names))


def reference_errors(user, config) -> dict[str, list[str]]:
    """Field messages for a Secret or image outside the allow-lists; empty when allowed."""
    if role_in(user, config.namespace) is Role.ADMIN:
        return {}
    errors: dict[str, list[str]] = {}
    secret = config.hf_token_secret
    secrets = allowed_secrets(config.namespace)
    if secret and secret not in secrets:
        allowed = ", ".join(secrets) or "none"
        errors["hf_token_secret"] = [
            f"Deployers may reference only these Secrets in namespace {config.namespace}: "
            f"{allowed}. Ask an admin to allow {secret!r} (DYNAMOTE_ALLOWED_SECRETS)."
        ]
    prefixes = settings.DYNAMOTE_ALLOWED_IMAGE_PREFIXES
    if config.image and not config.image.startswith(tuple(prefixes)):
        errors["image"] = [
            f"Deployers may run only images under {', '.join(prefixes)}. Ask an admin to "
            "allow this registry (DYNAMOTE_ALLOWED_IMAGE_PREFIXES)."
        ]
    return errors


def check_references(request, config) -> dict[str, list[str]]:
    """reference_errors for the request's user; a refusal is audited."""
    errors = reference_errors(request.user, config)
    if errors:
        from access import audit

        message = " ".join(m for messages in errors.values() for m in messages)
        audit.refused(request, "deploy", message, namespace=config.namespace, name=config.name)
    return errors
