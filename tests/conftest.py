"""Shared fixtures; each area keeps its own in tests/fixtures/ and is registered here."""

pytest_plugins = [
    "tests.fixtures.sandbox",
    "tests.fixtures.cluster",
    "tests.fixtures.oidc",
    "tests.fixtures.asgi",
]


import pytest  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """SQLite tests use a database file: the ASGI test server's threads each open their own
    connection, and an in-memory database is not shared between connections."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database.setdefault("TEST", {})["NAME"] = str(
            tmp_path_factory.mktemp("db") / "test.sqlite3"
        )


@pytest.fixture(autouse=True)
def fast_password_hashing():
    """Django's hasher costs a third of a CPU-second per password by design, and the tests
    create and sign in users by the hundred: they hash with a fast one, as Django advises
    for tests. Hashes made before (session fixtures) still verify. The production hasher is
    tested where it matters, in a served process (tests/ship/test_health_under_load.py)."""
    from django.test import override_settings

    hashers = ["django.contrib.auth.hashers.MD5PasswordHasher", settings.PASSWORD_HASHERS[0]]
    with override_settings(PASSWORD_HASHERS=hashers):
        yield


@pytest.fixture(autouse=True)
def metrics_sampler_off(request, monkeypatch):
    """The metrics sampler's thread writes from its own database connection: what it stores
    outlives a test's rolled-back transaction. It runs only in tests marked `sampler`."""
    from deployments import metrics_sampler

    if request.node.get_closest_marker("sampler") is None:
        monkeypatch.setattr(metrics_sampler, "start", lambda: None)
    yield
    metrics_sampler.reset()


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
