"""Who may do what, where: the roles a user holds (directly or through groups) per namespace.

A superuser is Admin everywhere. Otherwise a user's role in a namespace is the highest of
their grants, and their groups' grants, for that namespace or for all namespaces.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Q

from access import kube
from access.models import ALL_NAMESPACES, Grant, Role


class Action(enum.Enum):
    """What a request does, the least role it needs, and how a refusal names it."""

    VIEW = (Role.VIEWER, "see deployments")
    DEPLOY = (Role.DEPLOYER, "deploy")
    SCALE = (Role.DEPLOYER, "scale deployments")
    EDIT = (Role.DEPLOYER, "edit deployments")
    RESTART = (Role.DEPLOYER, "restart deployments")
    ROLLBACK = (Role.DEPLOYER, "roll back deployments")
    DELETE = (Role.DEPLOYER, "delete deployments")
    IMPORT = (Role.DEPLOYER, "import manifests")
    # Chatting sends traffic to the deployment's GPUs, which its real users share.
    CHAT = (Role.DEPLOYER, "chat with deployments")
    ADMINISTER = (Role.ADMIN, "manage roles, tokens and the catalog")

    def __init__(self, role: Role, phrase: str) -> None:
        self.role, self.phrase = role, phrase

    @property
    def writes(self) -> bool:
        return self is not Action.VIEW


class AccessDenied(PermissionDenied):
    """A refusal with the sentence a person reads: which role, where, to do what."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


def _grants(user):
    groups = Q(group__in=user.groups.all()) if user.pk else Q(pk__in=[])
    return Grant.objects.filter(Q(user=user) | groups) if user.pk else Grant.objects.none()


_CACHE_ATTRIBUTE = "_dynamote_roles"


def roles_of(user) -> dict[str, Role]:
    """The user's highest role per namespace ("" = every namespace).

    Read once per user object: a request loads its user afresh, so one query answers every
    check the request makes, and a grant changed meanwhile counts from the next request.
    """
    if not getattr(user, "is_authenticated", False):
        return {}
    if user.is_superuser:
        return {ALL_NAMESPACES: Role.ADMIN}
    cached = getattr(user, _CACHE_ATTRIBUTE, None)
    if cached is not None:
        return cached
    best: dict[str, Role] = {}
    for namespace, role in _grants(user).values_list("namespace", "role"):
        role = Role(role)
        if namespace not in best or role.rank > best[namespace].rank:
            best[namespace] = role
    setattr(user, _CACHE_ATTRIBUTE, best)
    return best


def role_in(user, namespace: str | None, *, roles: dict[str, Role] | None = None) -> Role | None:
    """The user's role in a namespace; with namespace None, the highest role anywhere."""
    roles = roles_of(user) if roles is None else roles
    if namespace is None:
        held = list(roles.values())
    else:
        held = [roles[key] for key in (ALL_NAMESPACES, namespace) if key in roles]
    return max(held, key=lambda role: role.rank, default=None)


def decide(user, action: Action, namespace: str | None = None, *, token=None) -> Decision:
    """Whether the user may do the action in the namespace (None: in some namespace)."""
    if token is not None and token.read_only and action.writes:
        return Decision(False, f"This API token is read-only: it may not {action.phrase}.")
    if kube.decides(action):
        # DYNAMOTE_IMPERSONATE: the cluster's RBAC decides, asked as the user.
        if namespace is None:
            reason = kube.refusal_anywhere(user, action)
        else:
            reason = kube.refusal(user, action, namespace)
        return Decision(not reason, reason)
    role = role_in(user, namespace)
    if role is not None and role.rank >= action.role.rank:
        return Decision(True)
    if namespace == ALL_NAMESPACES:
        where = "in every namespace"
    else:
        where = f"in namespace {namespace}" if namespace else "in any namespace"
    needed = action.role.label
    return Decision(False, f"You need the {needed} role {where} to {action.phrase}.")


def require(
    request_or_user, action: Action, namespace: str | None = None, *, name: str = ""
) -> None:
    """Raises AccessDenied (403), audited, unless the user may do the action there."""
    user = getattr(request_or_user, "user", request_or_user)
    token = getattr(request_or_user, "api_token", None)
    decision = decide(user, action, namespace, token=token)
    if not decision.allowed:
        from access import audit

        request = request_or_user if hasattr(request_or_user, "user") else None
        audit.refused(
            request, action.name.lower(), decision.reason, namespace=namespace or "", name=name
        )
        raise AccessDenied(decision.reason)


def is_admin(user) -> bool:
    """Admin in every namespace: may manage roles, tokens of others and the catalog."""
    return role_in(user, ALL_NAMESPACES) is Role.ADMIN or getattr(user, "is_superuser", False)


def default_role() -> Role | None:
    """The role new users get in every namespace (DYNAMOTE_DEFAULT_ROLE; "none": no role)."""
    value = settings.DYNAMOTE_DEFAULT_ROLE
    return Role(value) if value else None


def namespaces_for(user, action: Action, configured: list[str]) -> list[str] | None:
    """Where the user may do the action: None for every namespace Dynamote may use, else the
    namespaces of their grants (within DYNAMOTE_NAMESPACES when it is set). With
    DYNAMOTE_IMPERSONATE, the namespaces where Kubernetes allows it."""
    if kube.decides(action):
        return kube.allowed_namespaces(user, action)
    roles = roles_of(user)
    everywhere = role_in(user, ALL_NAMESPACES, roles=roles)
    if everywhere is not None and everywhere.rank >= action.role.rank:
        return None
    return sorted(
        ns
        for ns, role in roles.items()
        if ns and role.rank >= action.role.rank and (not configured or ns in configured)
    )
