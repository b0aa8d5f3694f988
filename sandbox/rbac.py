"""RBAC PolicyRule evaluation and the apiserver's Forbidden wording."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_USER = "system:serviceaccount:dynamote:dynamote"
ALLOW_ALL = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]


def rules_from_role(source: str | Path | dict | list) -> list[dict]:
    """The rules of every Role/ClusterRole in a YAML file, a document, or a list of documents."""
    if isinstance(source, str | Path):
        with open(source, encoding="utf-8") as handle:
            docs = [d for d in yaml.safe_load_all(handle) if d]
    elif isinstance(source, dict):
        docs = [source]
    else:
        docs = list(source)
    rules: list[dict] = []
    for doc in docs:
        if doc.get("kind") in ("Role", "ClusterRole"):
            rules.extend(doc.get("rules") or [])
    return rules


def _covers(values: list[str] | None, wanted: str) -> bool:
    return bool(values) and ("*" in values or wanted in values)


def allowed(rules: list[dict], verb: str, group: str, resource: str, name: str = "") -> bool:
    """Whether any rule grants verb on group/resource (resource may carry '/subresource')."""
    for rule in rules:
        if not _covers(rule.get("verbs"), verb):
            continue
        if not _covers(rule.get("apiGroups"), group):
            continue
        resources = rule.get("resources") or []
        _base, _, sub = resource.partition("/")
        if not ("*" in resources or resource in resources or (sub and f"*/{sub}" in resources)):
            continue
        names = rule.get("resourceNames")
        # resourceNames never authorise create, list or collection verbs (no name is known).
        if names and (not name or name not in names):
            continue
        return True
    return False


def forbidden_message(
    user: str, verb: str, group: str, resource: str, namespace: str, name: str = ""
) -> str:
    """The apiserver's Forbidden message for a denied request."""
    base = resource.partition("/")[0]
    subject = f"{base}.{group}" if group else base
    if name:
        subject = f'{subject} "{name}"'
    where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    return (
        f'{subject} is forbidden: User "{user}" cannot {verb} resource "{resource}" '
        f'in API group "{group}" {where}'
    )


# --- who is asking: the token's user, or the user it impersonates ---------------------------

RBAC_GROUP = "rbac.authorization.k8s.io"
AUTHENTICATED = "system:authenticated"
ANONYMOUS = "system:anonymous"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"


@dataclass(frozen=True)
class Subject:
    """A user and their groups, as the authorizer sees them."""

    user: str
    groups: tuple[str, ...] = ()


def authenticated(user: str) -> Subject:
    """The subject a token authenticates as (a service account also has its groups)."""
    groups = [AUTHENTICATED]
    if user.startswith(SERVICE_ACCOUNT_PREFIX):
        namespace = user[len(SERVICE_ACCOUNT_PREFIX) :].split(":", 1)[0]
        groups[:0] = ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"]
    return Subject(user, tuple(groups))


def impersonated(user: str, groups: list[str]) -> Subject:
    """The subject of an impersonated request: kube-apiserver adds system:authenticated."""
    groups = list(dict.fromkeys(groups))
    if user != ANONYMOUS and AUTHENTICATED not in groups:
        groups.append(AUTHENTICATED)
    return Subject(user, tuple(groups))


def impersonation_checks(user: str, groups: list[str]) -> list[tuple[str, str, str]]:
    """(resource, namespace, name) the caller needs the `impersonate` verb on, in order.

    A service account's name is impersonated through `serviceaccounts` in its namespace, as
    kube-apiserver does; any other user through `users`, each group through `groups`.
    """
    checks = []
    if user.startswith(SERVICE_ACCOUNT_PREFIX) and user.count(":") == 3:
        namespace, name = user[len(SERVICE_ACCOUNT_PREFIX) :].split(":", 1)
        checks.append(("serviceaccounts", namespace, name))
    else:
        checks.append(("users", "", user))
    checks.extend(("groups", "", group) for group in groups)
    return checks


def _matches(subject: Subject, entry: dict, binding_namespace: str) -> bool:
    kind, name = entry.get("kind"), entry.get("name", "")
    if kind == "User":
        return name == subject.user
    if kind == "Group":
        return name in subject.groups
    if kind == "ServiceAccount":
        namespace = entry.get("namespace") or binding_namespace
        return subject.user == f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}"
    return False


def bound_rules(
    subject: Subject, namespace: str, objects: Callable[[str, str | None], list[dict]]
) -> list[dict]:
    """The rules RoleBindings and ClusterRoleBindings grant the subject for a request in
    `namespace` ("" for cluster-scoped and all-namespace requests: ClusterRoleBindings only).

    `objects(resource, namespace)` lists stored objects (namespace None: every namespace).
    """
    cluster_roles = {r["metadata"]["name"]: r for r in objects("clusterroles", "")}
    rules: list[dict] = []
    for binding in objects("clusterrolebindings", ""):
        if any(_matches(subject, s, "") for s in binding.get("subjects") or []):
            ref = binding.get("roleRef") or {}
            rules.extend((cluster_roles.get(ref.get("name", "")) or {}).get("rules") or [])
    if not namespace:
        return rules
    roles = {r["metadata"]["name"]: r for r in objects("roles", namespace)}
    for binding in objects("rolebindings", namespace):
        if not any(_matches(subject, s, namespace) for s in binding.get("subjects") or []):
            continue
        ref = binding.get("roleRef") or {}
        source = cluster_roles if ref.get("kind") == "ClusterRole" else roles
        rules.extend((source.get(ref.get("name", "")) or {}).get("rules") or [])
    return rules


def binding_errors(kind: str, obj: dict) -> list[tuple[str, str]]:
    """(field, message) for a binding without the roleRef or subjects RBAC requires."""
    if not kind.endswith("Binding"):
        rules = obj.get("rules")
        if rules is not None and not isinstance(rules, list):
            return [("rules", "Invalid value: must be a list of PolicyRules")]
        return []
    errors = []
    ref = obj.get("roleRef") or {}
    allowed_kinds = ("Role", "ClusterRole") if kind == "RoleBinding" else ("ClusterRole",)
    if ref.get("kind") not in allowed_kinds:
        errors.append(("roleRef.kind", f"Unsupported value: {ref.get('kind')!r}"))
    if not ref.get("name"):
        errors.append(("roleRef.name", "Required value"))
    for index, entry in enumerate(obj.get("subjects") or []):
        if entry.get("kind") not in ("User", "Group", "ServiceAccount"):
            errors.append((f"subjects[{index}].kind", f"Unsupported value: {entry.get('kind')!r}"))
        if not entry.get("name"):
            errors.append((f"subjects[{index}].name", "Required value"))
    return errors
