"""`manage.py sandbox`: run the sandbox cluster in the foreground, or toggle its faults."""

from __future__ import annotations

import threading
from pathlib import Path

import yaml
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from sandbox import SandboxCluster
from sandbox.cluster import PROFILES
from sandbox.control import FAULT_HELP, parse_fault, send_faults


class Command(BaseCommand):
    help = "Run the sandbox Kubernetes cluster (simulated Dynamo operator) until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument(
            "--kubeconfig",
            default=str(Path(settings.BASE_DIR) / "var" / "sandbox" / "kubeconfig"),
            help="where to write the kubeconfig (default var/sandbox/kubeconfig)",
        )
        parser.add_argument("--profile", choices=PROFILES, default="dynamo-1.5")
        parser.add_argument(
            "--crd",
            action="append",
            default=[],
            metavar="PATH",
            help="install this CRD YAML instead of the compact one (repeatable)",
        )
        parser.add_argument("--cluster", metavar="FILE", help="namespaces, secrets, nodes YAML")
        parser.add_argument("--speed", type=float, default=1.0, help="run N times faster")
        parser.add_argument("--verbose", action="store_true", help="log each request line")
        parser.add_argument(
            "--fault",
            action="append",
            default=[],
            metavar="FAULT",
            help=f"toggle a fault on the running sandbox and exit: {FAULT_HELP}",
        )

    def handle(self, *args, **options):
        if options["fault"]:
            self._send_faults(options["kubeconfig"], options["fault"])
            return
        if options["speed"] <= 0:
            raise CommandError("--speed must be positive")
        try:
            cluster = SandboxCluster(
                profile=options["profile"],
                crds=options["crd"] or None,
                cluster=options["cluster"],
                host=options["host"],
                port=options["port"],
                speed=options["speed"],
                kubeconfig_path=options["kubeconfig"],
                verbose=options["verbose"],
            )
        except (OSError, ValueError, yaml.YAMLError) as err:
            raise CommandError(f"cannot load the sandbox's CRD or cluster file: {err}") from err
        try:
            cluster.start()
        except OSError as err:
            message = f"cannot listen on {options['host']}:{options['port']}: {err}"
            raise CommandError(message) from err
        self.stdout.write(self.style.SUCCESS(f"Sandbox cluster: {cluster.url}"))
        self.stdout.write(f"Kubeconfig: {cluster.kubeconfig_path}")
        self.stdout.write(f"  kubectl --kubeconfig {cluster.kubeconfig_path} get dgd -A")
        self.stdout.write("Press Ctrl-C to stop.")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            self.stdout.write("Stopping the sandbox cluster.")
        finally:
            cluster.close()

    def _send_faults(self, kubeconfig: str, faults: list[str]) -> None:
        try:
            for text in faults:
                current = send_faults(kubeconfig, parse_fault(text))
        except ValueError as err:
            raise CommandError(str(err)) from err
        except OSError as err:
            raise CommandError(f"no sandbox answering for {kubeconfig}: {err}") from err
        self.stdout.write(f"Sandbox faults: {current}")
