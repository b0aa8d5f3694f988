"""Repeated failed sign-ins lock out that username from that address for a while, even with
the right password; other users and addresses still sign in; the page says why."""

import logging
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.utils import timezone

from dynamote.auth import client_ip

pytestmark = pytest.mark.django_db

PASSWORD = "right-password-1"
LOCKED = "Too many failed sign-ins; try again in 15 minutes."


@pytest.fixture(autouse=True)
def users(db, settings):
    # A fast hasher: these tests sign in dozens of times.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    for name in ("ada", "grace"):
        get_user_model().objects.create_user(name, password=PASSWORD)


def sign_in(client, username: str, password: str, address: str = "10.0.0.1", **headers):
    return client.post(
        "/login/",
        {"username": username, "password": password},
        REMOTE_ADDR=address,
        headers=headers,
    )


def fail(client, times: int, username: str = "ada", address: str = "10.0.0.1", **headers):
    for _ in range(times):
        response = sign_in(client, username, "wrong", address, **headers)
    return response


def test_the_fifth_failure_locks_out_even_the_right_password(client, caplog):
    assert fail(client, 4).status_code == 200  # the form again, with its error
    with caplog.at_level(logging.WARNING, logger="dynamote.auth"):
        locked = fail(client, 1)
    assert locked.status_code == 429
    assert LOCKED in locked.content.decode()
    assert "login locked out username='ada' address=10.0.0.1" in caplog.text
    response = sign_in(client, "ada", PASSWORD)
    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_another_user_or_address_is_unaffected(client):
    fail(client, 5)
    assert sign_in(client, "grace", PASSWORD).status_code == 302
    client.logout()
    assert sign_in(client, "ada", PASSWORD, address="10.0.0.2").status_code == 302


def test_fewer_failures_then_success_start_over(client):
    fail(client, 4)
    assert sign_in(client, "ada", PASSWORD).status_code == 302
    client.logout()
    assert fail(client, 4).status_code == 200


def test_the_lockout_ends_after_the_cool_off(client):
    fail(client, 5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert sign_in(client, "ada", PASSWORD).status_code == 302


def test_the_limit_and_cool_off_are_settings(client, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=1)
    response = fail(client, 2)
    assert response.status_code == 429
    assert "try again in 1 minute." in response.content.decode()


def test_behind_a_proxy_the_address_it_saw_counts(client, settings):
    settings.DYNAMOTE_TRUSTED_PROXIES = 1
    proxy = "10.1.1.1"
    # The client may write anything in X-Forwarded-For; the proxy appends what it saw.
    fail(client, 5, address=proxy, x_forwarded_for="1.2.3.4, 203.0.113.7")
    locked = sign_in(client, "ada", PASSWORD, proxy, x_forwarded_for="203.0.113.7")
    assert locked.status_code == 429
    spoofed = sign_in(client, "ada", PASSWORD, proxy, x_forwarded_for="9.9.9.9, 203.0.113.7")
    assert spoofed.status_code == 429
    other = sign_in(client, "ada", PASSWORD, proxy, x_forwarded_for="203.0.113.8")
    assert other.status_code == 302


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "1.2.3.4", "10.1.1.1"),  # no proxy trusted: the header is the client's to forge
        (1, "", "10.1.1.1"),
        (1, "203.0.113.7", "203.0.113.7"),
        (1, "1.2.3.4, 203.0.113.7", "203.0.113.7"),
        (2, "1.2.3.4, 203.0.113.7, 10.0.0.5", "203.0.113.7"),
        (2, "203.0.113.7", "10.1.1.1"),  # fewer hops than proxies: not through them all
        (1, "not-an-address", "10.1.1.1"),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_the_client_address(rf, settings, proxies, forwarded, expected):
    settings.DYNAMOTE_TRUSTED_PROXIES = proxies
    request = rf.post("/login/", REMOTE_ADDR="10.1.1.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected
