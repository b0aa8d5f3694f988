"""Single sign-on in Chromium: through the provider's own login page and back, then out."""

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from access import oidc
from access.models import Grant
from tests.access.test_sso import BACKENDS
from tests.fixtures.oidc import CLIENT_ID, CLIENT_SECRET


@pytest.fixture
def provider(live_server, settings, start_provider):
    started = start_provider(
        redirect_uris=[f"{live_server.url}/oidc/callback/"],
        logout_uri=f"{live_server.url}/login/",
    )
    settings.DYNAMOTE_OIDC_ISSUER = started.issuer
    settings.DYNAMOTE_OIDC_PROVIDER_NAME = "Example SSO"
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.AUTHENTICATION_BACKENDS = BACKENDS
    oidc._cache.clear()
    yield started
    oidc._cache.clear()


def test_sign_in_through_the_provider_and_out_again(page, live_server, provider, db):
    admins = Group.objects.create(name="platform-admins")
    Grant.objects.create(group=admins, role="admin", namespace="")
    provider.set_groups("grace", ["platform-admins"])
    page.set_default_timeout(15_000)

    page.goto(f"{live_server.url}/deployments/")
    page.get_by_role("link", name="Sign in with Example SSO").click()
    # The provider's own pages: any login, then consent.
    page.get_by_placeholder("Enter any login").fill("grace")
    page.get_by_placeholder("and password").fill("any-password")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url(f"{live_server.url}/deployments/")
    expect(page.get_by_title("Signed in")).to_have_text("grace")
    # The groups claim made grace an Admin: the admin pages are in the menu.
    expect(page.get_by_role("link", name="Access")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    # Dynamote sent the browser to the provider's sign-out, which asks, then returns.
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(f"{live_server.url}/login/**")
    # The provider's session ended too: signing in again asks for a login.
    page.get_by_role("link", name="Sign in with Example SSO").click()
    expect(page.get_by_placeholder("Enter any login")).to_be_visible()
