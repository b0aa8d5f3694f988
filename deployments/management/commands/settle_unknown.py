"""Settle every create and delete whose outcome the cluster did not confirm, by reading it."""

from django.core.management.base import BaseCommand

from deployments.models import DeploymentDeletion, DeploymentSubmission, Outcome
from deployments.services import resolve_unknown


class Command(BaseCommand):
    help = (
        "Read the cluster for every submission and deletion recorded as unknown (the cluster "
        "did not confirm it) and record what happened; run it from a CronJob or by hand."
    )

    def handle(self, *args: object, **options: object) -> None:
        pairs = {
            *DeploymentSubmission.objects.filter(outcome=Outcome.UNKNOWN).values_list(
                "namespace", "name"
            ),
            *DeploymentDeletion.objects.filter(outcome=Outcome.UNKNOWN).values_list(
                "namespace", "name"
            ),
        }
        for namespace, name in sorted(pairs):
            resolve_unknown(namespace=namespace, name=name)
        left = (
            DeploymentSubmission.objects.filter(outcome=Outcome.UNKNOWN).count()
            + DeploymentDeletion.objects.filter(outcome=Outcome.UNKNOWN).count()
        )
        self.stdout.write(f"Checked {len(pairs)} deployments; {left} outcomes still unknown.")
