"""Dynamote served as its image serves it, for the benchmarks: gunicorn with one uvicorn
worker (dynamote/gunicorn.py), DEBUG off, a fresh SQLite database, pointed at a sandbox's
kubeconfig, on a loopback port.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks import processes

ROOT = Path(__file__).resolve().parents[1]
USERNAME, PASSWORD = "bench", "bench-password-1234"
PROBE_TIMEOUT = 1.0  # what the reviewer's probes allowed; Kubernetes' are 3 s (deploy/)

# A signed-in session made in the database before the server starts, as a viewer's browser
# keeps it across a restart (printing its key).
_SESSION = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
user = get_user_model().objects.get(username={username!r})
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(session.session_key)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Dynamote:
    """A served Dynamote on loopback; `request` speaks plain HTTP/1.1 to it. `session` holds
    the cookies of the signed-in superuser made before the start."""

    def __init__(self, port: int, session: dict | None = None) -> None:
        self.port = port
        self.session = session or {}

    def request(
        self,
        method: str,
        path: str,
        *,
        body: dict | None = None,
        cookies: dict | None = None,
        headers: dict | None = None,
        timeout: float = 30.0,
    ) -> tuple[int, dict[str, list[str]], str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            sent = dict(headers or {})
            if cookies:
                sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
            data = None
            if body is not None:
                data = urllib.parse.urlencode(body)
                sent["Content-Type"] = "application/x-www-form-urlencoded"
            connection.request(method, path, body=data, headers=sent)
            response = connection.getresponse()
            text = response.read().decode(errors="replace")
            received: dict[str, list[str]] = {}
            for name, value in response.getheaders():
                received.setdefault(name.lower(), []).append(value)
            return response.status, received, text
        finally:
            connection.close()

    def health_ms(self) -> float | None:
        started = time.perf_counter()
        try:
            status, _, _ = self.request("GET", "/api/health", timeout=PROBE_TIMEOUT)
        except OSError:
            return None
        return (time.perf_counter() - started) * 1000 if status == 200 else None

    def login(self, password: str = PASSWORD, username: str = USERNAME) -> dict:
        """The cookies after posting the login form (a session when the password is right)."""
        _, headers, html = self.request("GET", "/login/")
        cookies = _cookies(headers)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        _, headers, _ = self.request(
            "POST",
            "/login/",
            body={"username": username, "password": password, "csrfmiddlewaretoken": token},
            cookies=cookies,
        )
        return {**cookies, **_cookies(headers)}


def _cookies(headers: dict[str, list[str]]) -> dict:
    found = {}
    for line in headers.get("set-cookie", []):
        name, _, rest = line.partition("=")
        found[name.strip()] = rest.split(";", 1)[0]
    return found


@contextmanager
def gunicorn(kubeconfig: Path) -> Iterator[Dynamote]:
    """Dynamote under gunicorn with the project's config, once /api/health answers."""
    with tempfile.TemporaryDirectory(prefix="dynamote-served-") as tmp:
        folder = Path(tmp)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(folder),
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "benchmark-only-secret-key-benchmark-only-0123456789abcdef",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DYNAMOTE_VAR_DIR": str(folder / "var"),
            "DYNAMOTE_KUBECONFIG": str(kubeconfig),
            "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
        }

        def manage(*command: str) -> str:
            return subprocess.run(
                [sys.executable, "manage.py", *command],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout

        # As the image is built: static files collected (into ./staticfiles, ignored by git).
        manage("collectstatic", "--noinput", "-v", "0")
        manage("migrate", "--noinput", "-v", "0")
        manage("createsuperuser", "--noinput", "--username", USERNAME, "--email", "b@example.com")
        session = manage("shell", "-v", "0", "-c", _SESSION.format(username=USERNAME))
        port = free_port()
        log = (folder / "gunicorn.log").open("w+")
        # As the image starts it (Dockerfile), on a loopback port.
        server = processes.start(
            [
                *(sys.executable, "-m", "gunicorn", "--config", "python:dynamote.gunicorn"),
                *("--bind", f"127.0.0.1:{port}", "--access-logfile", "/dev/null"),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        app = Dynamote(port, {"sessionid": session.strip().splitlines()[-1]})
        try:
            deadline = time.monotonic() + 60
            while app.health_ms() is None:
                if server.poll() is not None or time.monotonic() > deadline:
                    processes.stop(server, signal.SIGKILL)
                    log.seek(0)
                    raise RuntimeError(f"gunicorn did not start:\n{log.read()[-4000:]}")
                time.sleep(0.05)
            yield app
        finally:
            # Quick shutdown (no wait for slow requests); its workers never outlive it.
            processes.stop(server, signal.SIGINT)
            log.close()
