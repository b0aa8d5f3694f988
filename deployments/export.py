"""A DGD's manifest ready for Git: what the cluster and the operator added is left out (pure)."""

from __future__ import annotations

import copy

from deployments.manifests import block_yaml

# Written by the API server: they describe this one object on this one cluster.
SERVER_FIELDS = (
    "managedFields",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
)
# Added by the Dynamo operator; applying the file again must not bring it back by hand.
OPERATOR_FINALIZERS = ("nvidia.com/finalizer",)
# Written by `kubectl apply`: the previous apply, not part of what is declared.
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def git_ready(dgd: dict) -> dict:
    """The manifest without status, server fields, operator finalizers and kubectl's record."""
    clean = {key: copy.deepcopy(value) for key, value in dgd.items() if key != "status"}
    meta = clean.get("metadata") or {}
    for key in SERVER_FIELDS:
        meta.pop(key, None)
    finalizers = [f for f in meta.pop("finalizers", None) or [] if f not in OPERATOR_FINALIZERS]
    if finalizers:
        meta["finalizers"] = finalizers
    annotations = meta.pop("annotations", None) or {}
    annotations.pop(LAST_APPLIED, None)
    if annotations:
        meta["annotations"] = annotations
    if not meta.get("labels"):
        meta.pop("labels", None)
    return clean


def git_yaml(dgd: dict) -> str:
    """The Git-ready manifest as YAML, keys in the order the cluster gave them."""
    return block_yaml(git_ready(dgd))
