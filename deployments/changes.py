"""Changing a running deployment: scale, edit, roll back; each change stored as a revision.

Every change is read-modify-write with optimistic concurrency: the DGD is read, the change is
computed against it, and applied with the `resourceVersion` read, so a change made meanwhile
(kubectl, another person) is never overwritten: the cluster answers 409 and the person sees
the newer version's diff.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from access import audit
from access.models import Outcome as AuditOutcome
from access.roles import Action, require
from deployments import cluster, mirror, restarts, revisions, selectors, sizing
from deployments.dgd import dgd_components, is_external
from deployments.models import DeploymentSubmission, Outcome, Revision

logger = logging.getLogger("dynamote.change")

MAX_REPLICAS = 64
NO_ROLLBACK_TO_RESTART = (
    "A restart changes no configuration, so there is nothing to roll back to: roll back to "
    "another revision, or restart again."
)


class ChangeRefused(Exception):
    """The change cannot be made as asked: messages per field."""

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message, self.fields = message, fields or {}


class Stale(Exception):
    """The deployment changed since it was read: nothing was applied.

    `preview` is the same change computed against the newer version, for the person to review.
    """

    def __init__(self, preview: Preview):
        super().__init__(
            f"{preview.name} changed since you read it (it is now at version "
            f"{preview.resource_version}): nothing was applied. Review the change against the "
            "newer version and apply again."
        )
        self.message = str(self)
        self.preview = preview


def _who(user):
    return user if getattr(user, "is_authenticated", False) else None


def _meta(dgd: dict) -> dict:
    return dgd.get("metadata") or {}


# --- revisions --------------------------------------------------------------------------------


def revision_list(*, namespace: str, name: str, uid: str | None = None) -> list[Revision]:
    """The revisions of a deployment, newest first (of the DGD with `uid` when given)."""
    found = Revision.objects.filter(namespace=namespace, name=name).select_related("user")
    if uid is not None:
        found = found.filter(uid=uid)
    return list(found)


def revision_get(*, namespace: str, name: str, number: int, uid: str | None = None) -> Revision:
    """One revision; Revision.DoesNotExist when there is none with that number."""
    found = Revision.objects.filter(namespace=namespace, name=name, number=number)
    if uid is not None:
        found = found.filter(uid=uid)
    revision = found.select_related("user").first()
    if revision is None:
        raise Revision.DoesNotExist(f"{name} has no revision {number}.")
    return revision


def _latest(namespace: str, name: str, uid: str) -> Revision | None:
    return Revision.objects.filter(namespace=namespace, name=name, uid=uid).first()


def _store(
    *,
    dgd: dict,
    spec: dict,
    action: str,
    user=None,
    note: str = "",
    source: str = Revision.Source.DYNAMOTE,
    outcome: str = Outcome.SUCCEEDED,
    message: str = "",
    generation: int | None = None,
) -> Revision | None:
    """Stores the next revision of the DGD; None when another request stored it first."""
    meta = _meta(dgd)
    namespace, name, uid = meta.get("namespace", ""), meta.get("name", ""), meta.get("uid", "")
    latest = _latest(namespace, name, uid)
    previous = latest.spec if latest else {}
    summary = revisions.summarize(previous, spec) if latest else None
    try:
        with transaction.atomic():
            return Revision.objects.create(
                namespace=namespace,
                name=name,
                uid=uid,
                number=(latest.number + 1) if latest else 1,
                user=_who(user),
                note=note[:200],
                action=action,
                api_version=dgd.get("apiVersion", "").split("/")[-1],
                spec=spec,
                diff=revisions.spec_diff(
                    previous,
                    spec,
                    old_label=f"revision {latest.number}" if latest else "nothing",
                    new_label="this revision",
                ),
                summary=summary.sentences if summary else [],
                outcome=outcome,
                message=message,
                source=source,
                generation=generation,
            )
    except IntegrityError:
        return None


def revision_record_create(*, submission: DeploymentSubmission, created: dict) -> None:
    """Revision 1 of a deployment Dynamote just created."""
    _store(
        dgd=created,
        spec=created.get("spec") or {},
        action="create",
        user=submission.user,
        message=submission.message,
        generation=_meta(created).get("generation"),
    )


def revision_record_import(*, dgd: dict, user, note: str = "") -> Revision | None:
    """Revision 1 of a deployment Dynamote just created from an imported manifest."""
    return _store(
        dgd=dgd,
        spec=dgd.get("spec") or {},
        action="import",
        user=user,
        note=note,
        generation=_meta(dgd).get("generation"),
    )


def revision_record_restart(*, before: dict, after: dict, user, message: str) -> Revision | None:
    """A restart as a revision: the spec it left (the restart id or annotation), its outcome.

    The DGD before the restart is observed first, so a change made outside Dynamote until
    then is its own revision and not mistaken for part of the restart.
    """
    revisions_observe(dgd=before)
    return _store(
        dgd=after,
        spec=after.get("spec") or {},
        action="restart",
        user=user,
        message=message,
        generation=_meta(after).get("generation"),
    )


def revisions_observe(*, dgd: dict) -> Revision | None:
    """The latest revision, after storing the live spec as one when Dynamote has not seen it.

    A `metadata.generation` no revision produced is a change made outside Dynamote; a DGD
    Dynamote never stored (created with kubectl, or before revisions) starts at revision 1.
    """
    meta = _meta(dgd)
    if meta.get("deletionTimestamp"):
        return None
    namespace, name, uid = meta.get("namespace", ""), meta.get("name", ""), meta.get("uid", "")
    generation = meta.get("generation")
    spec = dgd.get("spec") or {}
    latest = _latest(namespace, name, uid)
    if latest is not None:
        if latest.generation is not None and (generation or 0) <= latest.generation:
            return latest  # seen already (or an older copy from a cache)
        if latest.spec == spec:
            # Dynamote's own change, settled by the operator (a scaling adapter's replicas).
            latest.generation = generation
            latest.save(update_fields=["generation"])
            return latest
        return _store(
            dgd=dgd,
            spec=spec,
            action="seen",
            source=Revision.Source.OUTSIDE,
            generation=generation,
        ) or _latest(namespace, name, uid)
    created = selectors.deployed_submission(namespace=namespace, name=name)
    ours = created is not None and not is_external(dgd) and generation == 1
    return _store(
        dgd=dgd,
        spec=spec,
        action="create" if ours else "seen",
        user=created.user if ours else None,
        source=Revision.Source.DYNAMOTE if ours else Revision.Source.OUTSIDE,
        generation=generation,
    ) or _latest(namespace, name, uid)


def operate_panel(detail) -> dict:
    """What the details page's scale and revisions panels show (stores an outside change)."""
    if detail is None or not detail.dgd:
        return {}
    latest = revisions_observe(dgd=detail.dgd)
    meta = _meta(detail.dgd)
    items = revisions.components(detail.dgd.get("spec") or {})
    scalable = [
        {
            **component,
            "adapter": revisions.adapter_name(detail.name, component["name"])
            if revisions.has_adapter(items.get(component["name"], {}))
            else "",
        }
        for component in detail.components
    ]
    history = revision_list(namespace=detail.namespace, name=detail.name, uid=meta.get("uid"))
    outside = latest is not None and latest.outside and latest.number > 1
    return {
        "scalable": scalable,
        "resource_version": meta.get("resourceVersion", ""),
        "history": history[:20],
        "changed_outside": latest if outside else None,
        "scale_progress": _scale_progress(detail, history),
    }


def _scale_progress(detail, history: list[Revision]) -> list[restarts.ScaleProgress]:
    """The components the latest revision scaled, while their pods have not settled."""
    if len(history) < 2 or history[0].action != "scale":
        return []
    now, before = (revisions.components(r.spec) for r in history[:2])
    scaled = {
        name: revisions.replicas_of(before[name])
        for name, item in now.items()
        if name in before and revisions.replicas_of(item) != revisions.replicas_of(before[name])
    }
    rows = restarts.scale_progress(detail.dgd, detail.pods, scaled)
    return rows if any(not row.settled for row in rows) else []


# --- previews ----------------------------------------------------------------------------------


@dataclass
class Preview:
    """A change computed against the live DGD, before anything is applied."""

    namespace: str
    name: str
    dgd: dict
    spec: dict  # the spec after the change
    action: str
    diff: str
    summary: revisions.Summary
    # Component -> the DGDSA that owns its replicas (scaled through it, not the DGD).
    adapters: dict[str, str] = field(default_factory=dict)
    replicas: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # Components this change scales to zero: applied only once the person confirms.
    to_zero: list[str] = field(default_factory=list)

    @property
    def resource_version(self) -> str:
        return _meta(self.dgd).get("resourceVersion", "")

    @property
    def changed(self) -> bool:
        return bool(self.diff)

    @property
    def diff_lines(self) -> list[revisions.DiffLine]:
        return revisions.diff_lines(self.diff)

    def as_json(self) -> dict:
        return {
            "diff": self.diff,
            "restarts": self.summary.restarts,
            "summary": self.summary.sentences,
            "warnings": self.warnings,
            "resourceVersion": self.resource_version,
            "scaledThrough": {
                name: f"DynamoGraphDeploymentScalingAdapter {adapter}"
                for name, adapter in self.adapters.items()
            },
        }


def _read(namespace: str, name: str) -> dict:
    """The DGD as it is now, uncached (a change must start from the live version)."""
    return cluster.dgd_get(namespace=namespace, name=name)


def _check_version(dgd: dict, resource_version: str | None, preview: Preview) -> None:
    if resource_version and resource_version != _meta(dgd).get("resourceVersion"):
        raise Stale(preview)


def _preview(dgd: dict, spec: dict, action: str, **extra) -> Preview:
    meta = _meta(dgd)
    live = dgd.get("spec") or {}
    return Preview(
        namespace=meta.get("namespace", ""),
        name=meta.get("name", ""),
        dgd=dgd,
        spec=spec,
        action=action,
        diff=revisions.spec_diff(live, spec, old_label="live", new_label=action),
        summary=revisions.summarize(live, spec),
        **extra,
    )


def _clean_replicas(dgd: dict, replicas: dict) -> dict[str, int]:
    items = revisions.components(dgd.get("spec") or {})
    errors: dict[str, list[str]] = {}
    clean: dict[str, int] = {}
    if not isinstance(replicas, dict) or not replicas:
        raise ChangeRefused(
            'Give the replicas per component, e.g. {"decode": 2}.',
            {"replicas": ["Give at least one component and its replicas."]},
        )
    for component, value in replicas.items():
        key = f"replicas.{component}"
        if component not in items:
            errors[key] = [
                f"{_meta(dgd).get('name')} has no component {component!r}: "
                f"choose one of {', '.join(items)}."
            ]
            continue
        try:
            count = int(value)
            if isinstance(value, bool) or str(value).strip() != str(count):
                raise ValueError
        except (TypeError, ValueError):
            errors[key] = ["Give a whole number of replicas."]
            continue
        if not 0 <= count <= MAX_REPLICAS:
            errors[key] = [f"Give between 0 and {MAX_REPLICAS} replicas."]
            continue
        clean[component] = count
    if errors:
        raise ChangeRefused("Some replicas are not valid.", errors)
    return clean


def scale_preview(
    *,
    namespace: str,
    name: str,
    replicas: dict,
    dgd: dict | None = None,
    check_gpus: bool = True,
) -> Preview:
    """What scaling components to these replicas does, with the GPU fit of the pods added.

    Applying does not check the GPUs again: a slow node list must not hold up the change.
    """
    dgd = dgd if dgd is not None else _read(namespace, name)
    wanted = _clean_replicas(dgd, replicas)
    live = dgd.get("spec") or {}
    items = revisions.components(live)
    changed = {c: n for c, n in wanted.items() if revisions.replicas_of(items[c]) != n}
    spec = revisions.with_replicas(live, changed)
    adapters = {
        c: revisions.adapter_name(name, c) for c in changed if revisions.has_adapter(items[c])
    }
    preview = _preview(
        dgd,
        spec,
        "scale",
        adapters=adapters,
        replicas=changed,
        to_zero=[c for c, n in changed.items() if n == 0],
    )
    if check_gpus:
        preview.warnings = _gpu_warnings(dgd, changed)
    return preview


def _gpu_warnings(dgd: dict, changed: dict[str, int]) -> list[str]:
    """For each component scaled up: whether the free GPUs hold its new pods."""
    per_pod = {c["name"]: c["gpus"] for c in dgd_components(dgd)}
    items = revisions.components(dgd.get("spec") or {})
    ups = [
        (c, n - revisions.replicas_of(items[c]))
        for c, n in changed.items()
        if n > revisions.replicas_of(items[c]) and per_pod.get(c)
    ]
    if not ups:
        return []
    try:
        nodes = sizing.gpu_nodes(*selectors.gpu_usage())
    except cluster.ClusterError as exc:
        return [f"The free GPUs could not be checked: {exc.message}"]
    free = {node.name: node.free for node in nodes}
    warnings = []
    for component, added in ups:
        gpus = per_pod[component]
        need = added * gpus
        total = sum(free.values())
        placed = 0
        for node in sorted(free, key=lambda n: -free[n]):
            fits = min(free[node] // gpus, added - placed)
            free[node] -= fits * gpus
            placed += fits
        who = revisions.label(component, items[component])
        pending = added - placed
        head = (
            f"{added} more {who} need{'s' if added == 1 else ''} {_gpus(need)}; "
            f"{total} {'is' if total == 1 else 'are'} free"
        )
        if pending:
            warnings.append(f"{head}: {pending} will stay Pending.")
        else:
            warnings.append(f"{head}: they fit.")
    return warnings


def _gpus(count: int) -> str:
    return f"{count} GPU{'s' if count != 1 else ''}"


def spec_preview(*, namespace: str, name: str, spec: dict, action: str, dgd: dict | None = None):
    """What replacing the live spec by `spec` does (an edit or a rollback).

    Components whose replicas a scaling adapter owns keep their live replicas: the operator's
    webhook refuses any other value in the DGD.
    """
    dgd = dgd if dgd is not None else _read(namespace, name)
    live_items = revisions.components(dgd.get("spec") or {})
    spec = copy.deepcopy(spec)
    for component, item in revisions.components(spec).items():
        live = live_items.get(component)
        if live is not None and (revisions.has_adapter(live) or revisions.has_adapter(item)):
            item["replicas"] = revisions.replicas_of(live)
    return _preview(dgd, spec, action)


# --- applying ----------------------------------------------------------------------------------


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _replica_ops(dgd: dict, replicas: dict[str, int]) -> list[dict]:
    """JSON patch ops that set only these components' replicas (and nothing else)."""
    spec = dgd.get("spec") or {}
    ops: list[dict] = []
    if isinstance(spec.get("components"), list):
        index = {item.get("name"): i for i, item in enumerate(spec["components"])}
        for component, count in replicas.items():
            path = f"/spec/components/{index[component]}"
            # The list may have changed order meanwhile: the test makes the patch fail then.
            ops.append({"op": "test", "path": f"{path}/name", "value": component})
            ops.append({"op": "add", "path": f"{path}/replicas", "value": count})
    else:
        for component, count in replicas.items():
            ops.append(
                {
                    "op": "add",
                    "path": f"/spec/services/{_escape(component)}/replicas",
                    "value": count,
                }
            )
    return ops


def _version(dgd: dict) -> str:
    return dgd.get("apiVersion", "").split("/")[-1] or cluster.preferred_dgd_version()


def deployment_scale(
    *,
    user,
    namespace: str,
    name: str,
    replicas: dict,
    resource_version: str | None = None,
    confirm_zero: bool = False,
    note: str = "",
) -> tuple[Preview, Revision | None]:
    """Scales components: their `replicas` only, so no other pod restarts.

    A component a scaling adapter owns is scaled through its DGDSA's scale subresource.
    Raises ChangeRefused (bad input, or scaling to zero without `confirm_zero`), Stale when the
    DGD changed since `resource_version`, ClusterError when the cluster refuses.
    """
    require(user, Action.SCALE, namespace, name=name)
    dgd = _read(namespace, name)
    revisions_observe(dgd=dgd)
    preview = scale_preview(
        namespace=namespace, name=name, replicas=replicas, dgd=dgd, check_gpus=False
    )
    _check_version(dgd, resource_version, preview)
    if not preview.replicas:
        return preview, None
    if preview.to_zero and not confirm_zero:
        raise ChangeRefused(
            f"Scaling {', '.join(preview.to_zero)} to 0 stops all its pods (the deployment and "
            "its settings stay): confirm to go ahead.",
            {f"replicas.{c}": ["Confirm scaling to 0."] for c in preview.to_zero},
        )
    direct = {c: n for c, n in preview.replicas.items() if c not in preview.adapters}
    generation = written = None
    entry = _audit_begin("scale", preview)
    try:
        if direct:
            ops = [
                {
                    "op": "add",
                    "path": "/metadata/resourceVersion",
                    "value": preview.resource_version,
                },
                *_replica_ops(dgd, direct),
            ]
            written = cluster.dgd_patch(
                namespace=namespace, name=name, version=_version(dgd), ops=ops
            )
            generation = _meta(written).get("generation")
        for component, adapter in preview.adapters.items():
            # The operator then scales the DGD: the mirror waits for a version after this.
            written = cluster.dgdsa_scale(
                namespace=namespace, name=adapter, replicas=preview.replicas[component]
            )
    except cluster.Conflict as exc:
        audit.complete(entry, AuditOutcome.FAILED, exc.message)
        raise Stale(scale_preview(namespace=namespace, name=name, replicas=replicas)) from exc
    except cluster.Invalid as exc:
        audit.complete(entry, AuditOutcome.FAILED, exc.message)
        if "test operation failed" in exc.message:
            raise Stale(scale_preview(namespace=namespace, name=name, replicas=replicas)) from exc
        raise
    except cluster.ClusterError as exc:
        audit.complete(entry, AuditOutcome.FAILED, exc.message)
        raise
    mirror.written(written, namespace=namespace, name=name)
    audit.complete(entry, AuditOutcome.SUCCEEDED, _through(preview))
    revision = _store(
        dgd=dgd,
        spec=preview.spec,
        action="scale",
        user=user,
        note=note,
        message=_through(preview),
        generation=generation if not preview.adapters else None,
    )
    logger.info("scaled namespace=%s name=%s replicas=%s", namespace, name, preview.replicas)
    return preview, revision


def _audit_begin(action: str, preview: Preview):
    """The audit entry of a change, appended before it is sent."""
    return audit.begin(
        None,
        action,
        namespace=preview.namespace,
        name=preview.name,
        summary=preview.summary.text,
        diff=preview.diff,
    )


def _through(preview: Preview) -> str:
    parts = []
    direct = [c for c in preview.replicas if c not in preview.adapters]
    if direct:
        parts.append(
            f"{', '.join(f'{c} to {preview.replicas[c]}' for c in direct)} through the "
            "DynamoGraphDeployment's replicas"
        )
    for component, adapter in preview.adapters.items():
        parts.append(
            f"{component} to {preview.replicas[component]} through the "
            f"DynamoGraphDeploymentScalingAdapter {adapter}"
        )
    return "Scaled " + "; ".join(parts) + "."


# Who may replace a spec, by what the replacement is.
_ACTIONS = {"rollback": Action.ROLLBACK, "import": Action.IMPORT}


def deployment_change_spec(
    *,
    user,
    namespace: str,
    name: str,
    spec: dict,
    action: str,
    resource_version: str | None = None,
    note: str = "",
    dry_run: bool = False,
) -> tuple[Preview, Revision | None]:
    """Replaces the DGD's spec (an edit or a rollback) with the resourceVersion read.

    Raises Stale when the DGD changed since `resource_version` (or during the call),
    ClusterError when the cluster refuses (nothing is stored then).
    """
    require(user, _ACTIONS.get(action, Action.EDIT), namespace, name=name)
    dgd = _read(namespace, name)
    revisions_observe(dgd=dgd)
    preview = spec_preview(namespace=namespace, name=name, spec=spec, action=action, dgd=dgd)
    _check_version(dgd, resource_version, preview)
    if dry_run or not preview.changed:
        return preview, None
    manifest = {**copy.deepcopy(dgd), "spec": preview.spec}
    manifest.pop("status", None)
    manifest["metadata"].pop("managedFields", None)
    entry = _audit_begin(action, preview)
    try:
        cluster.dgd_replace(manifest=manifest, dry_run=True)
        replaced = cluster.dgd_replace(manifest=manifest)
    except cluster.Conflict as exc:
        audit.complete(entry, AuditOutcome.FAILED, exc.message)
        raise Stale(spec_preview(namespace=namespace, name=name, spec=spec, action=action)) from exc
    except cluster.ClusterError as exc:
        audit.complete(entry, AuditOutcome.FAILED, exc.message)
        raise
    mirror.written(replaced)
    audit.complete(entry, AuditOutcome.SUCCEEDED, preview.summary.text)
    revision = _store(
        dgd=dgd,
        spec=replaced.get("spec") or preview.spec,
        action=action,
        user=user,
        note=note,
        generation=_meta(replaced).get("generation"),
    )
    logger.info("%s namespace=%s name=%s", action, namespace, name)
    return preview, revision


def deployment_rollback(
    *,
    user,
    namespace: str,
    name: str,
    number: int,
    resource_version: str | None = None,
    note: str = "",
    dry_run: bool = False,
) -> tuple[Preview, Revision | None]:
    """Applies revision `number`'s spec as a new revision (same checks as an edit)."""
    dgd = _read(namespace, name)
    target = revision_get(namespace=namespace, name=name, number=number, uid=_meta(dgd).get("uid"))
    if not target.can_roll_back:
        raise ChangeRefused(NO_ROLLBACK_TO_RESTART, {"revision": [NO_ROLLBACK_TO_RESTART]})
    return deployment_change_spec(
        user=user,
        namespace=namespace,
        name=name,
        spec=target.spec,
        action="rollback",
        resource_version=resource_version,
        note=note or f"Rolled back to revision {number}.",
        dry_run=dry_run,
    )
