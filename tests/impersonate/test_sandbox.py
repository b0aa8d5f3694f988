"""The sandbox honours impersonation and per-user RBAC as kube-apiserver does, through the
official client and the real kubectl."""

from __future__ import annotations

import json
import shutil
import subprocess

import kubernetes
import pytest

from tests.fixtures.sandbox import sandbox_api_client
from tests.sandbox.manifests import dgd_v1beta1

SA = "system:serviceaccount:dynamote:dynamote"
DGD_VIEWER = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "ClusterRole",
    "metadata": {"name": "dgd-viewer"},
    "rules": [
        {
            "apiGroups": ["nvidia.com"],
            "resources": ["dynamographdeployments"],
            "verbs": ["get", "list", "watch"],
        }
    ],
}


def _client(sandbox, user: str = "", groups: tuple[str, ...] = ()):
    api = sandbox_api_client(sandbox)
    if user:
        api.set_default_header("Impersonate-User", user)
    if groups:
        # The generated client sends one value per header; one group is enough here.
        api.set_default_header("Impersonate-Group", groups[0])
    return api


def _bind_view(sandbox, *, namespace: str, kind: str = "User", name: str = "alice") -> None:
    rbac = kubernetes.client.RbacAuthorizationV1Api(_client(sandbox))
    try:
        rbac.create_cluster_role(DGD_VIEWER)
    except kubernetes.client.ApiException as exc:
        assert exc.status == 409
    rbac.create_namespaced_role_binding(
        namespace,
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": f"{name}-view"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "dgd-viewer",
            },
            "subjects": [{"kind": kind, "name": name, "apiGroup": "rbac.authorization.k8s.io"}],
        },
    )


def _message(refused) -> str:
    return json.loads(refused.value.body)["message"]


def _list_dgds(api, namespace: str) -> list[dict]:
    custom = kubernetes.client.CustomObjectsApi(api)
    return custom.list_namespaced_custom_object(
        "nvidia.com", "v1beta1", namespace, "dynamographdeployments"
    )["items"]


def _can_i(api, verb: str, namespace: str) -> bool:
    review = kubernetes.client.AuthorizationV1Api(api).create_self_subject_access_review(
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {
                "resourceAttributes": {
                    "verb": verb,
                    "group": "nvidia.com",
                    "resource": "dynamographdeployments",
                    "namespace": namespace,
                }
            },
        }
    )
    return review.status.allowed


def test_an_impersonated_user_gets_only_what_their_bindings_grant(sandbox):
    _bind_view(sandbox, namespace="default")
    alice = _client(sandbox, "alice")
    assert _list_dgds(alice, "default") == []
    with pytest.raises(kubernetes.client.ApiException) as refused:
        _list_dgds(alice, "dynamo")
    assert refused.value.status == 403
    assert (
        'dynamographdeployments.nvidia.com is forbidden: User "alice" cannot list resource '
        '"dynamographdeployments" in API group "nvidia.com" in the namespace "dynamo"'
    ) in _message(refused)
    with pytest.raises(kubernetes.client.ApiException) as write:
        kubernetes.client.CustomObjectsApi(alice).create_namespaced_custom_object(
            "nvidia.com", "v1beta1", "default", "dynamographdeployments", dgd_v1beta1("qwen")
        )
    assert write.value.status == 403
    assert 'User "alice" cannot create resource' in _message(write)
    assert sandbox.get("dgd", "default", "qwen") is None
    # The service account itself is not limited by alice's bindings.
    assert _list_dgds(_client(sandbox), "dynamo") == []


def test_a_group_binding_grants_the_impersonated_groups_members(sandbox):
    _bind_view(sandbox, namespace="dynamo", kind="Group", name="ml-team")
    assert _list_dgds(_client(sandbox, "bob", ("ml-team",)), "dynamo") == []
    with pytest.raises(kubernetes.client.ApiException) as refused:
        _list_dgds(_client(sandbox, "bob"), "dynamo")
    assert refused.value.status == 403


def test_self_subject_access_review_answers_for_the_impersonated_user(sandbox):
    _bind_view(sandbox, namespace="default")
    alice = _client(sandbox, "alice")
    assert _can_i(alice, "list", "default") is True
    assert _can_i(alice, "list", "dynamo") is False
    assert _can_i(alice, "delete", "default") is False
    assert _can_i(_client(sandbox), "delete", "default") is True


def test_impersonating_needs_the_impersonate_verb(sandbox):
    _bind_view(sandbox, namespace="default")
    # Everything except impersonation: the caller may not act as anyone else.
    sandbox.set_permissions(
        [
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "create", "delete"]},
        ]
    )
    with pytest.raises(kubernetes.client.ApiException) as refused:
        _list_dgds(_client(sandbox, "alice"), "default")
    assert refused.value.status == 403
    assert (
        f'users "alice" is forbidden: User "{SA}" cannot impersonate resource "users" '
        'in API group "" at the cluster scope'
    ) in _message(refused)
    # Granting it to users but not groups: a group is refused by name.
    sandbox.set_permissions(
        [
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list"]},
            {"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"]},
        ]
    )
    assert _list_dgds(_client(sandbox, "alice"), "default") == []
    with pytest.raises(kubernetes.client.ApiException) as group:
        _list_dgds(_client(sandbox, "alice", ("ml-team",)), "default")
    assert 'groups "ml-team" is forbidden' in _message(group)


def test_the_impersonate_verb_can_be_granted_through_a_cluster_role_binding(sandbox):
    # The caller may read and create, not impersonate, until a binding grants it.
    sandbox.set_permissions(
        [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "create"]}]
    )
    _bind_view(sandbox, namespace="default")
    with pytest.raises(kubernetes.client.ApiException) as before:
        _list_dgds(_client(sandbox, "alice", ("ml-team",)), "default")
    assert before.value.status == 403
    rbac = kubernetes.client.RbacAuthorizationV1Api(_client(sandbox))
    rbac.create_cluster_role(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "dynamote-impersonate"},
            "rules": [
                {"apiGroups": [""], "resources": ["users", "groups"], "verbs": ["impersonate"]}
            ],
        }
    )
    rbac.create_cluster_role_binding(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "dynamote-impersonate"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "dynamote-impersonate",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "dynamote", "namespace": "dynamote"}],
        }
    )
    assert _list_dgds(_client(sandbox, "alice", ("ml-team",)), "default") == []


def test_a_binding_without_a_role_reference_is_refused(sandbox):
    rbac = kubernetes.client.RbacAuthorizationV1Api(_client(sandbox))
    with pytest.raises(kubernetes.client.ApiException) as refused:
        rbac.create_namespaced_role_binding(
            "default",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "broken"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Pod", "name": ""},
                "subjects": [{"kind": "User", "name": "alice"}],
            },
        )
    assert refused.value.status == 422
    assert "roleRef.kind" in _message(refused) and "roleRef.name" in _message(refused)


def _kubectl(sandbox, *args: str) -> subprocess.CompletedProcess:
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl is not installed: this test drives the real kubectl")
    return subprocess.run(
        ["kubectl", "--kubeconfig", str(sandbox.kubeconfig_path), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _kubectl_create(sandbox, *args: str) -> subprocess.CompletedProcess:
    """`kubectl create …` as YAML piped to `kubectl apply` (the sandbox reads JSON and YAML
    bodies only, not the protobuf `kubectl create` sends for built-in kinds)."""
    rendered = _kubectl(sandbox, "create", *args, "--dry-run=client", "-o", "yaml")
    assert rendered.returncode == 0, rendered.stderr
    return subprocess.run(
        ["kubectl", "--kubeconfig", str(sandbox.kubeconfig_path), "apply", "-f", "-"],
        input=rendered.stdout,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_kubectl_creates_bindings_and_answers_can_i_as_another_user(sandbox):
    created = _kubectl_create(
        sandbox,
        "clusterrole",
        "dgd-viewer",
        "--verb=get,list,watch",
        "--resource=dynamographdeployments.nvidia.com",
    )
    assert created.returncode == 0, created.stderr
    bound = _kubectl_create(
        sandbox,
        "rolebinding",
        "alice-view",
        "--clusterrole=dgd-viewer",
        "--user=alice",
        "-n",
        "default",
    )
    assert bound.returncode == 0, bound.stderr
    assert "rolebinding.rbac.authorization.k8s.io/alice-view created" in bound.stdout
    listed = _kubectl(sandbox, "get", "rolebindings", "-n", "default")
    assert "alice-view" in listed.stdout, listed.stderr

    def can_i(*args: str) -> str:
        return _kubectl(sandbox, "auth", "can-i", *args).stdout.strip()

    dgds = "dynamographdeployments.nvidia.com"
    assert can_i("list", dgds, "-n", "default", "--as=alice") == "yes"
    assert can_i("list", dgds, "-n", "dynamo", "--as=alice") == "no"
    assert can_i("delete", dgds, "-n", "default", "--as=alice") == "no"
    assert can_i("list", dgds, "-n", "dynamo", "--as=bob", "--as-group=ml-team") == "no"
    got = _kubectl(sandbox, "get", "dgd", "-n", "dynamo", "--as=alice")
    assert got.returncode != 0
    assert 'User "alice" cannot list resource "dynamographdeployments"' in got.stderr
