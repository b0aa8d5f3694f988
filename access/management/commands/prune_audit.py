from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from access.models import AuditEntry


class Command(BaseCommand):
    help = "Removes audit entries older than DYNAMOTE_AUDIT_RETENTION_DAYS (or --days)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None)

    def handle(self, *args, days, **options):
        days = days or settings.DYNAMOTE_AUDIT_RETENTION_DAYS
        cutoff = timezone.now() - timedelta(days=days)
        # A queryset delete: the one way entries leave the log, and only by age.
        removed, _ = AuditEntry.objects.filter(time__lt=cutoff).delete()
        self.stdout.write(f"Removed {removed} audit entries older than {days} days.")
