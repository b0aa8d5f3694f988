"""`manage.py start`: migrate, make sure someone can log in, and serve Dynamote."""

import errno
import json
import re
import secrets
import socket
import urllib.request

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

DEMO_USERNAME = "demo"
DEFAULT_ADDRESS, DEFAULT_PORT = "127.0.0.1", 8000
_ADDRPORT = re.compile(r"^(?:(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):)?(?P<port>\d{1,5})$")


def parse_addrport(text: str) -> tuple[str, int]:
    """'8001', '127.0.0.1:8001' or '[::1]:8001' as (host, port)."""
    match = _ADDRPORT.match(text.strip())
    if not match or not 0 < int(match["port"]) < 65536:
        raise CommandError(
            f"{text!r} is not a port or an address:port. Use e.g. 8001 or 127.0.0.1:8001."
        )
    return (match["host"] or DEFAULT_ADDRESS).strip("[]"), int(match["port"])


def port_taken(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            raise CommandError(f"Cannot listen on {host}:{port}: {exc.strerror}.") from exc
    return False


def _is_dynamote(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}api/health", timeout=2) as answer:
            return json.loads(answer.read()) == {"status": "ok"}
    except (OSError, ValueError):
        return False


class Command(BaseCommand):
    help = "Migrate, create a local demo account when none exists, and start Dynamote."

    def add_arguments(self, parser):
        parser.add_argument(
            "addrport",
            nargs="?",
            default=f"{DEFAULT_ADDRESS}:{DEFAULT_PORT}",
            help="a port or address:port (default 127.0.0.1:8000)",
        )

    def handle(self, *args, addrport: str, **options):
        host, port = parse_addrport(addrport)
        shown = f"[{host}]" if ":" in host else host
        url = f"http://{shown}:{port}/"
        # Before touching anything another instance uses (database, sandbox kubeconfig).
        self._refuse_a_taken_port(host, port, url)
        call_command("migrate", interactive=False, verbosity=0)
        login_hint = self._ensure_demo_account()
        if settings.DYNAMOTE_SANDBOX:
            self._start_sandbox(port)
        self.stdout.write(self.style.SUCCESS(f"Dynamote: {url}"))
        self.stdout.write(login_hint)
        self._serve(host, port)

    def _serve(self, host: str, port: int) -> None:
        """ASGI under uvicorn, as in production: open pages' event streams hold no thread.

        In this process (no autoreloader): the sandbox cluster lives here. WhiteNoise (a
        middleware) serves the static files, from the apps' folders while DEBUG is on.
        """
        import uvicorn

        from dynamote.asgi import application

        uvicorn.run(application, host=host, port=port, lifespan="off", log_level="info")

    def _refuse_a_taken_port(self, host: str, port: int, url: str) -> None:
        if not port_taken(host, port):
            return
        other = (
            f"Another Dynamote is already running at {url}"
            if _is_dynamote(url)
            else f"Another program is already listening on {host}:{port}"
        )
        raise CommandError(
            f"{other}; it keeps running, untouched. Stop it first, or start this one on "
            f"another port: `make run PORT={port + 1}` (or `python manage.py start "
            f"{host}:{port + 1}`)."
        )

    def _start_sandbox(self, port: int) -> None:
        """Starts the built-in sandbox cluster and points Dynamote at it."""
        from sandbox import SandboxCluster

        # Each instance its own kubeconfig: a second one must not cut the first off its cluster.
        name = "kubeconfig" if port == DEFAULT_PORT else f"kubeconfig-{port}"
        kubeconfig = settings.VAR_DIR / "sandbox" / name
        speed = settings.DYNAMOTE_SANDBOX_SPEED
        # Any free port: a fixed one would clash with a second instance (make run PORT=8001).
        sandbox = SandboxCluster(port=0, speed=speed, kubeconfig_path=kubeconfig).start()
        settings.DYNAMOTE_KUBECONFIG = str(kubeconfig)
        settings.DYNAMOTE_KUBE_CONTEXT = ""
        self.stdout.write(
            self.style.WARNING(
                f"No cluster configured: using the sandbox cluster at {sandbox.url} "
                "(simulated GPUs; its state is lost when Dynamote stops)."
            )
        )
        self.stdout.write(f"  kubectl --kubeconfig {kubeconfig} get dgd -A")

    def _ensure_demo_account(self) -> str:
        """Creates the demo account on a fresh database; returns how to log in."""
        users = get_user_model().objects
        password_file = settings.VAR_DIR / "demo_password"
        if not users.exists():
            password = secrets.token_urlsafe(12)
            users.create_superuser(DEMO_USERNAME, password=password)
            settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
            password_file.write_text(password)
            password_file.chmod(0o600)
        if users.filter(username=DEMO_USERNAME).exists() and password_file.exists():
            return f"Log in as {DEMO_USERNAME!r} with password {password_file.read_text()!r}."
        return "Log in with your account (create one with `python manage.py createsuperuser`)."
