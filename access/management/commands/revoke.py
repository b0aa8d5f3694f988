from django.core.management.base import BaseCommand, CommandError

from access import grants
from access.models import ALL_NAMESPACES


class Command(BaseCommand):
    help = "Removes a user's or group:NAME's role in one namespace or (default) all."

    def add_arguments(self, parser):
        parser.add_argument("subject", help="a username, or group:NAME")
        parser.add_argument("--namespace", default=ALL_NAMESPACES)

    def handle(self, *args, subject, namespace, **options):
        try:
            who = grants.subject(subject)
        except grants.GrantError as exc:
            raise CommandError(str(exc)) from exc
        where = f"namespace {namespace}" if namespace else "all namespaces"
        if not grants.revoke(None, who, namespace):
            raise CommandError(f"{subject} has no role in {where}.")
        self.stdout.write(f"Revoked {subject}'s role in {where}.")
