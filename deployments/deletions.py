"""Deleting deployments: the one write the dashboard makes, recorded before it is sent."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser

from deployments import cluster
from deployments.models import DeploymentDeletion, Outcome
from deployments.selectors import cache_expire
from deployments.status import READY, deployment_status


class ConfirmationRequired(Exception):
    """A Ready deployment is deleted only after its name is typed."""


@dataclass(frozen=True)
class DeleteTarget:
    """The DGD about to be deleted, as the cluster has it now."""

    namespace: str
    name: str
    manifest: dict

    @property
    def ready(self) -> bool:
        return deployment_status(self.manifest).key == READY


def deletion_target(*, namespace: str, name: str) -> DeleteTarget:
    """The DGD as it is now (uncached); raises cluster.NotFound when it is gone."""
    return DeleteTarget(namespace, name, cluster.dgd_get(namespace=namespace, name=name))


def deployment_delete(
    *, user: AbstractBaseUser | None, namespace: str, name: str, confirmation: str | None = None
) -> DeploymentDeletion:
    """Deletes the DGD (its pods follow); records who, when and what, whatever the outcome.

    With a `confirmation`, a Ready deployment is deleted only when it equals the name
    (ConfirmationRequired otherwise, and nothing is recorded: nothing was attempted).
    Raises ClusterError, after recording it, when the cluster refuses.
    """
    who = user if user is not None and user.is_authenticated else None
    try:
        target = deletion_target(namespace=namespace, name=name)
    except cluster.ClusterError as exc:
        DeploymentDeletion.objects.create(
            user=who, namespace=namespace, name=name, outcome=Outcome.FAILED, message=exc.message
        )
        raise
    if confirmation is not None and target.ready and confirmation.strip() != name:
        raise ConfirmationRequired(f'Type "{name}" to delete this Ready deployment.')
    record = DeploymentDeletion.objects.create(
        user=who, namespace=namespace, name=name, manifest=target.manifest
    )
    try:
        cluster.dgd_delete(namespace=namespace, name=name)
    except cluster.ClusterError as exc:
        record.outcome, record.message = Outcome.FAILED, exc.message
        record.save(update_fields=["outcome", "message"])
        raise
    record.outcome = Outcome.SUCCEEDED
    record.save(update_fields=["outcome"])
    cache_expire(namespace=namespace)
    return record
