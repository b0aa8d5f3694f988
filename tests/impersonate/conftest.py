"""Dynamote with DYNAMOTE_IMPERSONATE on, against a sandbox whose RBAC the tests write through
the real RBAC API (as a cluster admin would with kubectl)."""

from __future__ import annotations

import time

import kubernetes
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from access import kube
from deployments import cluster, mirror
from sandbox import ManualClock
from tests.fixtures.sandbox import sandbox_api_client

DGDS = {"apiGroups": ["nvidia.com"], "resources": ["dynamographdeployments"]}
READ = ["get", "list", "watch"]
WRITE = [*READ, "create", "update", "patch", "delete"]


@pytest.fixture(autouse=True)
def fresh_answers():
    """Each test starts without kept access answers or cached reads (both process-wide)."""
    kube.forget()
    mirror.reset()
    yield
    kube.forget()
    mirror.reset()


@pytest.fixture
def sandbox(make_sandbox):
    """The default sandbox, its clock ten minutes back (ages do not tick between requests)."""
    return make_sandbox(clock=ManualClock(start=time.time() - 600))


@pytest.fixture
def impersonating(settings, cluster_sandbox):
    """Dynamote connected to the sandbox with DYNAMOTE_IMPERSONATE on."""
    settings.DYNAMOTE_IMPERSONATE = True
    settings.DYNAMOTE_DEFAULT_ROLE = ""
    return cluster_sandbox


class Rbac:
    """Roles and bindings on the sandbox, written through rbac.authorization.k8s.io/v1."""

    def __init__(self, sandbox) -> None:
        self.api = kubernetes.client.RbacAuthorizationV1Api(sandbox_api_client(sandbox))

    def cluster_role(self, name: str, verbs: list[str]) -> None:
        body = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": name},
            "rules": [{**DGDS, "verbs": verbs}],
        }
        self.api.create_cluster_role(body)

    def bind(self, name: str, *, role: str, namespace: str, user="", group="") -> None:
        subject = {"kind": "User", "name": user} if user else {"kind": "Group", "name": group}
        body = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": name},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": role,
            },
            "subjects": [{**subject, "apiGroup": "rbac.authorization.k8s.io"}],
        }
        self.api.create_namespaced_role_binding(namespace, body)

    def unbind(self, name: str, *, namespace: str) -> None:
        self.api.delete_namespaced_role_binding(name, namespace)


@pytest.fixture
def rbac(impersonating) -> Rbac:
    rules = Rbac(impersonating)
    rules.cluster_role("dgd-viewer", READ)
    rules.cluster_role("dgd-editor", WRITE)
    return rules


def signed_in(username: str, *groups: str) -> Client:
    """A client signed in as a new Dynamote user (in the given Dynamote groups, no roles)."""
    user = get_user_model().objects.create_user(username, password="unused-password-1")
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    client = Client()
    client.force_login(user)
    return client


def create_dgd(manifest: dict) -> None:
    """A DGD created by Dynamote's own account (outside any request)."""
    cluster.dgd_create(manifest=manifest)
