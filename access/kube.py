"""Let Kubernetes decide (DYNAMOTE_IMPERSONATE): who the signed-in user is to the cluster, and
what the cluster lets them do, asked with SelfSubjectAccessReviews made as that user.

Cluster actions (see, deploy, scale, edit, restart, roll back, delete) are then decided by
the cluster's RBAC; Dynamote-only features (roles, audit, others' tokens, the catalog) keep
Dynamote's roles. Answers are kept per user for a few seconds, so a page asks each question
once per namespace, not once per row.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings

from deployments import cluster

# How long an answer is kept per user: a RoleBinding changed on the cluster counts after it.
ANSWER_SECONDS = 10.0
MAX_ANSWERS = 10_000

# What each cluster action asks Kubernetes: the verb on dynamographdeployments that the
# action's own write uses (an edit or rollback replaces the DGD; scale and restart patch it).
VERBS = {
    "VIEW": "list",
    "DEPLOY": "create",
    "IMPORT": "create",
    "SCALE": "patch",
    "RESTART": "patch",
    "EDIT": "update",
    "ROLLBACK": "update",
    "DELETE": "delete",
}

_lock = threading.Lock()
_answers: dict[tuple, tuple[float, bool, str]] = {}


def enabled() -> bool:
    return settings.DYNAMOTE_IMPERSONATE


def decides(action) -> bool:
    """Whether Kubernetes, not Dynamote's roles, decides this action."""
    return enabled() and action.name in VERBS


def identity_of(user) -> cluster.Identity | None:
    """The Kubernetes user and groups a Dynamote user acts as (None: not signed in).

    The name is the username (SSO users: the provider's preferred_username) or, with
    DYNAMOTE_IMPERSONATE_USERNAME=email, the e-mail address; groups are the user's Dynamote
    groups (SSO users: the provider's groups claim). Both take their prefix setting, as
    kube-apiserver's --oidc-username-prefix and --oidc-groups-prefix do.
    """
    if not getattr(user, "is_authenticated", False):
        return None
    cached = getattr(user, "_dynamote_identity", None)
    if cached is not None:
        return cached  # a request loads its user afresh: a changed group counts from the next
    name = user.email if settings.DYNAMOTE_IMPERSONATE_USERNAME == "email" else ""
    name = name or user.get_username()
    prefix = settings.DYNAMOTE_IMPERSONATE_GROUP_PREFIX
    names = user.groups.order_by("name").values_list("name", flat=True)
    # A provider's groups claim could name "system:masters": never act as a system group.
    groups = tuple(prefix + g for g in names if not (prefix + g).startswith("system:"))
    identity = cluster.Identity(settings.DYNAMOTE_IMPERSONATE_USER_PREFIX + name, groups)
    user._dynamote_identity = identity
    return identity


def _ask(identity: cluster.Identity, verb: str, namespace: str) -> tuple[bool, str]:
    """(allowed, why not) from the cluster, kept ANSWER_SECONDS per user and question."""
    key = (cluster.config_key(), identity, verb, namespace)
    now = time.monotonic()
    with _lock:
        kept = _answers.get(key)
    if kept is not None and now - kept[0] < ANSWER_SECONDS:
        return kept[1], kept[2]
    try:
        with cluster.acting_as(identity):
            ok = cluster.can_i(verb=verb, resource=cluster.DGD_PLURAL, namespace=namespace)
        answer = (ok, "")
    except cluster.ClusterError as exc:
        # Not kept: the next page asks again once the cluster answers.
        return False, f"Kubernetes could not be asked what {identity.user} may do: {exc.message}"
    with _lock:
        if len(_answers) >= MAX_ANSWERS:
            _answers.clear()
        _answers[key] = (now, *answer)
    return answer


def forget() -> None:
    """Forgets every kept answer (tests, and after a change of cluster)."""
    with _lock:
        _answers.clear()


def refusal(user, action, namespace: str) -> str:
    """Why Kubernetes refuses the user the action in the namespace; "" when it allows it."""
    identity = identity_of(user)
    if identity is None:
        return "You are not signed in."
    verb = VERBS[action.name]
    ok, trouble = _ask(identity, verb, namespace)
    if ok:
        return ""
    return trouble or (
        f"Kubernetes does not allow {identity.user} to {verb} DynamoGraphDeployments in "
        f"namespace {namespace}, so you may not {action.phrase} there. Ask a cluster admin "
        "for a RoleBinding that grants it."
    )


def candidate_namespaces() -> list[str]:
    """The namespaces Dynamote may use: DYNAMOTE_NAMESPACES, else the cluster's (shared cache)."""
    if settings.DYNAMOTE_NAMESPACES:
        return list(settings.DYNAMOTE_NAMESPACES)
    from deployments.selectors import cluster_namespaces

    try:
        return cluster_namespaces()
    except cluster.ClusterError:
        return []  # the pages say the cluster cannot be read; no namespace is offered meanwhile


def allowed_namespaces(user, action) -> list[str]:
    """The namespaces where Kubernetes lets the user do the action."""
    return [ns for ns in candidate_namespaces() if not refusal(user, action, ns)]


def refusal_anywhere(user, action) -> str:
    """ "" when Kubernetes lets the user do the action in some namespace, else why not."""
    identity = identity_of(user)
    if identity is None:
        return "You are not signed in."
    trouble = ""
    for namespace in candidate_namespaces():
        ok, why = _ask(identity, VERBS[action.name], namespace)
        if ok:
            return ""
        trouble = trouble or why
    who = identity.user
    return trouble or (
        f"Kubernetes does not allow {who} to {VERBS[action.name]} DynamoGraphDeployments in "
        f"any namespace, so you may not {action.phrase}. Ask a cluster admin for a RoleBinding "
        "that grants it."
    )
