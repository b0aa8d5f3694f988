from django.core.management.base import BaseCommand, CommandError

from access import grants
from access.models import ALL_NAMESPACES, Role


class Command(BaseCommand):
    help = "Grants a role to a user or group:NAME, in one namespace or (default) all."

    def add_arguments(self, parser):
        parser.add_argument("subject", help="a username, or group:NAME")
        parser.add_argument("role", choices=[role.value for role in Role])
        parser.add_argument("--namespace", default=ALL_NAMESPACES)

    def handle(self, *args, subject, role, namespace, **options):
        try:
            record = grants.grant(None, grants.subject(subject), Role(role), namespace)
        except grants.GrantError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Granted {record}.")
