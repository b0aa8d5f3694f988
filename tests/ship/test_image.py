"""The container image's build steps work, and the image serves Dynamote with gunicorn."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from benchmarks import processes
from tests.ship.docker_context import context_files

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def built_image(tmp_path_factory) -> Path:
    """Docker's build context (.dockerignore applied) copied to a temporary directory and
    built there, as Docker would."""
    source = tmp_path_factory.mktemp("image") / "app"
    for name in context_files():
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    # The image's python3, not this virtualenv's; uv when the machine has it.
    uv = shutil.which("uv") or ""
    path = f"{Path(sys.base_prefix) / 'bin'}:{Path(uv).parent if uv else ''}:/usr/bin:/bin"
    env = {"PATH": path, "HOME": os.environ.get("HOME", "/root")}
    result = subprocess.run(
        ["sh", "scripts/build-image.sh", str(source / "venv")],
        cwd=source,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return source


def test_build_collects_compressed_hashed_static_files(built_image):
    static = built_image / "staticfiles"
    assert (static / "staticfiles.json").is_file()
    hashed_css = list(static.glob("css/dynamote.*.css"))
    assert hashed_css, "no hashed stylesheet was collected"
    assert list(static.glob("css/dynamote.*.css.gz"))
    assert list(static.glob("django_htmx/htmx-2.min.*.js"))


def test_build_installs_no_development_tools(built_image):
    venv_bin = built_image / "venv" / "bin"
    assert (venv_bin / "gunicorn").is_file()
    assert not (venv_bin / "pytest").exists()
    assert not (venv_bin / "ruff").exists()


def test_gunicorn_serves_health_and_static_files(built_image, tmp_path):
    port = _free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "a-test-only-secret-key-that-is-long-enough-0123456789abcdef",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DYNAMOTE_VAR_DIR": str(tmp_path),
        "DYNAMOTE_SANDBOX": "false",
    }
    server = processes.start(
        [
            str(built_image / "venv" / "bin" / "gunicorn"),
            *("--config", "python:dynamote.gunicorn"),  # as the Dockerfile starts it
            *("--bind", f"127.0.0.1:{port}"),
        ],
        cwd=built_image,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health") as response:
                    assert response.read() == b'{"status": "ok"}'
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    processes.stop(server, signal.SIGKILL)
                    pytest.fail(
                        "gunicorn did not serve /api/health:\n" + server.stdout.read().decode()
                    )
                time.sleep(0.2)
        manifest = (built_image / "staticfiles" / "staticfiles.json").read_text()
        css_name = next(
            name
            for name in manifest.split('"')
            if name.startswith("css/dynamote.") and name.endswith(".css")
        )
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/{css_name}") as response:
            assert response.headers["Cache-Control"].startswith("max-age=")
            assert b"--color-nvidia" in response.read()
    finally:
        processes.stop(server)
