"""Shared fixtures; each area keeps its own in tests/fixtures/ and is registered here."""

pytest_plugins = [
    "tests.fixtures.sandbox",
    "tests.fixtures.cluster",
    "tests.fixtures.oidc",
]


import pytest  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402


@pytest.fixture
def member(db):
    """A signed-in user of Dynamote (not staff) with the Deployer role in every namespace."""
    from tests.factories import grant_role

    user = get_user_model().objects.create_user("grace", password="grace-password-1")
    grant_role(user, "deployer")
    return user


@pytest.fixture
def member_client(client, member):
    client.force_login(member)
    return client
