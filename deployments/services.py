"""Writes to the cluster: deploying a model (with the facts the deploy form needs) and deleting."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from typing import NoReturn

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from access import audit
from access.models import Outcome as AuditOutcome
from access.policy import reference_errors
from access.roles import Action, require
from deployments import cluster, mirror, selectors, sizing, snippets, volumes
from deployments.changes import revision_record_create, revision_record_restart
from deployments.engines import Release, resolve_release
from deployments.manifests import (
    DEFAULT_API_VERSION,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    DeploymentConfig,
    ModelFacts,
    max_name_length,
    worker_roles,
)
from deployments.models import DeploymentDeletion, DeploymentSubmission, Outcome
from deployments.names import NAME_RULE, is_name, is_namespace
from deployments.plan import Target, offline_target
from deployments.restarts import Choice, RestartPlan, restart_plan
from deployments.restarts import restart_choices as choices_for
from deployments.selectors import dgd_names
from deployments.status import READY, deployment_status

logger = logging.getLogger("dynamote.deploy")


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
        version, crd = session.call(selectors.dgd_target)
    except cluster.ClusterError as exc:
        release = resolve_release(
            api_version=DEFAULT_API_VERSION, configured=settings.DYNAMOTE_DYNAMO_VERSION
        )
        return offline_target(
            note=(
                f"The preview targets nvidia.com/{DEFAULT_API_VERSION} because the cluster "
                f"could not be asked: {exc.message} {release.reason}"
            ),
            **_settings(),
        )
    release = _release(version, session=session)
    namespaces: list[str] = []
    namespaces_note = ""
    if not settings.DYNAMOTE_NAMESPACES:
        try:
            namespaces = session.call(selectors.cluster_namespaces)
        except cluster.ClusterError as exc:
            namespaces_note = f"The namespaces could not be listed; type one. {exc.message}"
    return Target(
        api_version=version,
        crd=crd,
        reachable=True,
        gpu_products=gpu_product_listing(session=session),
        claims=_claims_reader(session),
        note=(
            f"Targets nvidia.com/{version}, the version the cluster prefers "
            f"(Dynamo {release.line.key} line). {release.reason}"
        ),
        namespaces=namespaces,
        namespaces_note=namespaces_note,
        **{**_settings(), "dynamo_version": release.image_tag},
        release=release,
    )


def gpu_product_listing(*, session: ClusterSession) -> volumes.GpuProducts:
    """The GPU products the nodes carry, or why they could not be read."""
    try:
        nodes = session.call(selectors.cluster_nodes)
    except cluster.ClusterError as exc:
        return volumes.GpuProducts(
            None, f"The nodes could not be listed, so type the GPU product. {exc.message}"
        )
    return volumes.GpuProducts(volumes.gpu_products(nodes))


def claim_listing(*, session: ClusterSession, namespace: str) -> volumes.ClaimListing:
    """The namespace's PersistentVolumeClaims, or why they could not be listed."""
    allowed = settings.DYNAMOTE_NAMESPACES
    if not is_namespace(namespace) or (allowed and namespace not in allowed):
        return volumes.ClaimListing(namespace, None, "Choose a namespace Dynamote may use.")
    try:
        items = session.call(selectors.volume_claims, namespace=namespace)
    except cluster.ClusterError as exc:
        return volumes.ClaimListing(
            namespace,
            None,
            f"The claims in {namespace} could not be listed, so type the claim's name. "
            f"{exc.message}",
        )
    claims = (volumes.claim_from_object(item) for item in items)
    return volumes.ClaimListing(namespace, {c.name: c for c in claims if c.name})


def _claims_reader(session: ClusterSession):
    """Per namespace, its claims, read at most once per request."""
    read: dict[str, volumes.ClaimListing] = {}

    def claims(namespace: str) -> volumes.ClaimListing:
        if namespace not in read:
            read[namespace] = claim_listing(session=session, namespace=namespace)
        return read[namespace]

    return claims


def model_cache_check(
    *, target: Target, config: DeploymentConfig, model: ModelFacts
) -> volumes.CacheCheck | None:
    """What the deploy form says about the chosen model cache, with the fix when it is wrong."""
    storage = volumes.weights_storage(
        parameters_billions=model.parameters_billions, weight_format=model.weight_format
    )
    command = snippets.pvc_create(
        name=config.model_cache or volumes.MODEL_CACHE_VOLUME,
        namespace=config.namespace,
        storage=storage,
    )
    claims = target.claims_in(config.namespace) if config.model_cache else None
    return volumes.cache_check(config, claims=claims, storage=storage, command=command)


def _release(version: str, *, session: ClusterSession) -> Release:
    """The release the cluster runs: its operator's image tag when Dynamote may read it."""
    try:
        return session.call(selectors.dynamo_release, api_version=version)
    except cluster.ClusterError as exc:
        return resolve_release(
            api_version=version,
            configured=settings.DYNAMOTE_DYNAMO_VERSION,
            why_not=f"The operator's release could not be read: {exc.message}",
        )


def _settings() -> dict:
    return {
        "default_namespace": settings.DYNAMOTE_DEFAULT_NAMESPACE,
        "allowed_namespaces": tuple(settings.DYNAMOTE_NAMESPACES),
        "dynamo_version": settings.DYNAMOTE_DYNAMO_VERSION,
    }


# --- the Hugging Face token secret ----------------------------------------------------------


@dataclass(frozen=True)
class SecretCheck:
    """Whether the token secret exists: status is found, missing, unknown or invalid."""

    status: str
    message: str
    command: str = ""


def secret_check(
    *, session: ClusterSession, namespace: str, name: str, gated: bool, model_name: str
) -> SecretCheck | None:
    """Looks the Secret up in the namespace; a missing one is a warning with the fix.

    Only a valid Secret name in a namespace Dynamote may use is looked up: anything else is
    "invalid" without a request, so the check cannot be asked about other objects or paths.
    """
    if not name or not namespace:
        return None
    allowed = settings.DYNAMOTE_NAMESPACES
    if not is_namespace(namespace) or (allowed and namespace not in allowed):
        return SecretCheck(
            "invalid", "The secret was not checked: choose a namespace Dynamote may use."
        )
    if not is_name(name):
        return SecretCheck("invalid", f"The secret was not checked: {NAME_RULE}")
    gated_note = (
        f" {model_name} is gated on Hugging Face: the token must belong to an account that "
        "accepted its license."
        if gated
        else ""
    )
    try:
        exists = session.call(selectors.secret_present, namespace=namespace, name=name)
    except cluster.ClusterError as exc:
        return SecretCheck("unknown", f"The secret could not be checked: {exc.message}{gated_note}")
    if exists:
        return SecretCheck("found", f"Secret {name} exists in {namespace}.{gated_note}")
    return SecretCheck(
        "missing",
        f"Secret {name} does not exist in namespace {namespace}: the workers will not start "
        f"until it does. Create it with your Hugging Face token:{gated_note}",
        command=snippets.secret_create(name=name, namespace=namespace),
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
        nodes = sizing.gpu_nodes(*session.call(selectors.gpu_usage))
    except cluster.ClusterError as exc:
        return FitReport(
            fits=[_estimate_only(config, model, role) for role in worker_roles(config.mode)],
            note=f"The fit could not be checked: {exc.message}",
            checked=False,
        )
    if config.gpu_product:
        # Pinned to one GPU type: only the nodes of that product count.
        nodes = [node for node in nodes if node.product == config.gpu_product]
    context = config.context_length or model.context_length
    fits = [
        sizing.fit(
            role=role,
            parameters_billions=model.parameters_billions,
            context_length=context,
            tensor_parallel_size=config.role_tensor_parallel_size(role),
            replicas=config.role_replicas(role),
            nodes=nodes,
            dtype=model.weight_format,
        )
        for role in worker_roles(config.mode)
    ]
    note = (
        f"Counting only the nodes with {config.gpu_product} GPUs, the GPU type chosen."
        if config.gpu_product
        else ""
    )
    verdict = sizing.verdict(fits, nodes) if len(fits) > 1 else None
    return FitReport(fits=fits, verdict=verdict, note=note)


def _estimate_only(config: DeploymentConfig, model: ModelFacts, role: str) -> sizing.Fit:
    estimate = sizing.estimate(
        parameters_billions=model.parameters_billions,
        context_length=config.context_length or model.context_length,
        tensor_parallel_size=config.role_tensor_parallel_size(role),
        dtype=model.weight_format,
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
    """The cluster refused the deployment, or did not confirm it (outcome unknown).

    The submission records what the cluster said; `error` is None for a replayed failure.
    """

    def __init__(self, submission: DeploymentSubmission, error: cluster.ClusterError | None):
        super().__init__(submission.message)
        self.submission = submission
        self.error = error


class InvalidRequest(Exception):
    """Request values refused before anything is stored; `fields` maps names to messages."""

    def __init__(self, fields: dict[str, list[str]]):
        super().__init__("; ".join(m for messages in fields.values() for m in messages))
        self.fields = fields


class IdempotencyMismatch(Exception):
    """The Idempotency-Key was used before for a different request."""

    def __init__(self, submission: DeploymentSubmission):
        super().__init__(
            "This Idempotency-Key was used for a different deployment request; "
            "use a new key for a new request."
        )
        self.submission = submission


MAX_KEY_LENGTH = DeploymentSubmission._meta.get_field("idempotency_key").max_length
MAX_NAME_LENGTH = 253  # a Kubernetes object name (DNS-1123 subdomain)
# An unconfirmed create whose DGD is still absent this long after is taken as not created.
SETTLE_SECONDS = 120


def request_hash(config: DeploymentConfig) -> str:
    """SHA-256 of the config as stored: what an Idempotency-Key is bound to."""
    canonical = json.dumps(
        config.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


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
    """Records the submission, then dry-runs and creates the DGD; one create per user and key.

    A repeated key with the same config replays the first outcome, or finishes a create whose
    outcome was unknown; with another config it raises IdempotencyMismatch. Raises
    DeploymentFailed (with the recorded submission) when the cluster refuses or does not
    confirm, InvalidRequest for a key Dynamote cannot store.
    """
    key = idempotency_key or None
    if key is not None and (
        len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable()
    ):
        raise InvalidRequest(
            {"Idempotency-Key": [f"Use at most {MAX_KEY_LENGTH} printable ASCII characters."]}
        )
    require(user, Action.DEPLOY, config.namespace, name=config.name)
    refused = reference_errors(user, config)
    if refused:
        raise InvalidRequest(refused)
    who = user if getattr(user, "is_authenticated", False) else None
    digest = request_hash(config)
    session = session or ClusterSession()
    if key:
        existing = _by_key(who, key)
        if existing is not None:
            return _replay(existing, digest, session)
    try:
        with transaction.atomic():
            submission = DeploymentSubmission.objects.create(
                user=who,
                idempotency_key=key,
                request_hash=digest,
                namespace=config.namespace,
                name=config.name,
                model_slug=config.model_id[:63],  # a custom model's repo id may be longer
                engine=config.engine,
                api_version=config.api_version,
                config=config.model_dump(mode="json", by_alias=True),
                manifest=manifest,
            )
            audit.begin(
                None,
                "deploy",
                namespace=config.namespace,
                name=config.name,
                summary=f"{config.model_id} on {config.engine} ({config.api_version})",
            )
    except IntegrityError:
        # The same form submitted twice at once: the first request does the work.
        return _replay(_by_key(who, key), digest, session)
    return _send(submission, session)


def _by_key(user, key: str) -> DeploymentSubmission | None:
    return DeploymentSubmission.objects.filter(user=user, idempotency_key=key).first()


def _send(submission: DeploymentSubmission, session: ClusterSession) -> DeploymentSubmission:
    """Dry-runs and creates the submission's DGD, recording the outcome."""
    manifest = submission.manifest
    try:
        session.call(deployment_dry_run, manifest=manifest)
    except cluster.ClusterError as exc:
        return _refused(submission, exc, sent=False)
    try:
        created = session.call(cluster.dgd_create, manifest=manifest)
    except cluster.ClusterError as exc:
        return _refused(submission, exc, sent=True)
    # The page the redirect opens reads the mirror: wait until its watch delivered the DGD.
    mirror.written(created)
    _record(submission, Outcome.SUCCEEDED, f"Created {submission.namespace}/{submission.name}.")
    revision_record_create(submission=submission, created=created)
    submission.created_object = created
    logger.info("deploy created namespace=%s name=%s", submission.namespace, submission.name)
    return submission


def _refused(
    submission: DeploymentSubmission, exc: cluster.ClusterError, *, sent: bool
) -> DeploymentSubmission:
    """Records why the create did not go through; raises DeploymentFailed.

    A create sent but not answered may have been made: its outcome is unknown. A retry of
    such a create that finds the name taken may have found its own first attempt.
    """
    retry = submission.outcome == Outcome.UNKNOWN
    if isinstance(exc, cluster.Conflict) and retry and _settle_create(submission):
        submission.replayed = True
        return submission
    if isinstance(exc, cluster.Unreachable) and (sent or retry):
        _record(submission, Outcome.UNKNOWN, _unconfirmed("create", exc))
        logger.info(
            "deploy unconfirmed namespace=%s name=%s", submission.namespace, submission.name
        )
        raise DeploymentFailed(submission, exc) from exc
    raise _failed(submission, exc) from exc


def _failed(submission: DeploymentSubmission, exc: cluster.ClusterError) -> DeploymentFailed:
    _record(submission, Outcome.FAILED, exc.message)
    logger.info(
        "deploy failed namespace=%s name=%s error=%s",
        submission.namespace,
        submission.name,
        type(exc).__name__,
    )
    return DeploymentFailed(submission, exc)


def _unconfirmed(verb: str, exc: cluster.ClusterError) -> str:
    return (
        f"The cluster did not confirm the {verb}: {exc.message} Dynamote checks the cluster "
        "when the deployment is opened next; "
        + (
            "submitting again with the same Idempotency-Key finishes the job."
            if verb == "create"
            else "deleting again finishes the job."
        )
    )


def _record(record, outcome: str, message: str) -> None:
    record.outcome, record.message = outcome, message
    fields = ["outcome", "message"]
    deploying = isinstance(record, DeploymentSubmission)
    if deploying:
        fields.append("updated_at")
    record.save(update_fields=fields)
    action = "deploy" if deploying else "delete"
    audit.settle(
        action, namespace=record.namespace, name=record.name, outcome=outcome, message=message
    )


def _replay(
    submission: DeploymentSubmission, digest: str, session: ClusterSession
) -> DeploymentSubmission:
    """The first outcome of a submission, for a repeated request with the same key."""
    if submission.request_hash and submission.request_hash != digest:
        raise IdempotencyMismatch(submission)
    if submission.outcome == Outcome.UNKNOWN:
        return _finish(submission, session)
    if submission.outcome == Outcome.FAILED:
        raise DeploymentFailed(submission, None)
    submission.replayed = True
    return submission


def _finish(submission: DeploymentSubmission, session: ClusterSession) -> DeploymentSubmission:
    """A retry of an unconfirmed create: succeed when the DGD is there, else create it."""
    try:
        dgd = session.call(cluster.dgd_get, namespace=submission.namespace, name=submission.name)
    except cluster.NotFound:
        dgd = None
    except cluster.ClusterError as exc:
        raise DeploymentFailed(submission, exc) from exc
    if dgd is None:
        return _send(submission, session)
    _settle_with(submission, dgd)
    if submission.outcome == Outcome.FAILED:
        raise DeploymentFailed(submission, None)
    submission.replayed = True
    submission.created_object = dgd
    return submission


def _matches(actual: object, sent: object) -> bool:
    """Whether the cluster's object carries everything that was sent (it may add defaults)."""
    if isinstance(sent, dict):
        return isinstance(actual, dict) and all(
            _matches(actual.get(key), value) for key, value in sent.items()
        )
    if isinstance(sent, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(sent)
            and all(_matches(a, b) for a, b in zip(actual, sent, strict=True))
        )
    return actual == sent


def _settle_with(submission: DeploymentSubmission, dgd: dict) -> None:
    """Resolves an unconfirmed create against the DGD the cluster has under its name."""
    sent = submission.manifest
    meta = dgd.get("metadata") or {}
    if _matches(dgd.get("spec"), sent.get("spec")) and _matches(
        meta.get("labels") or {}, (sent.get("metadata") or {}).get("labels") or {}
    ):
        message = f"Created {submission.namespace}/{submission.name} (confirmed by reading it)."
        _record(submission, Outcome.SUCCEEDED, message)
    else:
        _record(
            submission,
            Outcome.FAILED,
            f"A different deployment named {submission.name} is in {submission.namespace}; "
            "this submission was not created.",
        )


def _settle_create(submission: DeploymentSubmission) -> bool:
    """Reads the DGD fresh and resolves the submission; whether it was created."""
    try:
        dgd = cluster.dgd_get(namespace=submission.namespace, name=submission.name)
    except cluster.ClusterError:
        return False
    _settle_with(submission, dgd)
    return submission.outcome == Outcome.SUCCEEDED


def resolve_unknown(*, namespace: str, name: str) -> None:
    """Settles unconfirmed creates and deletes of one deployment by reading the cluster."""
    submissions = list(
        DeploymentSubmission.objects.filter(namespace=namespace, name=name, outcome=Outcome.UNKNOWN)
    )
    deletions = list(
        DeploymentDeletion.objects.filter(namespace=namespace, name=name, outcome=Outcome.UNKNOWN)
    )
    if not submissions and not deletions:
        return
    try:
        dgd = selectors.dgd_named(namespace=namespace, name=name)
    except cluster.ClusterError:
        return  # still unknown; the next view tries again
    now = timezone.now()
    for submission in submissions:
        if dgd is not None:
            _settle_with(submission, dgd)
        elif (now - submission.updated_at).total_seconds() > SETTLE_SECONDS:
            _record(
                submission,
                Outcome.FAILED,
                f"{submission.namespace}/{submission.name} was not created: the cluster did "
                "not confirm it and does not have it.",
            )
    for deletion in deletions:
        if dgd is None or (dgd.get("metadata") or {}).get("deletionTimestamp"):
            _record(deletion, Outcome.SUCCEEDED, "Deleted (confirmed by reading the cluster).")
        elif (now - deletion.created_at).total_seconds() > SETTLE_SECONDS:
            _record(deletion, Outcome.FAILED, "The cluster still has it: it was not deleted.")


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


class DeleteUnconfirmed(Exception):
    """The delete was sent but the cluster did not answer; the record's outcome is unknown."""

    def __init__(self, record: DeploymentDeletion, error: cluster.ClusterError):
        super().__init__(record.message)
        self.record, self.error = record, error


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
    Raises InvalidRequest for a name no Kubernetes object can have, ClusterError, after
    recording it, when the cluster refuses or does not confirm (the outcome is then unknown
    until the cluster is read, or the delete is repeated).
    """
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidRequest({"name": [f"Use at most {MAX_NAME_LENGTH} characters."]})
    require(user, Action.DELETE, namespace, name=name)
    who = user if user is not None and user.is_authenticated else None
    try:
        target = deletion_target(namespace=namespace, name=name)
    except cluster.NotFound as exc:
        unconfirmed = _unconfirmed_deletion(namespace, name)
        if unconfirmed is not None:
            return unconfirmed  # a repeated delete finds it gone: the first one did its job
        DeploymentDeletion.objects.create(
            user=who, namespace=namespace, name=name, outcome=Outcome.FAILED, message=exc.message
        )
        raise
    except cluster.ClusterError as exc:
        DeploymentDeletion.objects.create(
            user=who, namespace=namespace, name=name, outcome=Outcome.FAILED, message=exc.message
        )
        raise
    if (target.manifest.get("metadata") or {}).get("deletionTimestamp"):
        unconfirmed = _unconfirmed_deletion(namespace, name)
        if unconfirmed is not None:
            return unconfirmed
    if confirmation is not None and target.ready and confirmation.strip() != name:
        raise ConfirmationRequired(f'Type "{name}" to delete this Ready deployment.')
    record = DeploymentDeletion.objects.create(
        user=who, namespace=namespace, name=name, manifest=target.manifest
    )
    audit.begin(None, "delete", namespace=namespace, name=name)
    try:
        deleted = cluster.dgd_delete(namespace=namespace, name=name)
    except cluster.Unreachable as exc:
        _record(record, Outcome.UNKNOWN, _unconfirmed("delete", exc))
        raise DeleteUnconfirmed(record, exc) from exc
    except cluster.ClusterError as exc:
        _record(record, Outcome.FAILED, exc.message)
        raise
    _record(record, Outcome.SUCCEEDED, "")
    mirror.written(deleted, namespace=namespace, name=name)
    return record


def _unconfirmed_deletion(namespace: str, name: str) -> DeploymentDeletion | None:
    """An unconfirmed delete of this deployment, settled as done (the DGD is gone or going)."""
    record = DeploymentDeletion.objects.filter(
        namespace=namespace, name=name, outcome=Outcome.UNKNOWN
    ).first()
    if record is not None:
        _record(record, Outcome.SUCCEEDED, "Deleted (confirmed by reading the cluster).")
    return record


# --- restarting -----------------------------------------------------------------------------


def restart_choices(*, namespace: str, name: str) -> list[Choice]:
    """What the restart dialog offers: the whole deployment, then each component, in words."""
    dgd = cluster.dgd_get(namespace=namespace, name=name)
    return choices_for(dgd, _restart_crd())


def _restart_crd() -> dict | None:
    """The cluster's DGD CRD, which says whether spec.restart exists; None when unknown."""
    try:
        return selectors.dgd_target()[1]
    except cluster.ClusterError:
        return None


def deployment_restart(
    *, user: AbstractBaseUser | None, namespace: str, name: str, components: list[str] | None
) -> RestartPlan:
    """Restarts the deployment, or the chosen components, without changing its configuration.

    The DGD is read afresh and patched with its resourceVersion as a precondition, so a change
    made meanwhile is refused (cluster.Conflict, nothing written) instead of overwritten.
    Raises RestartRefused (no such component, being deleted), cluster.NotFound and the
    other ClusterErrors with a message a person can act on.
    """
    require(user, Action.RESTART, namespace, name=name)
    dgd = cluster.dgd_get(namespace=namespace, name=name)
    plan = restart_plan(dgd, chosen=components, crd=_restart_crd(), now=timezone.now())
    version = dgd["apiVersion"].rsplit("/", 1)[-1]
    summary = f"{plan.method}: {', '.join(plan.components)}"
    entry = audit.begin(None, "restart", namespace=namespace, name=name, summary=summary)
    try:
        after = cluster.dgd_merge_patch(
            namespace=namespace, name=name, version=version, patch=plan.patch
        )
    except cluster.ClusterError as exc:
        audit.complete(entry, AuditOutcome.FAILED, exc.message)
        _restart_failed(exc, name)
    audit.complete(entry, AuditOutcome.SUCCEEDED)
    revision_record_restart(before=dgd, after=after, user=user, message=plan.summary)
    who = user.get_username() if user is not None and user.is_authenticated else "-"
    logger.info(
        "restart namespace=%s name=%s method=%s components=%s user=%s",
        namespace,
        name,
        plan.method,
        ",".join(plan.components),
        who,
    )
    mirror.written(after)
    return plan


def _restart_failed(exc: cluster.ClusterError, name: str) -> NoReturn:
    """Re-raises a failed restart with what the person should do next."""
    if isinstance(exc, cluster.Conflict):
        raise cluster.Conflict(
            f"{name} changed on the cluster while the restart was being sent, so nothing was "
            f"restarted. Look at the deployment again and restart it once more. ({exc.message})"
        ) from exc
    if isinstance(exc, cluster.Unreachable):
        raise cluster.Unreachable(
            f"The restart of {name} was sent but the cluster did not confirm it: reload the "
            f"deployment to see whether its pods restart before asking again. {exc.message}",
            answered=exc.answered,
        ) from exc
    raise exc


# --- adopting -------------------------------------------------------------------------------


def deployment_adopt(*, user: AbstractBaseUser | None, namespace: str, name: str) -> bool:
    """Labels a DGD created outside Dynamote as managed by Dynamote; False if it already is.

    A merge patch with the resourceVersion read as a precondition: a DGD changed meanwhile is
    refused (cluster.Conflict, nothing written). Audited as "adopt".
    """
    require(user, Action.EDIT, namespace, name=name)
    dgd = cluster.dgd_get(namespace=namespace, name=name)
    meta = dgd.get("metadata") or {}
    if (meta.get("labels") or {}).get(MANAGED_BY_LABEL) == MANAGED_BY:
        return False
    patch = {
        "metadata": {
            "resourceVersion": meta.get("resourceVersion"),
            "labels": {MANAGED_BY_LABEL: MANAGED_BY},
        }
    }
    version = dgd["apiVersion"].rsplit("/", 1)[-1]
    summary = f"label {MANAGED_BY_LABEL}={MANAGED_BY}"
    entry = audit.begin(None, "adopt", namespace=namespace, name=name, summary=summary)
    try:
        patched = cluster.dgd_merge_patch(
            namespace=namespace, name=name, version=version, patch=patch
        )
    except cluster.Conflict as exc:
        audit.complete(entry, AuditOutcome.FAILED, exc.message)
        raise cluster.Conflict(
            f"{name} changed on the cluster while it was being adopted, so nothing was written. "
            f"Look at it again and adopt it once more. ({exc.message})"
        ) from exc
    except cluster.ClusterError as exc:
        audit.complete(entry, AuditOutcome.FAILED, exc.message)
        raise
    audit.complete(entry, AuditOutcome.SUCCEEDED)
    mirror.written(patched)
    return True
