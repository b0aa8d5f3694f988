"""With DYNAMOTE_IMPERSONATE on, Kubernetes decides: a user sees and changes only what the
cluster's RBAC lets them, Dynamote's writes carry their name, and the pages grey out the rest."""

from __future__ import annotations

import html

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from access.tokens import create_token
from deployments import cluster
from tests.dashboard.conftest import dgd_manifest
from tests.factories import grant_role
from tests.fixtures.cluster import count_from_now

from .conftest import create_dgd, signed_in

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _writes(sandbox) -> list[dict]:
    return [r for r in sandbox.request_log if r["verb"] in ("create", "patch", "update", "delete")]


def test_a_user_bound_to_view_in_one_namespace_sees_it_and_is_refused_the_other(
    rbac, impersonating
):
    create_dgd(dgd_manifest("llama"))
    create_dgd(dgd_manifest("qwen", namespace="dynamo"))
    rbac.bind("alice-view", role="dgd-viewer", namespace="default", user="alice")
    alice = signed_in("alice")

    listing = alice.get("/deployments/?wait=1").context["listing"]
    assert [(row.namespace, row.name) for row in listing.rows] == [("default", "llama")]
    assert alice.get("/deployments/default/llama/").status_code == 200

    refused = alice.get("/deployments/dynamo/qwen/")
    assert refused.status_code == 403
    assert (
        "Kubernetes does not allow alice to list DynamoGraphDeployments in namespace dynamo"
    ) in _text(refused)
    assert alice.get("/deployments/", {"namespace": "dynamo", "wait": "1"}).status_code == 403

    # The API answers the same, in JSON.
    api = alice.get("/api/deployments", {"namespace": "dynamo"})
    assert api.status_code == 403
    assert "Kubernetes does not allow alice" in api.json()["error"]


def test_a_viewer_sees_changes_greyed_with_kubernetes_reason_and_nothing_is_written(
    rbac, impersonating
):
    create_dgd(dgd_manifest("llama"))
    rbac.bind("alice-view", role="dgd-viewer", namespace="default", user="alice")
    alice = signed_in("alice")
    detail = _text(alice.get("/deployments/default/llama/"))
    reason = (
        "Kubernetes does not allow alice to delete DynamoGraphDeployments in namespace default, "
        "so you may not delete deployments there."
    )
    assert reason in detail
    assert 'href="/deployments/default/llama/delete/"' not in detail
    assert "Kubernetes does not allow alice to patch DynamoGraphDeployments" in detail  # restart

    count_from_now(impersonating)
    response = alice.post("/deployments/default/llama/delete/", {"confirm": "llama"})
    assert response.status_code == 403
    assert reason in _text(response)
    assert _writes(impersonating) == []
    assert impersonating.get("dgd", "default", "llama") is not None


def test_dynamote_roles_no_longer_decide_cluster_actions(rbac, impersonating):
    create_dgd(dgd_manifest("qwen", namespace="dynamo"))
    alice = signed_in("alice")
    grant_role(get_user_model().objects.get(username="alice"), "deployer")
    assert alice.get("/deployments/dynamo/qwen/").status_code == 403


def test_a_write_the_cluster_refuses_names_the_user_and_changes_nothing(rbac, impersonating):
    create_dgd(dgd_manifest("llama"))
    rbac.bind("alice-edit", role="dgd-editor", namespace="default", user="alice")
    alice = signed_in("alice")
    page = _text(alice.get("/deployments/default/llama/"))
    assert 'href="/deployments/default/llama/delete/"' in page  # Kubernetes allows it now
    # A cluster admin takes the right away; Dynamote's kept answer is still "allowed".
    rbac.unbind("alice-edit", namespace="default")
    count_from_now(impersonating)

    response = alice.post("/deployments/default/llama/delete/", {"confirm": "llama"}, follow=True)
    text = _text(response)
    assert (
        'Kubernetes does not allow alice to delete dynamographdeployments in namespace "default"'
    ) in text
    assert impersonating.get("dgd", "default", "llama") is not None
    deletes = [r for r in _writes(impersonating) if r["verb"] == "delete"]
    assert [(r["user"], r["status"]) for r in deletes] == [("alice", 403)]


def test_an_allowed_write_goes_as_the_user_and_reads_as_dynamote(rbac, impersonating):
    create_dgd(dgd_manifest("llama"))
    rbac.bind("alice-edit", role="dgd-editor", namespace="default", user="alice")
    alice = signed_in("alice")
    count_from_now(impersonating)
    response = alice.post("/deployments/default/llama/delete/", {"confirm": "llama"})
    assert response.status_code in (200, 302)
    log = impersonating.request_log
    deletes = [r for r in log if r["verb"] == "delete"]
    assert [(r["user"], r["status"]) for r in deletes] == [("alice", 200)]
    reads = {r["user"] for r in log if r["verb"] in ("get", "list")}
    assert reads == {impersonating.user}  # the shared reads go as Dynamote's account


def test_every_group_of_the_user_is_impersonated(rbac, impersonating):
    create_dgd(dgd_manifest("llama"))
    rbac.bind("ops-edit", role="dgd-editor", namespace="default", group="ops")
    # Two groups: each goes in its own Impersonate-Group header, so "ops" is matched.
    bob = signed_in("bob", "ml-team", "ops")
    count_from_now(impersonating)
    response = bob.post("/deployments/default/llama/delete/", {"confirm": "llama"})
    assert response.status_code in (200, 302)
    deletes = [r for r in impersonating.request_log if r["verb"] == "delete"]
    assert [(r["user"], r["status"]) for r in deletes] == [("bob", 200)]


def test_prefixes_name_the_user_and_groups_as_the_cluster_knows_them(rbac, impersonating, settings):
    settings.DYNAMOTE_IMPERSONATE_USER_PREFIX = "oidc:"
    settings.DYNAMOTE_IMPERSONATE_GROUP_PREFIX = "oidc:"
    create_dgd(dgd_manifest("llama"))
    create_dgd(dgd_manifest("qwen", namespace="dynamo"))
    rbac.bind("alice-view", role="dgd-viewer", namespace="default", user="oidc:alice")
    rbac.bind("team-view", role="dgd-viewer", namespace="dynamo", group="oidc:ml-team")
    alice = signed_in("alice")
    carol = signed_in("carol", "ml-team")
    assert alice.get("/deployments/default/llama/").status_code == 200
    assert carol.get("/deployments/dynamo/qwen/").status_code == 200
    assert carol.get("/deployments/default/llama/").status_code == 403


def test_an_api_token_acts_as_its_owner(rbac, impersonating):
    create_dgd(dgd_manifest("llama"))
    rbac.bind("alice-view", role="dgd-viewer", namespace="default", user="alice")
    signed_in("alice")
    _, token = create_token(get_user_model().objects.get(username="alice"), name="ci")
    bearer = {"Authorization": f"Bearer {token}"}
    client = Client()
    assert client.get("/api/deployments", {"namespace": "default"}, headers=bearer).status_code == (
        200
    )
    refused = client.get("/api/deployments", {"namespace": "dynamo"}, headers=bearer)
    assert refused.status_code == 403
    assert "alice" in refused.json()["error"]


def test_the_deploy_form_offers_only_namespaces_kubernetes_allows(rbac, impersonating):
    rbac.bind("alice-edit", role="dgd-editor", namespace="dynamo", user="alice")
    alice = signed_in("alice")
    form = alice.get("/deployments/new/", {"model": "qwen3-8b"})
    assert form.status_code == 200
    choices = form.context["form"].fields["namespace"].choices
    assert [value for value, _ in choices] == ["dynamo"]


def test_without_the_impersonate_right_the_user_is_told_what_dynamote_lacks(rbac, impersonating):
    create_dgd(dgd_manifest("llama"))
    rbac.bind("alice-view", role="dgd-viewer", namespace="default", user="alice")
    impersonating.set_permissions(
        [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch", "create"]}]
    )
    refused = signed_in("alice").get("/deployments/default/llama/")
    assert refused.status_code == 403
    assert "Dynamote's account may not act as alice" in _text(refused)
    assert 'cannot impersonate resource "users"' in _text(refused)


def test_a_page_asks_each_question_once_per_namespace(rbac, impersonating):
    for name in ("a", "b", "c", "d", "e", "f"):
        create_dgd(dgd_manifest(name))
    rbac.bind("alice-view", role="dgd-viewer", namespace="default", user="alice")
    alice = signed_in("alice")
    count_from_now(impersonating)
    assert alice.get("/deployments/", {"namespace": "default"}).status_code == 200
    first = impersonating.request_count("create", "selfsubjectaccessreviews")
    assert 1 <= first <= 4  # see, then delete and scale for the rows: not one per row
    alice.get("/deployments/", {"namespace": "default"})
    assert impersonating.request_count("create", "selfsubjectaccessreviews") == first


def test_outside_a_request_dynamote_acts_as_itself(impersonating):
    count_from_now(impersonating)
    create_dgd(dgd_manifest("llama"))
    assert {r["user"] for r in impersonating.request_log} == {impersonating.user}
    assert cluster.acting() is None


def test_with_impersonation_off_writes_go_as_dynamote_and_roles_decide(
    cluster_sandbox, member_client
):
    create_dgd(dgd_manifest("llama"))
    count_from_now(cluster_sandbox)
    response = member_client.post("/deployments/default/llama/delete/", {"confirm": "llama"})
    assert response.status_code in (200, 302)
    assert {r["user"] for r in cluster_sandbox.request_log} == {cluster_sandbox.user}
    assert cluster_sandbox.request_count("create", "selfsubjectaccessreviews") == 0
