"""Roles per namespace: every role, action and namespace, through the pages and the API.

Allowed → it works; denied → 403 with the sentence naming the role and namespace, the refusal
is audited, and nothing is sent to the cluster.
"""

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from access.models import AuditEntry, Grant
from deployments import cluster
from tests.dashboard.conftest import dgd_manifest
from tests.factories import grant_role
from tests.fixtures.cluster import count_from_now

NAMESPACES = ["default", "dynamo"]
# Who: (their grants, as (role, namespace) pairs).
PEOPLE = {
    "nobody": [],
    "viewer": [("viewer", "")],
    "deployer-in-default": [("viewer", ""), ("deployer", "default")],
    "deployer": [("deployer", "")],
    "admin": [("admin", "")],
}
MAY = {
    # action -> the people allowed, per namespace
    "view": {
        "default": {"viewer", "deployer-in-default", "deployer", "admin"},
        "dynamo": {"viewer", "deployer-in-default", "deployer", "admin"},
    },
    "deploy": {
        "default": {"deployer-in-default", "deployer", "admin"},
        "dynamo": {"deployer", "admin"},
    },
    "delete": {
        "default": {"deployer-in-default", "deployer", "admin"},
        "dynamo": {"deployer", "admin"},
    },
}
NEEDED = {"view": "Viewer", "deploy": "Deployer", "delete": "Deployer"}


@pytest.fixture
def person(request, db):
    name = request.param
    user = get_user_model().objects.create_user(name, password="unused-password-1")
    Grant.objects.filter(user=user).delete()  # no default role: exactly the grants below
    for role, namespace in PEOPLE[name]:
        grant_role(user, role, namespace)
    client = Client()
    client.force_login(user)
    return name, client


def _view(client, namespace):
    return client.get(f"/api/deployments/llama?namespace={namespace}")


def _deploy(client, namespace):
    body = {"modelId": "qwen3-8b", "namespace": namespace, "name": "qwen-new"}
    return client.post("/api/deployments", json.dumps(body), content_type="application/json")


def _delete(client, namespace):
    return client.delete(f"/api/deployments/llama?namespace={namespace}")


ACTIONS = {"view": (_view, 200), "deploy": (_deploy, 201), "delete": (_delete, 202)}


@pytest.mark.parametrize("person", list(PEOPLE), indirect=True)
@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("namespace", NAMESPACES)
def test_every_role_action_and_namespace(person, action, namespace, cluster_sandbox):
    name, client = person
    for ns in NAMESPACES:
        cluster.dgd_create(manifest=dgd_manifest("llama", namespace=ns))
    count_from_now(cluster_sandbox)
    send, success = ACTIONS[action]
    response = send(client, namespace)
    if name in MAY[action][namespace]:
        assert response.status_code == success, response.content
        return
    assert response.status_code == 403, response.content
    # Who holds the role nowhere is told so; who holds it elsewhere, where they lack it.
    anywhere = any(name in MAY[action][ns] for ns in NAMESPACES)
    where = f"in namespace {namespace}" if anywhere else "in any namespace"
    assert response.json()["error"].startswith(f"You need the {NEEDED[action]} role {where} to")
    writes = [r for r in cluster_sandbox.request_log if r["verb"] not in ("get", "list", "watch")]
    assert writes == []
    refusal = AuditEntry.objects.filter(actor=name, outcome="refused").first()
    assert refusal is not None and refusal.message == response.json()["error"]


@pytest.mark.parametrize("person", ["nobody", "viewer"], indirect=True)
def test_pages_refuse_what_the_role_does_not_allow(person, cluster_sandbox):
    _, client = person
    cluster.dgd_create(manifest=dgd_manifest("llama"))
    new = client.get("/deployments/new/?model=qwen3-8b")
    assert new.status_code == 403
    assert "You need the Deployer role in any namespace to deploy." in new.content.decode()
    delete = client.post("/deployments/default/llama/delete/", {"confirm": "llama"})
    assert delete.status_code == 403
    assert "Deployer role in namespace default" in delete.content.decode()
    assert cluster.dgd_get(namespace="default", name="llama")["metadata"]["name"] == "llama"


@pytest.mark.parametrize("person", ["deployer-in-default"], indirect=True)
def test_the_dashboard_lists_only_namespaces_the_user_may_see(person, cluster_sandbox):
    _, client = person
    Grant.objects.filter(namespace="").delete()  # Deployer in default only, nothing else
    for ns in NAMESPACES:
        cluster.dgd_create(manifest=dgd_manifest(f"llama-{ns}", namespace=ns))
    listed = client.get("/api/deployments").json()["deployments"]
    assert {row["namespace"] for row in listed} == {"default"}
    page = client.get("/deployments/?wait=1").content.decode()
    assert "llama-default" in page and "llama-dynamo" not in page


@pytest.mark.parametrize("person", ["deployer-in-default"], indirect=True)
def test_the_deploy_form_offers_only_namespaces_where_the_user_may_deploy(person, cluster_sandbox):
    _, client = person
    html = client.get("/deployments/new/?model=qwen3-8b").content.decode()
    assert '<option value="default"' in html
    assert '<option value="dynamo"' not in html


def test_a_superuser_is_admin_everywhere(db, cluster_sandbox):
    admin = get_user_model().objects.create_superuser("root", password="unused-password-1")
    assert not Grant.objects.filter(user=admin).exists()
    client = Client()
    client.force_login(admin)
    cluster.dgd_create(manifest=dgd_manifest("llama", namespace="dynamo"))
    assert _delete(client, "dynamo").status_code == 202


def test_new_users_get_the_default_role(db, settings):
    settings.DYNAMOTE_DEFAULT_ROLE = "viewer"
    user = get_user_model().objects.create_user("new", password="unused-password-1")
    assert list(Grant.objects.filter(user=user).values_list("role", "namespace")) == [
        ("viewer", "")
    ]
    settings.DYNAMOTE_DEFAULT_ROLE = ""
    other = get_user_model().objects.create_user("newer", password="unused-password-1")
    assert not Grant.objects.filter(user=other).exists()


def test_a_group_grant_applies_to_its_members(db, cluster_sandbox):
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create_user("member", password="unused-password-1")
    Grant.objects.filter(user=user).delete()
    team = Group.objects.create(name="ml-team")
    user.groups.add(team)
    Grant.objects.create(group=team, role="deployer", namespace="dynamo")
    client = Client()
    client.force_login(user)
    cluster.dgd_create(manifest=dgd_manifest("llama", namespace="dynamo"))
    assert _delete(client, "dynamo").status_code == 202
