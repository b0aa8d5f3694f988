"""`manage.py start`: migrate, make sure someone can log in, and serve Dynamote."""

import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

DEMO_USERNAME = "demo"


class Command(BaseCommand):
    help = "Migrate, create a local demo account when none exists, and start Dynamote."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport: str, **options):
        call_command("migrate", interactive=False, verbosity=0)
        login_hint = self._ensure_demo_account()
        if settings.DYNAMOTE_SANDBOX:
            self._start_sandbox()
        self.stdout.write(self.style.SUCCESS(f"Dynamote: http://{addrport}/"))
        self.stdout.write(login_hint)
        # No autoreloader: the sandbox cluster lives in this process.
        call_command("runserver", addrport, use_reloader=False)

    def _start_sandbox(self) -> None:
        """Starts the built-in sandbox cluster and points Dynamote at it."""
        from sandbox import SandboxCluster

        kubeconfig = settings.VAR_DIR / "sandbox" / "kubeconfig"
        speed = float(os.environ.get("DYNAMOTE_SANDBOX_SPEED") or 1)
        try:
            sandbox = SandboxCluster(port=8001, speed=speed, kubeconfig_path=kubeconfig).start()
        except OSError:  # port 8001 taken: any free port will do
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
