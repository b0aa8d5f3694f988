"""Fixtures for the JSON API: the operate area's sandbox and deployments, and a Viewer."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.factories import grant_role
from tests.operate.conftest import custom, disagg, fresh_cache, sandbox  # noqa: F401


@pytest.fixture
def viewer_client(db):
    user = get_user_model().objects.create_user("val", password="unused-password-1")
    grant_role(user, "viewer")
    client = Client()
    client.force_login(user)
    return client
