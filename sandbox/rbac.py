"""RBAC PolicyRule evaluation and the apiserver's Forbidden wording."""

from __future__ import annotations

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
