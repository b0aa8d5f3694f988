"""Single sign-on against a real OpenID Connect provider on loopback (node-oidc-provider)."""

from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from access import oidc
from access.models import AuditEntry, Grant
from access.roles import Role, role_in
from tests.fixtures.oidc import CLIENT_ID, CLIENT_SECRET

CALLBACK = "http://testserver/oidc/callback/"
BACKENDS = [
    "access.oidc.Backend",
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "access.backends.RolePermissions",
]


@pytest.fixture
def sso(settings, start_provider):
    """Dynamote configured for a provider; returns a function that starts one."""

    def configure(*, issuer: str | None = None, **options):
        provider = start_provider(
            redirect_uris=[CALLBACK], logout_uri="http://testserver/login/", **options
        )
        settings.DYNAMOTE_OIDC_ISSUER = issuer or provider.issuer
        settings.OIDC_RP_CLIENT_ID = CLIENT_ID
        settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
        settings.AUTHENTICATION_BACKENDS = BACKENDS
        oidc._cache.clear()
        return provider

    yield configure
    oidc._cache.clear()


def sign_in(client, provider, login: str):
    start = client.get("/oidc/authenticate/?next=/deployments/")
    assert start.status_code == 302, start.content
    back = provider.sign_in(start["Location"], login, stop_at=CALLBACK)
    return start["Location"], back, client.get(back.removeprefix("http://testserver"))


def test_sign_in_maps_the_groups_claim_to_roles(client, db, sso):
    provider = sso()
    team = Group.objects.create(name="ml-team")
    Grant.objects.create(group=team, role="deployer", namespace="dynamo")
    provider.set_groups("ada", ["ml-team"])
    authorize, _, landed = sign_in(client, provider, "ada")
    query = parse_qs(urlparse(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    assert landed.status_code == 302 and landed["Location"] == "/deployments/"
    ada = get_user_model().objects.get(username="ada")
    assert list(ada.groups.values_list("name", flat=True)) == ["ml-team"]
    assert role_in(ada, "dynamo") is Role.DEPLOYER and role_in(ada, "default") is Role.VIEWER
    assert client.get("/deployments/?wait=1").status_code == 200
    entry = AuditEntry.objects.get(action="sign-in", outcome="succeeded")
    assert (entry.actor, entry.auth) == ("ada", "sso")


def test_the_same_subject_is_the_same_user_and_groups_follow_the_provider(client, db, sso):
    provider = sso()
    provider.set_groups("ada", ["ml-team"])
    sign_in(client, provider, "ada")
    client.logout()
    provider.set_groups("ada", ["ops"])
    sign_in(client, provider, "ada")
    users = get_user_model().objects.filter(username__startswith="ada")
    assert users.count() == 1
    assert list(users.get().groups.values_list("name", flat=True)) == ["ops"]


def test_a_provider_user_never_takes_over_a_local_account(client, db, sso):
    local = get_user_model().objects.create_superuser("ada", password="local-password-1")
    provider = sso()
    sign_in(client, provider, "ada")
    assert client.session["_auth_user_id"] != str(local.pk)
    assert get_user_model().objects.get(pk=client.session["_auth_user_id"]).username == "ada-2"


def test_a_wrong_issuer_is_refused_with_a_message(client, db, sso):
    provider = sso()
    wrong = provider.issuer.replace("127.0.0.1", "localhost")
    sso(issuer=wrong)
    response = client.get("/oidc/authenticate/")
    html = response.content.decode()
    assert response.status_code == 502
    assert "calls itself &#x27;http://127.0.0.1" in html and "DYNAMOTE_OIDC_ISSUER" in html
    assert "_auth_user_id" not in client.session


def test_an_expired_token_is_refused_with_a_message(client, db, sso):
    provider = sso(clock_skew=-7200)
    _, _, landed = sign_in(client, provider, "ada")
    assert landed.status_code == 400
    assert "The identity provider&#x27;s token has expired" in landed.content.decode()
    assert "_auth_user_id" not in client.session
    refusal = AuditEntry.objects.get(action="sign-in", outcome="refused")
    assert refusal.auth == "sso" and "expired" in refusal.message


def test_a_forged_or_replayed_state_is_refused(client, db, sso):
    provider = sso()
    forged = client.get("/oidc/callback/?code=abc&state=forged")
    assert forged.status_code == 400
    assert "does not belong to a sign-in started here" in forged.content.decode()
    _, back, landed = sign_in(client, provider, "ada")
    assert landed.status_code == 302
    client.logout()
    replayed = client.get(back.removeprefix("http://testserver"))
    assert replayed.status_code == 400 and "_auth_user_id" not in client.session


def test_a_refusal_at_the_provider_is_explained(client, db, sso):
    sso()
    client.get("/oidc/authenticate/")
    state = next(iter(client.session["oidc_states"]))
    response = client.get(
        f"/oidc/callback/?error=access_denied&error_description=User+cancelled&state={state}"
    )
    assert "The identity provider refused the sign-in: User cancelled." in response.content.decode()


def test_signing_out_ends_the_provider_session_too(client, db, sso):
    provider = sso()
    sign_in(client, provider, "ada")
    response = client.post("/logout/")
    assert response.status_code == 302
    target = urlparse(response["Location"])
    assert f"{target.scheme}://{target.netloc}" == provider.issuer
    assert target.path == "/session/end"
    assert parse_qs(target.query)["id_token_hint"]
    assert "_auth_user_id" not in client.session


def test_a_password_session_signs_out_locally(member_client):
    response = member_client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"


def test_password_sign_in_can_be_switched_off(client, db, sso, settings, member):
    sso()
    settings.DYNAMOTE_PASSWORD_LOGIN = False
    page = client.get("/login/").content.decode()
    assert "Sign in with single sign-on" in page and 'name="password"' not in page
    response = client.post("/login/", {"username": "grace", "password": "grace-password-1"})
    assert response.status_code == 403
    assert "Password sign-in is switched off here" in response.content.decode()
    assert "_auth_user_id" not in client.session
