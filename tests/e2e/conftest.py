"""Browser tests: real Chromium through Playwright against Dynamote served by uvicorn (ASGI)."""

import importlib
import os
import shutil
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model

from tests.factories import grant_role

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# around it are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "e2e-password-123"
SEED = importlib.import_module("catalog.migrations.0002_seed_curated_models")


def chromium_path() -> str:
    """Chromium from DYNAMOTE_CHROMIUM or the system; fails loudly rather than skipping."""
    candidate = os.environ.get("DYNAMOTE_CHROMIUM") or "/usr/bin/chromium"
    if Path(candidate).is_file():
        return candidate
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    pytest.fail(
        f"No Chromium found at {candidate!r}: install it (`apt-get install -y chromium`) "
        "or set DYNAMOTE_CHROMIUM to its path.",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": chromium_path(),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture
def user(db):
    ada = get_user_model().objects.create_user("ada", password=PASSWORD)
    grant_role(ada, "deployer")
    return ada


@pytest.fixture
def logged_in_page(page, live_server, user):
    """A page logged in through the real login form."""
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/models/")
    return page


@pytest.fixture
def curated_catalog(transactional_db):
    """The curated models: the live server's database is flushed after every test, data
    migrations included, so a test that needs them seeds them again."""
    SEED.seed(apps, None)
