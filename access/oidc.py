"""Single sign-on with OpenID Connect, on mozilla-django-oidc.

What Dynamote adds to the library: the provider's endpoints from its discovery document
(`DYNAMOTE_OIDC_ISSUER`), the issuer and audience of every ID token checked, users matched by
the provider's subject (never by a name or address someone could choose), the groups claim
mapped onto Dynamote groups (whose grants give roles), sign-out of the provider too, and a
sentence on the sign-in page for every refusal (wrong issuer, expired token, unknown state).
"""

from __future__ import annotations

import logging
import threading
import time
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import Group
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.shortcuts import render, resolve_url
from django.utils.decorators import method_decorator
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import absolutify, import_from_settings
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
    OIDCLogoutView,
)

from access import audit
from access.models import SsoIdentity

logger = logging.getLogger("dynamote.auth")

DISCOVERY_TTL = 3600.0  # seconds a discovery document is reused
CLOCK_LEEWAY = 30  # seconds of clock difference tolerated on token times
MAX_GROUPS = 200
_ENDPOINTS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}
_cache: dict[str, tuple[float, dict]] = {}
_cache_lock = threading.Lock()


class SignInRefused(Exception):
    """Single sign-on cannot go on; the message says why, for the sign-in page."""


def enabled() -> bool:
    return bool(settings.DYNAMOTE_OIDC_ISSUER)


def discovery() -> dict:
    """The provider's discovery document, checked to be the configured issuer's."""
    issuer = settings.DYNAMOTE_OIDC_ISSUER
    with _cache_lock:
        hit = _cache.get(issuer)
    if hit and time.monotonic() - hit[0] < DISCOVERY_TTL:
        return hit[1]
    url = f"{issuer}/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise SignInRefused(
            f"The identity provider at {issuer} did not answer ({exc.__class__.__name__}); "
            "try again, or ask an admin to check DYNAMOTE_OIDC_ISSUER."
        ) from exc
    if str(document.get("issuer", "")).rstrip("/") != issuer:
        raise SignInRefused(
            f"The identity provider calls itself {document.get('issuer')!r}, not {issuer!r}: "
            "ask an admin to set DYNAMOTE_OIDC_ISSUER to the provider's issuer."
        )
    with _cache_lock:
        _cache[issuer] = (time.monotonic(), document)
    return document


def oidc_setting(attr: str, *args):
    """The library's settings, with the provider's endpoints read from discovery."""
    if attr in _ENDPOINTS:
        return discovery()[_ENDPOINTS[attr]]
    return import_from_settings(attr, *args)


class _Discovered:
    """The library's classes, reading endpoints from discovery; a provider that cannot be
    asked is remembered (`unavailable`) rather than raised while they are built, because
    every sign-in, by password too, builds every backend."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args, **kwargs):
        self.unavailable: SignInRefused | None = None
        try:
            super().__init__(*args, **kwargs)
        except SignInRefused as exc:
            self.unavailable = exc


class Backend(_Discovered, OIDCAuthenticationBackend):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.UserModel = get_user_model()

    def authenticate(self, request, **kwargs):
        if request is None or "code" not in request.GET or "state" not in request.GET:
            return None  # not a provider's answer: another backend's sign-in
        if self.unavailable is not None:
            raise self.unavailable
        return super().authenticate(request, **kwargs)

    def _verify_jws(self, payload, key):
        header = jwt.get_unverified_header(payload)
        if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
            raise SignInRefused(
                f"The identity provider signed with {header.get('alg')!r}, not "
                f"{self.OIDC_RP_SIGN_ALGO!r}: set DYNAMOTE_OIDC_SIGN_ALGO."
            )
        issuer = settings.DYNAMOTE_OIDC_ISSUER
        try:
            return jwt.decode(
                payload,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=issuer,
                leeway=CLOCK_LEEWAY,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise SignInRefused(
                "The identity provider's token has expired: check that the provider's clock "
                "and Dynamote's agree, then sign in again."
            ) from exc
        except jwt.InvalidIssuerError as exc:
            raise SignInRefused(f"The token was not issued by {issuer}: sign-in refused.") from exc
        except jwt.InvalidAudienceError as exc:
            raise SignInRefused("The token was issued for another application.") from exc
        except jwt.InvalidTokenError as exc:
            raise SignInRefused(f"The identity provider's token is not valid: {exc}.") from exc

    def verify_claims(self, claims) -> bool:
        return bool(claims.get("sub"))

    def filter_users_by_claims(self, claims):
        identity = SsoIdentity.objects.filter(
            issuer=settings.DYNAMOTE_OIDC_ISSUER, subject=claims["sub"]
        ).first()
        if identity is None:
            return self.UserModel.objects.none()
        return self.UserModel.objects.filter(pk=identity.user_id)

    @transaction.atomic
    def create_user(self, claims):
        base = _username(claims)
        name, n = base, 1
        while self.UserModel.objects.filter(username=name).exists():
            n += 1
            name = f"{base[:140]}-{n}"
        user = self.UserModel.objects.create_user(name, email=claims.get("email") or "")
        SsoIdentity.objects.create(
            user=user, issuer=settings.DYNAMOTE_OIDC_ISSUER, subject=claims["sub"]
        )
        return self.update_user(user, claims)

    def update_user(self, user, claims):
        email = claims.get("email") or ""
        if email and user.email != email:
            user.email = email
            user.save(update_fields=["email"])
        user.groups.set(_groups(claims))
        return user


def _username(claims) -> str:
    for key in ("preferred_username", "email", "sub"):
        value = str(claims.get(key) or "").strip()
        if key == "email":
            value = value.split("@")[0]
        cleaned = "".join(c for c in value if c.isalnum() or c in "@.+-_")[:140]
        if cleaned:
            return cleaned
    return "sso-user"


def _groups(claims) -> list[Group]:
    """The groups claim (a list, or one name) as Dynamote groups, created when new."""
    value = claims.get(settings.DYNAMOTE_OIDC_GROUPS_CLAIM) or []
    names = [value] if isinstance(value, str) else list(value)
    names = sorted({str(name).strip()[:150] for name in names if str(name).strip()})
    return [Group.objects.get_or_create(name=name)[0] for name in names[:MAX_GROUPS]]


def _refuse(request, message: str, status: int = 400):
    """The sign-in page with why single sign-on did not complete; audited."""
    actor = audit.Actor("", "sso", audit.actor_of(request).client)
    audit.refused(request, "sign-in", message, actor=actor, summary="single sign-on")
    logger.warning("single sign-on refused: %s", message)
    from access.views import login_context

    return render(
        request, "registration/login.html", login_context(request, message), status=status
    )


@method_decorator(login_not_required, name="dispatch")
class Authenticate(_Discovered, OIDCAuthenticationRequestView):
    """Starts the code flow (state, nonce and a PKCE S256 challenge) at the provider."""

    def get(self, request):
        if not enabled():
            return _refuse(request, "Single sign-on is not set up on this Dynamote.", 404)
        if self.unavailable is not None:
            return _refuse(request, str(self.unavailable), 502)
        return super().get(request)


@method_decorator(login_not_required, name="dispatch")
class Callback(OIDCAuthenticationCallbackView):
    """The provider's answer: checked, then the user signed in (or told why not)."""

    def get(self, request):
        if not enabled():
            return _refuse(request, "Single sign-on is not set up on this Dynamote.", 404)
        state = request.GET.get("state")
        if "code" in request.GET and state not in request.session.get("oidc_states", {}):
            return _refuse(
                request,
                "This sign-in answer does not belong to a sign-in started here (unknown or "
                "already used state): start the sign-in again.",
            )
        try:
            return super().get(request)
        except SignInRefused as exc:
            return _refuse(request, str(exc))
        except SuspiciousOperation as exc:
            return _refuse(request, f"Sign-in refused: {exc}")
        except requests.RequestException as exc:
            return _refuse(
                request,
                f"The identity provider did not answer ({exc.__class__.__name__}): try again.",
                502,
            )

    def login_success(self):
        self.request.session[audit.SESSION_AUTH_KEY] = "sso"
        return super().login_success()

    def login_failure(self):
        error = self.request.GET.get("error_description") or self.request.GET.get("error")
        if error:
            return _refuse(self.request, f"The identity provider refused the sign-in: {error}.")
        return _refuse(self.request, "Single sign-on did not complete: start it again.")


class Logout(OIDCLogoutView):
    """Signs out of Dynamote, and of the provider when the session came from it."""

    http_method_names = ["post"]


def provider_logout_url(request) -> str:
    """The provider's end-session URL (RP-initiated logout), or Dynamote's sign-in page."""
    here = resolve_url(settings.LOGOUT_REDIRECT_URL)
    token = request.session.get("oidc_id_token")
    if request.session.get(audit.SESSION_AUTH_KEY) != "sso" or not token or not enabled():
        return here
    try:
        end = discovery().get("end_session_endpoint")
    except SignInRefused:
        return here
    if not end:
        return here
    query = {
        "id_token_hint": token,
        "client_id": settings.OIDC_RP_CLIENT_ID,
        "post_logout_redirect_uri": absolutify(request, here),
    }
    return f"{end}?{urlencode(query)}"
