"""Writes to the cluster: deploying a model (with the facts the deploy form needs) and deleting."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from deployments import cluster, sizing
from deployments.manifests import (
    DEFAULT_API_VERSION,
    DeploymentConfig,
    ModelFacts,
    compact_crd,
    max_name_length,
    worker_roles,
)
from deployments.mirror import cache_expire
from deployments.models import DeploymentDeletion, DeploymentSubmission, Outcome
from deployments.selectors import dgd_names
from deployments.status import READY, deployment_status

logger = logging.getLogger("dynamote.deploy")

DTYPE = "bf16"  # the catalog's models ship BF16 weights


@dataclass(frozen=True)
class Target:
    """What the manifest is built for: the API version and the CRD schema it must satisfy."""

    api_version: str
    crd: dict
    reachable: bool
    note: str = ""
    namespaces: list[str] = field(default_factory=list)
    namespaces_note: str = ""


class ClusterSession:
    """Cluster reads for one request that stop at the first sign of an unreachable cluster.

    A cluster that does not answer costs one timeout per request, not one per call, so a slow
    cluster is reported within about 12 seconds.
    """

    def __init__(self) -> None:
        self.down: cluster.ClusterError | None = None

    def call(self, fn, *args, **kwargs):
        if self.down is not None:
            raise self.down
        try:
            return fn(*args, **kwargs)
        except (cluster.Unreachable, cluster.Unauthorized) as exc:
            self.down = exc
            raise


# --- what the form is built for -----------------------------------------------------------


def deploy_target(*, session: ClusterSession) -> Target:
    """The DGD version and CRD to build for: the cluster's, or v1beta1 when it cannot be asked."""
    try:
        version = session.call(cluster.preferred_dgd_version)
        crd = session.call(cluster.dgd_crd)
    except cluster.ClusterError as exc:
        return Target(
            api_version=DEFAULT_API_VERSION,
            crd=compact_crd(),
            reachable=False,
            note=(
                f"The preview targets nvidia.com/{DEFAULT_API_VERSION} because the cluster "
                f"could not be asked: {exc.message}"
            ),
        )
    namespaces: list[str] = []
    namespaces_note = ""
    if not settings.DYNAMOTE_NAMESPACES:
        try:
            namespaces = session.call(cluster.namespaces)
        except cluster.ClusterError as exc:
            namespaces_note = f"The namespaces could not be listed; type one. {exc.message}"
    return Target(
        api_version=version,
        crd=crd,
        reachable=True,
        note=f"Targets nvidia.com/{version}, the version the cluster prefers.",
        namespaces=namespaces,
        namespaces_note=namespaces_note,
    )


# --- the Hugging Face token secret ----------------------------------------------------------


@dataclass(frozen=True)
class SecretCheck:
    """Whether the token secret exists: status is found, missing or unknown."""

    status: str
    message: str
    command: str = ""


def secret_check(
    *, session: ClusterSession, namespace: str, name: str, gated: bool, model_name: str
) -> SecretCheck | None:
    """Looks the Secret up in the namespace; a missing one is a warning with the fix."""
    if not name or not namespace:
        return None
    gated_note = (
        f" {model_name} is gated on Hugging Face: the token must belong to an account that "
        "accepted its license."
        if gated
        else ""
    )
    try:
        exists = session.call(cluster.secret_exists, namespace=namespace, name=name)
    except cluster.ClusterError as exc:
        return SecretCheck("unknown", f"The secret could not be checked: {exc.message}{gated_note}")
    if exists:
        return SecretCheck("found", f"Secret {name} exists in {namespace}.{gated_note}")
    return SecretCheck(
        "missing",
        f"Secret {name} does not exist in namespace {namespace}: the workers will not start "
        f"until it does. Create it with your Hugging Face token:{gated_note}",
        command=(
            f"kubectl create secret generic {name} "
            f"--from-literal=HF_TOKEN=<your Hugging Face token> -n {namespace}"
        ),
    )


# --- GPU fit --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FitReport:
    """The fit of each worker role, or why it could not be checked."""

    fits: list[sizing.Fit] = field(default_factory=list)
    note: str = ""
    checked: bool = True
    # Every role together, said before the roles (disaggregated mode).
    verdict: sizing.Verdict | None = None


def gpu_fit(*, session: ClusterSession, config: DeploymentConfig, model: ModelFacts) -> FitReport:
    """Each worker role's GPU memory estimate against the nodes' free GPUs."""
    try:
        nodes = sizing.gpu_nodes(
            session.call(cluster.nodes), session.call(cluster.pods, namespace=None)
        )
    except cluster.ClusterError as exc:
        return FitReport(
            fits=[_estimate_only(config, model, role) for role in worker_roles(config.mode)],
            note=f"The fit could not be checked: {exc.message}",
            checked=False,
        )
    context = config.context_length or model.context_length
    fits = [
        sizing.fit(
            role=role,
            parameters_billions=model.parameters_billions,
            context_length=context,
            tensor_parallel_size=config.role_tensor_parallel_size(role),
            replicas=config.role_replicas(role),
            nodes=nodes,
            dtype=DTYPE,
        )
        for role in worker_roles(config.mode)
    ]
    return FitReport(fits=fits, verdict=sizing.verdict(fits, nodes) if len(fits) > 1 else None)


def _estimate_only(config: DeploymentConfig, model: ModelFacts, role: str) -> sizing.Fit:
    estimate = sizing.estimate(
        parameters_billions=model.parameters_billions,
        context_length=config.context_length or model.context_length,
        tensor_parallel_size=config.role_tensor_parallel_size(role),
        dtype=DTYPE,
    )
    return sizing.Fit(
        role=role,
        status="unknown",
        message="Not checked against the cluster.",
        estimate=estimate,
        replicas=config.role_replicas(role),
    )


# --- creating -------------------------------------------------------------------------------


class DeploymentFailed(Exception):
    """The cluster refused the deployment; the submission records what it said."""

    def __init__(self, submission: DeploymentSubmission, error: cluster.ClusterError | None):
        super().__init__(submission.message)
        self.submission = submission
        self.error = error


def deployment_dry_run(*, manifest: dict) -> dict:
    """The cluster's server-side dry-run of the create (validates, stores nothing)."""
    return cluster.dgd_create(manifest=manifest, dry_run=True)


def deployment_create(
    *,
    user,
    config: DeploymentConfig,
    manifest: dict,
    idempotency_key: str | None = None,
    session: ClusterSession | None = None,
) -> DeploymentSubmission:
    """Records the submission, then dry-runs and creates the DGD; one create per key.

    Raises DeploymentFailed (with the recorded submission) when the cluster refuses.
    """
    key = idempotency_key or None
    if key:
        existing = DeploymentSubmission.objects.filter(idempotency_key=key).first()
        if existing is not None:
            return _replay(existing)
    try:
        with transaction.atomic():
            submission = DeploymentSubmission.objects.create(
                user=user if getattr(user, "is_authenticated", False) else None,
                idempotency_key=key,
                namespace=config.namespace,
                name=config.name,
                model_slug=config.model_id,
                engine=config.engine,
                api_version=config.api_version,
                config=config.model_dump(mode="json", by_alias=True),
                manifest=manifest,
            )
    except IntegrityError:
        # The same form submitted twice at once: the first request does the work.
        return _replay(DeploymentSubmission.objects.get(idempotency_key=key))
    try:
        session = session or ClusterSession()
        session.call(deployment_dry_run, manifest=manifest)
        created = session.call(cluster.dgd_create, manifest=manifest)
    except cluster.ClusterError as exc:
        submission.outcome = Outcome.FAILED
        submission.message = exc.message
        submission.save(update_fields=["outcome", "message", "updated_at"])
        logger.info(
            "deploy failed namespace=%s name=%s error=%s",
            config.namespace,
            config.name,
            type(exc).__name__,
        )
        raise DeploymentFailed(submission, exc) from exc
    # The dashboard's shared cache must show the new deployment on the next read.
    cache_expire(namespace=config.namespace)
    submission.outcome = Outcome.SUCCEEDED
    submission.message = f"Created {config.namespace}/{config.name}."
    submission.save(update_fields=["outcome", "message", "updated_at"])
    submission.created_object = created
    logger.info("deploy created namespace=%s name=%s", config.namespace, config.name)
    return submission


def _replay(submission: DeploymentSubmission) -> DeploymentSubmission:
    """The first outcome of a submission, for a repeated request with the same key."""
    if submission.outcome == Outcome.FAILED:
        raise DeploymentFailed(submission, None)
    submission.replayed = True
    return submission


def propose_name(*, name: str, taken: set[str], limit: int, keep: bool = True) -> str | None:
    """`name` when free (and `keep`), else the first of `name-2` … `name-9` that is free."""
    if keep and name not in taken:
        return name
    base = re.sub(r"-\d+$", "", name)
    for number in range(2, 10):
        suffix = f"-{number}"
        candidate = base[: limit - len(suffix)].rstrip("-") + suffix
        if candidate not in taken:
            return candidate
    return None


def free_name(*, namespace: str, name: str, engine: str, mode: str) -> str | None:
    """A name like `name-2` that no DGD in the namespace uses yet, or None if none is found."""
    taken = dgd_names(namespace=namespace)
    if taken is None:
        return None
    return propose_name(
        name=name, taken=taken | {name}, limit=max_name_length(engine, mode), keep=False
    )


# --- deleting -------------------------------------------------------------------------------


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
