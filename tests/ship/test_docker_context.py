"""`docker build .` sends only what the image needs: no tests, docs, screenshots or caches."""

import pytest

from tests.ship.docker_context import context_files, ignored


@pytest.fixture(scope="module")
def context() -> list[str]:
    return context_files()


@pytest.mark.parametrize(
    "folder", ["tests", "docs", "benchmarks", "frontend", "deploy", ".ci", ".git"]
)
def test_folders_the_image_does_not_need_stay_out(context, folder):
    assert [name for name in context if name.split("/")[0] == folder] == []


def test_no_screenshot_or_image_file_is_sent(context):
    assert [name for name in context if name.endswith((".png", ".whl"))] == []


@pytest.mark.parametrize(
    "path",
    [
        "node_modules/@tailwindcss/cli/package.json",
        "var/db.sqlite3",
        "var/secret_key",
        ".venv/bin/python",
        "staticfiles/staticfiles.json",
        "deployments/__pycache__/views.cpython-311.pyc",
        "test-results/screenshot.png",
        ".env",
    ],
)
def test_local_state_and_secrets_stay_out(path):
    assert ignored(path)


@pytest.mark.parametrize(
    "path",
    [
        "manage.py",
        "pyproject.toml",
        "uv.lock",
        "scripts/build-image.sh",
        "dynamote/settings.py",
        "deployments/cluster.py",
        "catalog/models.py",
        "templates/base.html",
        "static/css/dynamote.css",
        "static/img/favicon.svg",
    ],
)
def test_what_the_image_runs_is_sent(context, path):
    assert path in context
