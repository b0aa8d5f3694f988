"""The optional impersonation piece of deploy/ (deploy/impersonate/) is exactly enough: with
the ServiceAccount's rules plus its rule, a user Kubernetes allows deploys and deletes as
themself; without it, the user is told what Dynamote's account lacks."""

import html
import shutil
import subprocess
from pathlib import Path

import kubernetes
import pytest
import yaml
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from access import kube
from deployments import mirror
from sandbox import rules_from_role
from tests.deploy.conftest import form_data
from tests.fixtures.sandbox import sandbox_api_client

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = rules_from_role(DEPLOY / "clusterrole.yaml")
IMPERSONATE = rules_from_role(DEPLOY / "impersonate" / "clusterrole.yaml")
NAME = "as-alice"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_answers():
    kube.forget()
    mirror.reset()
    yield
    kube.forget()
    mirror.reset()


def test_the_piece_grants_impersonating_users_and_groups_only():
    assert IMPERSONATE == [
        {"apiGroups": [""], "resources": ["users", "groups"], "verbs": ["impersonate"]}
    ]
    component = yaml.safe_load((DEPLOY / "impersonate" / "kustomization.yaml").read_text())
    assert component["kind"] == "Component"
    binding = yaml.safe_load((DEPLOY / "impersonate" / "clusterrolebinding.yaml").read_text())
    account = yaml.safe_load((DEPLOY / "serviceaccount.yaml").read_text())
    assert binding["subjects"][0]["name"] == account["metadata"]["name"]


def test_kustomize_with_the_piece_turns_impersonation_on(tmp_path):
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl is not installed: this test builds deploy/ with kubectl kustomize")
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy)
    kustomization = yaml.safe_load((copy / "kustomization.yaml").read_text())
    kustomization["components"] = ["impersonate"]
    (copy / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    built = subprocess.run(
        ["kubectl", "kustomize", str(copy)], capture_output=True, text=True, timeout=60
    )
    assert built.returncode == 0, built.stderr
    objects = list(yaml.safe_load_all(built.stdout))
    roles = {o["metadata"]["name"] for o in objects if o["kind"] == "ClusterRole"}
    assert roles == {"dynamote", "dynamote-impersonate"}
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    env = {
        e["name"]: e.get("value")
        for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["DYNAMOTE_IMPERSONATE"] == "true"


@pytest.fixture
def impersonating(make_sandbox, use_cluster, settings):
    """A sandbox granting Dynamote exactly deploy/'s rules (plus `extra`), impersonation on,
    and alice, in group ml-team, bound by Kubernetes to change DGDs in default."""

    def start(extra: list[dict]):
        sandbox = make_sandbox()
        rbac = kubernetes.client.RbacAuthorizationV1Api(sandbox_api_client(sandbox))
        rbac.create_cluster_role(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": "dgd-editor"},
                "rules": [
                    {
                        "apiGroups": ["nvidia.com"],
                        "resources": ["dynamographdeployments"],
                        "verbs": ["get", "list", "create", "patch", "update", "delete"],
                    }
                ],
            }
        )
        rbac.create_namespaced_role_binding(
            "default",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "ml-team-edit"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "dgd-editor",
                },
                "subjects": [{"kind": "Group", "name": "ml-team"}],
            },
        )
        sandbox.set_permissions([*RULES, *extra])
        use_cluster(sandbox)
        settings.DYNAMOTE_IMPERSONATE = True
        settings.DYNAMOTE_DEFAULT_ROLE = ""
        return sandbox

    return start


@pytest.fixture
def alice_client(client, db):
    user = get_user_model().objects.create_user("alice", password="unused-password-1")
    user.groups.add(Group.objects.create(name="ml-team"))
    client.force_login(user)
    return client


def _text(response) -> str:
    return html.unescape(response.content.decode())


def test_with_the_piece_a_user_kubernetes_allows_deploys_and_deletes_as_themself(
    alice_client, impersonating
):
    sandbox = impersonating(IMPERSONATE)
    form = _text(alice_client.get("/deployments/new/", {"model": "qwen3-8b"}))
    assert "Fits:" in form and "forbidden" not in form.lower()
    response = alice_client.post("/deployments/new/", form_data(name=NAME, idempotency_key=NAME))
    assert response.status_code == 302, _text(response)[:3000]
    assert sandbox.get("dgd", "default", NAME) is not None
    response = alice_client.post(f"/deployments/default/{NAME}/delete/", {"confirm": NAME})
    assert response.status_code in (200, 302)
    writes = [r for r in sandbox.request_log if r["verb"] in ("create", "delete")]
    assert {r["user"] for r in writes if r["resource"] == "dynamographdeployments"} == {"alice"}


def test_without_the_piece_the_user_is_told_what_dynamote_lacks(alice_client, impersonating):
    sandbox = impersonating([])
    response = alice_client.post("/deployments/new/", form_data(name=NAME, idempotency_key=NAME))
    assert response.status_code == 403
    assert "Dynamote's account may not act as alice" in _text(response)
    assert sandbox.get("dgd", "default", NAME) is None


def test_without_groups_in_the_piece_the_group_is_named(alice_client, impersonating):
    users_only = [{**IMPERSONATE[0], "resources": ["users"]}]
    impersonating(users_only)
    response = alice_client.post("/deployments/new/", form_data(name=NAME, idempotency_key=NAME))
    assert response.status_code == 403
    assert 'groups "ml-team" is forbidden' in _text(response)
