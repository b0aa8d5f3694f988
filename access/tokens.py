"""Personal access tokens: `dyn_<prefix>_<secret>`, sent as `Authorization: Bearer …`.

Only a SHA-256 digest of the token is stored (the secret is 256 random bits, so a slow hash
adds nothing); the token itself is shown once, when it is created.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.utils import timezone

from access.models import ApiToken

SCHEME = "dyn"
LAST_USED_EVERY = timedelta(minutes=1)  # last-used time is written at most this often


class InvalidToken(Exception):
    """The bearer token is not one Dynamote will accept; the message says why."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    user, *, name: str, expires_days: int | None = None, read_only: bool = False
) -> tuple[ApiToken, str]:
    """A new token for the user: the stored record and the token, to show once."""
    prefix = secrets.token_hex(4)
    token = f"{SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    expires = timezone.now() + timedelta(days=expires_days) if expires_days else None
    record = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=prefix,
        digest=_digest(token),
        read_only=read_only,
        expires=expires,
    )
    return record, token


def authenticate(token: str) -> ApiToken:
    """The active token record for a bearer token; InvalidToken with the reason otherwise."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != SCHEME:
        raise InvalidToken("The bearer token is not a Dynamote API token.")
    record = ApiToken.objects.select_related("user").filter(prefix=parts[1]).first()
    if record is None or not hmac.compare_digest(record.digest, _digest(token)):
        raise InvalidToken("The API token is not valid.")
    if record.revoked:
        raise InvalidToken(f'The API token "{record.name}" was revoked.')
    if record.expires and record.expires <= timezone.now():
        raise InvalidToken(f'The API token "{record.name}" expired; create a new one.')
    if not record.user.is_active:
        raise InvalidToken("The API token's owner is deactivated.")
    now = timezone.now()
    if record.last_used is None or now - record.last_used >= LAST_USED_EVERY:
        ApiToken.objects.filter(pk=record.pk).update(last_used=now)
        record.last_used = now
    return record


def revoke(record: ApiToken) -> None:
    if not record.revoked:
        record.revoked = timezone.now()
        record.save(update_fields=["revoked"])
