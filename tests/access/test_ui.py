"""The pages hide what the user may not do, and say why."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from deployments import cluster
from tests.dashboard.conftest import dgd_manifest
from tests.factories import grant_role
from tests.fixtures.cluster import count_from_now


@pytest.fixture
def viewer_client(db):
    user = get_user_model().objects.create_user("val", password="unused-password-1")
    grant_role(user, "viewer")
    client = Client()
    client.force_login(user)
    return client


REASON = "You need the Deployer role in namespace default to delete deployments."


def test_a_viewer_sees_delete_greyed_with_the_reason(viewer_client, cluster_sandbox):
    cluster.dgd_create(manifest=dgd_manifest("llama"))
    detail = viewer_client.get("/deployments/default/llama/").content.decode()
    assert REASON in detail and 'href="/deployments/default/llama/delete/"' not in detail
    table = viewer_client.get("/deployments/?wait=1").content.decode()
    assert REASON in table and "/deployments/default/llama/delete/?from=index" not in table


def test_a_viewer_sees_deploy_greyed_in_the_catalog(viewer_client, db):
    html = viewer_client.get("/").content.decode()
    assert "You need the Deployer role in any namespace to deploy." in html
    assert "/deployments/new/?model=" not in html


def test_a_deployer_gets_working_buttons(member_client, cluster_sandbox):
    cluster.dgd_create(manifest=dgd_manifest("llama"))
    assert "/deployments/new/?model=" in member_client.get("/").content.decode()
    detail = member_client.get("/deployments/default/llama/").content.decode()
    assert 'href="/deployments/default/llama/delete/"' in detail and "role to" not in detail


def test_rows_differ_per_viewer_although_they_are_cached(
    member_client, viewer_client, cluster_sandbox
):
    cluster.dgd_create(manifest=dgd_manifest("llama"))
    assert REASON not in member_client.get("/deployments/?wait=1").content.decode()
    assert REASON in viewer_client.get("/deployments/?wait=1").content.decode()
    assert REASON not in member_client.get("/deployments/?wait=1").content.decode()


def test_a_viewer_sees_scale_and_edit_greyed_and_is_refused(viewer_client, cluster_sandbox):
    cluster.dgd_create(manifest=dgd_manifest("llama"))
    html = viewer_client.get("/deployments/default/llama/").content.decode()
    reason = "You need the Deployer role in namespace default to scale deployments."
    assert reason in html and 'href="/deployments/default/llama/edit/"' not in html
    count_from_now(cluster_sandbox)
    response = viewer_client.post(
        "/deployments/default/llama/scale/", {"replicas-VllmWorker": "2", "current-VllmWorker": "1"}
    )
    assert response.status_code == 403
    assert [
        r for r in cluster_sandbox.request_log if r["verb"] not in ("get", "list", "watch")
    ] == []
