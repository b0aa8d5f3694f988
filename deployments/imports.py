"""Importing a DynamoGraphDeployment manifest as YAML: parsed, checked, reviewed, then applied.

A manifest naming a deployment that exists is applied like an edit (its spec, with the
`resourceVersion` read, the same diff and summary, stored as a revision); one that does not
exist is created. Before anything is sent: one document, of kind DynamoGraphDeployment, in a
namespace Dynamote may use and the person may deploy to, valid against the cluster's CRD, with
Secrets and images inside the allow-lists; then the cluster's own dry-run.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

import yaml
from django.conf import settings

from access import audit
from access.models import Outcome as AuditOutcome
from access.models import Role
from access.policy import allowed_secrets
from access.roles import Action, require, role_in
from deployments import changes, cluster, crd, mirror, revisions, selectors
from deployments.export import git_ready
from deployments.models import Revision
from deployments.names import NAME_RULE, is_name

logger = logging.getLogger("dynamote.imports")

GROUP = "nvidia.com"
KIND = "DynamoGraphDeployment"
VERSIONS = ("v1beta1", "v1alpha1")
# The form's text area: messages about the text as a whole are filed under it.
TEXT = "yaml"
MAX_BYTES = 1_000_000
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


class ImportRefused(Exception):
    """The manifest cannot be imported as it is: messages per field path (or "yaml")."""

    def __init__(
        self, message: str, fields: dict[str, list[str]] | None = None, *, status: int = 400
    ):
        super().__init__(message)
        self.message, self.status = message, status
        self.fields = fields or {TEXT: [message]}


def is_yaml(content_type: str) -> bool:
    """Whether a request's Content-Type says its body is YAML."""
    return content_type.split(";", 1)[0].strip().lower() in YAML_TYPES


@dataclass
class Manifest:
    """A parsed manifest: the DGD to send, and the resourceVersion it names (if any)."""

    body: dict
    resource_version: str = ""

    @property
    def namespace(self) -> str:
        return self.body["metadata"]["namespace"]

    @property
    def name(self) -> str:
        return self.body["metadata"]["name"]

    @property
    def version(self) -> str:
        return self.body["apiVersion"].rpartition("/")[2]


MAX_ALIASES = 100


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, with few aliases: nested aliases expand exponentially."""

    def __init__(self, stream):
        super().__init__(stream)
        self.aliases = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"more than {MAX_ALIASES} aliases (*name); write the values out",
                    self.peek_event().start_mark,
                )
        return super().compose_node(parent, index)


def parse(text: str, *, default_namespace: str | None = None) -> Manifest:
    """One DGD from YAML text; ImportRefused with the line and column of a syntax error."""
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise ImportRefused(f"The manifest is larger than {MAX_BYTES // 1000} kB.")
    if not text.strip():
        raise ImportRefused("Paste or upload a DynamoGraphDeployment manifest.")
    try:
        documents = [d for d in yaml.load_all(text, Loader=_Loader) if d is not None]
    except yaml.YAMLError as exc:
        raise ImportRefused(_yaml_error(exc)) from exc
    if not documents:
        raise ImportRefused("The text holds no YAML object: paste a DynamoGraphDeployment.")
    if len(documents) > 1:
        raise ImportRefused(
            f"The text holds {len(documents)} YAML documents: import one DynamoGraphDeployment "
            "at a time (remove the other documents and their --- separators)."
        )
    body = documents[0]
    if not isinstance(body, dict):
        raise ImportRefused(
            "The YAML is not a Kubernetes object: it needs apiVersion, kind, metadata and spec."
        )
    _check_kind(body)
    meta = body.get("metadata")
    if not isinstance(meta, dict):
        raise ImportRefused("metadata is missing.", {"metadata": ["Give metadata.name."]})
    name = meta.get("name")
    if not isinstance(name, str) or not is_name(name):
        message = f"metadata.name {name!r} is not a valid name: {NAME_RULE}"
        raise ImportRefused(message, {"metadata.name": [message]})
    namespace = meta.get("namespace") or default_namespace or settings.DYNAMOTE_DEFAULT_NAMESPACE
    if not isinstance(namespace, str) or not selectors.valid_namespace(namespace):
        allowed = ", ".join(settings.DYNAMOTE_NAMESPACES)
        message = f"Dynamote may not use namespace {namespace!r}" + (
            f": choose one of {allowed} (DYNAMOTE_NAMESPACES)." if allowed else "."
        )
        raise ImportRefused(message, {"metadata.namespace": [message]})
    if not isinstance(body.get("spec"), dict):
        raise ImportRefused("spec is missing or not an object.", {"spec": ["Give the spec."]})
    resource_version = str(meta.get("resourceVersion") or "")
    clean = git_ready(body)
    clean["metadata"]["namespace"] = namespace
    return Manifest(clean, resource_version)


def _yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is None:
        return f"The YAML is not valid: {problem}."
    return f"The YAML is not valid at line {mark.line + 1}, column {mark.column + 1}: {problem}."


def _check_kind(body: dict) -> None:
    api_version, kind = str(body.get("apiVersion") or ""), str(body.get("kind") or "")
    group, _, version = api_version.rpartition("/")
    if kind != KIND or group != GROUP:
        what = f"a {kind or 'object without a kind'} ({api_version or 'no apiVersion'})"
        message = (
            f"This is {what}: Dynamote imports only DynamoGraphDeployments "
            f"({GROUP}/{' or '.join(VERSIONS)})."
        )
        raise ImportRefused(message, {"kind": [message]})
    if version not in VERSIONS:
        message = f"Dynamote imports {GROUP}/{' or '.join(VERSIONS)}, not {api_version}."
        raise ImportRefused(message, {"apiVersion": [message]})


# --- checks ------------------------------------------------------------------------------------


def _references(value, path: str = "spec") -> Iterator[tuple[str, str, str]]:
    """(path, "image" or "secret", value) for each image and Secret the spec references."""
    if isinstance(value, dict):
        for key, child in value.items():
            here = f"{path}.{key}"
            if key == "image" and isinstance(child, str):
                yield here, "image", child
            elif key == "envFromSecret" and isinstance(child, str):
                yield here, "secret", child
            elif key in ("secretRef", "secretKeyRef") and isinstance(child, dict):
                if isinstance(child.get("name"), str):
                    yield f"{here}.name", "secret", child["name"]
            elif key == "secret" and isinstance(child, dict):
                if isinstance(child.get("secretName"), str):
                    yield f"{here}.secretName", "secret", child["secretName"]
            elif key == "imagePullSecrets" and isinstance(child, list):
                for i, item in enumerate(child):
                    if isinstance(item, dict) and isinstance(item.get("name"), str):
                        yield f"{here}[{i}].name", "secret", item["name"]
            else:
                yield from _references(child, here)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _references(item, f"{path}[{i}]")


def reference_errors(user, manifest: Manifest) -> dict[str, list[str]]:
    """Secrets and images outside the allow-lists (an Admin in the namespace may use any)."""
    namespace = manifest.namespace
    if role_in(user, namespace) is Role.ADMIN:
        return {}
    secrets = allowed_secrets(namespace)
    prefixes = tuple(settings.DYNAMOTE_ALLOWED_IMAGE_PREFIXES)
    errors: dict[str, list[str]] = {}
    for path, kind, value in _references(manifest.body.get("spec")):
        if kind == "secret" and value not in secrets:
            errors.setdefault(path, []).append(
                f"Deployers may reference only these Secrets in namespace {namespace}: "
                f"{', '.join(secrets) or 'none'}. Ask an admin to allow {value!r} "
                "(DYNAMOTE_ALLOWED_SECRETS)."
            )
        elif kind == "image" and not value.startswith(prefixes):
            errors.setdefault(path, []).append(
                f"Deployers may run only images under {', '.join(prefixes)}; {value} is not. "
                "Ask an admin to allow this registry (DYNAMOTE_ALLOWED_IMAGE_PREFIXES)."
            )
    return errors


def schema_errors(manifest: Manifest) -> dict[str, list[str]]:
    """Where the manifest breaks the cluster's CRD, by field path."""
    try:
        _, served = selectors.dgd_target()
    except cluster.ClusterError:
        served = crd.compact_crd()  # the server's dry-run still checks it against the cluster
    if manifest.version not in crd.served_versions(served):
        message = (
            f"The cluster does not serve DynamoGraphDeployment {manifest.version}: use "
            f"{' or '.join(crd.served_versions(served))}."
        )
        return {"apiVersion": [message]}
    errors: dict[str, list[str]] = {}
    for path, message in crd.field_errors(
        crd.version_schema(served, manifest.version), manifest.body
    ):
        errors.setdefault(path, []).append(message)
    return errors


def _check(user, manifest: Manifest) -> None:
    """Role, allow-lists and CRD; AccessDenied or ImportRefused before anything is sent."""
    require(user, Action.IMPORT, manifest.namespace, name=manifest.name)
    refused = reference_errors(user, manifest)
    if refused:
        message = " ".join(m for messages in refused.values() for m in messages)
        audit.refused(None, "import", message, namespace=manifest.namespace, name=manifest.name)
        raise ImportRefused("The manifest references what Deployers may not use.", refused)
    invalid = schema_errors(manifest)
    if invalid:
        raise ImportRefused(
            "The cluster's DynamoGraphDeployment schema refuses some fields; see each path.",
            invalid,
        )


def _cluster_refusal(exc: cluster.ClusterError) -> ImportRefused | None:
    """A refusal of the manifest by the cluster as field messages; None for other failures."""
    if not isinstance(exc, cluster.Invalid):
        return None
    fields: dict[str, list[str]] = {}
    for cause in getattr(exc, "causes", None) or []:
        fields.setdefault(cause.field or TEXT, []).append(cause.message)
    return ImportRefused(exc.message, fields or None, status=exc.status)


# --- preview and apply -------------------------------------------------------------------------


@dataclass
class ImportPreview:
    """What importing the manifest does: creates a deployment, or changes one (`change`)."""

    manifest: Manifest
    change: changes.Preview | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def creates(self) -> bool:
        return self.change is None

    @property
    def changed(self) -> bool:
        return self.creates or self.change.changed

    @property
    def resource_version(self) -> str:
        return self.change.resource_version if self.change else ""

    @property
    def summary(self) -> list[str]:
        if self.change is not None:
            return self.change.summary.sentences
        items = revisions.components(self.manifest.body["spec"])
        pods = sum(revisions.replicas_of(item) for item in items.values())
        return [
            f"{self.manifest.name} does not exist in namespace {self.manifest.namespace}: "
            f"importing creates it ({len(items)} component{'s' if len(items) != 1 else ''}, "
            f"{pods} pod{'s' if pods != 1 else ''})"
        ]

    @property
    def diff(self) -> str:
        if self.change is not None:
            return self.change.diff
        return revisions.spec_diff({}, self.manifest.body["spec"], old_label="nothing")

    @property
    def diff_lines(self) -> list[revisions.DiffLine]:
        return revisions.diff_lines(self.diff)

    def as_json(self) -> dict:
        base = {
            "namespace": self.manifest.namespace,
            "name": self.manifest.name,
            "creates": self.creates,
            "diff": self.diff,
            "summary": self.summary,
        }
        if self.change is not None:
            base.update(
                restarts=self.change.summary.restarts,
                resourceVersion=self.change.resource_version,
            )
        return base


def _live(manifest: Manifest) -> dict | None:
    try:
        return cluster.dgd_get(namespace=manifest.namespace, name=manifest.name)
    except cluster.NotFound:
        return None


def _replacement(live: dict, spec: dict) -> dict:
    """The live object with the new spec: its metadata (labels, version read) kept."""
    body = {**copy.deepcopy(live), "spec": spec}
    body.pop("status", None)
    body["metadata"].pop("managedFields", None)
    return body


def _change(manifest: Manifest, live: dict) -> changes.Preview:
    live_version = (live.get("apiVersion") or "").rpartition("/")[2]
    if live_version != manifest.version:
        message = (
            f"{manifest.name} is read as {GROUP}/{live_version} on this cluster: import it in "
            f"that version (the manifest for Git on its page is), not {manifest.version}."
        )
        raise ImportRefused(message, {"apiVersion": [message]})
    return changes.spec_preview(
        namespace=manifest.namespace,
        name=manifest.name,
        spec=manifest.body["spec"],
        action="import",
        dgd=live,
    )


def import_preview(*, user, manifest: Manifest) -> ImportPreview:
    """Checks the manifest (role, allow-lists, CRD, the cluster's dry-run) and says what it does.

    Raises AccessDenied, ImportRefused, ClusterError (the cluster cannot be asked).
    """
    _check(user, manifest)
    live = _live(manifest)
    try:
        if live is None:
            cluster.dgd_create(manifest=manifest.body, dry_run=True)
            return ImportPreview(manifest)
        change = _change(manifest, live)
        if change.changed:
            cluster.dgd_replace(manifest=_replacement(live, change.spec), dry_run=True)
        return ImportPreview(manifest, change)
    except cluster.ClusterError as exc:
        raise _cluster_refusal(exc) or exc from exc


def deployment_import(
    *, user, manifest: Manifest, resource_version: str | None = None, note: str = ""
) -> tuple[ImportPreview, Revision | None]:
    """Creates the DGD, or applies its spec with the resourceVersion read (as an edit).

    `resource_version` is the version reviewed ("" when the deployment did not exist then):
    a deployment changed or created meanwhile raises changes.Stale with the newer diff.
    """
    _check(user, manifest)
    wanted = resource_version if resource_version is not None else manifest.resource_version
    live = _live(manifest)
    if live is None:
        if wanted:
            raise cluster.NotFound(
                f"{manifest.name} was deleted since you reviewed it: nothing was applied."
            )
        return ImportPreview(manifest), _create(user, manifest, note)
    if resource_version == "":
        # Reviewed as a new deployment, but someone created it meanwhile: show that diff.
        raise changes.Stale(_change(manifest, live))
    _change(manifest, live)  # the same version checks as the review
    try:
        preview, revision = changes.deployment_change_spec(
            user=user,
            namespace=manifest.namespace,
            name=manifest.name,
            spec=manifest.body["spec"],
            action="import",
            resource_version=wanted or None,
            note=note,
        )
    except cluster.ClusterError as exc:
        raise _cluster_refusal(exc) or exc from exc
    return ImportPreview(manifest, preview), revision


def _create(user, manifest: Manifest, note: str) -> Revision | None:
    namespace, name = manifest.namespace, manifest.name
    entry = audit.begin(
        None,
        "import",
        namespace=namespace,
        name=name,
        summary=f"Created {name} from a {manifest.version} manifest.",
        diff=revisions.spec_diff({}, manifest.body["spec"], old_label="nothing"),
    )
    try:
        created = cluster.dgd_create(manifest=manifest.body)
    except cluster.Conflict as exc:
        audit.complete(entry, AuditOutcome.FAILED, exc.message)
        live = _live(manifest)
        if live is not None:
            raise changes.Stale(_change(manifest, live)) from exc
        raise
    except cluster.ClusterError as exc:
        audit.complete(entry, AuditOutcome.FAILED, exc.message)
        raise _cluster_refusal(exc) or exc from exc
    mirror.written(created)
    audit.complete(entry, AuditOutcome.SUCCEEDED, f"{name} created.")
    logger.info("imported namespace=%s name=%s created", namespace, name)
    return changes.revision_record_import(dgd=created, user=user, note=note)
