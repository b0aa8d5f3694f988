from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from access import grants


class Command(BaseCommand):
    help = "Creates an API token for a user and prints it (it is shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("user")
        parser.add_argument("--name", default="script")
        parser.add_argument("--expires-days", type=int, default=None)
        parser.add_argument("--read-only", action="store_true")

    def handle(self, *args, user, name, expires_days, read_only, **options):
        owner = get_user_model().objects.filter(username=user).first()
        if owner is None:
            raise CommandError(f"There is no user {user!r}.")
        if expires_days is not None and expires_days < 1:
            raise CommandError("--expires-days must be at least 1.")
        _, token = grants.new_token(
            None, owner, name=name[:64], expires_days=expires_days, read_only=read_only
        )
        self.stdout.write(token)
