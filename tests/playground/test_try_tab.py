"""The Try tab on the details page: the chat for a Ready deployment, why not for others."""

import html

import pytest
from django.contrib.auth import get_user_model

from deployments import cluster
from tests.dashboard.conftest import dgd_manifest
from tests.factories import grant_role
from tests.playground.conftest import MODEL, proxy_requests

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
TRY = "/deployments/default/llama/try/"


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_the_details_page_has_the_try_tab(member_client, ready_llama):
    page = text(member_client.get("/deployments/default/llama/"))
    assert 'href="#try"' in page
    assert f'hx-get="{TRY}"' in page  # the tab loads when the page opens
    # Opening the details page costs the frontend nothing.
    assert proxy_requests(ready_llama) == []


def test_a_ready_deployment_offers_the_chat_and_lists_its_models(member_client, ready_llama):
    response = member_client.get(TRY, headers=HTMX)
    assert response.status_code == 200
    assert response.context_data["models"] == [MODEL]
    page = text(response)
    assert "data-playground" in page
    assert 'data-chat-url="/api/deployments/llama/chat?namespace=default"' in page
    assert "Context: 32768 tokens" in page
    assert "curl -N 'http://testserver/api/deployments/llama/chat?namespace=default'" in page
    [listed] = proxy_requests(ready_llama)
    assert listed["path"].endswith("/services/llama-frontend:8000/proxy/v1/models")


def test_the_curl_follows_the_fields_shell_quoted(member_client, db):
    response = member_client.get(
        TRY,
        {"part": "curl", "message": "it's $(rm -rf /)", "system": "Be brief.", "max_tokens": "64"},
        headers=HTMX,
    )
    curl = response.context_data["curl"]
    assert "-H 'Authorization: Bearer <your Dynamote API token>'" in curl
    body = curl.split("-d ", 1)[1]
    assert body.startswith("'") and body.endswith("'")  # one argument, nothing expanded
    assert '"content": "it\'"\'"\'s $(rm -rf /)"' in body
    assert '"max_tokens": 64' in body and '"role": "system"' in body


def test_a_deployment_that_is_not_ready_explains_why(member_client, cluster_sandbox):
    cluster.dgd_create(manifest=dgd_manifest("llama", gpus=64))
    cluster_sandbox.advance(5)
    response = member_client.get(TRY, headers=HTMX)
    page = text(response)
    assert (
        "llama is Pending, not Ready: its frontend answers once every component is serving." in page
    )
    assert "Insufficient nvidia.com/gpu" in page
    assert "data-playground" not in page
    assert 'hx-trigger="every 10s"' in page  # it looks again until the deployment is Ready
    assert proxy_requests(cluster_sandbox) == []


def test_a_viewer_sees_the_models_and_why_they_may_not_chat(client, ready_llama):
    viewer = get_user_model().objects.create_user("vera", password="vera-password-1")
    grant_role(viewer, "viewer")
    client.force_login(viewer)
    response = client.get(TRY)
    page = text(response)
    assert response.context_data["models"] == [MODEL]
    assert "You need the Deployer role in namespace default to chat with deployments." in page
    assert "data-playground" not in page


def test_the_try_page_works_on_its_own(member_client, ready_llama):
    response = member_client.get(TRY)
    assert response.status_code == 200
    assert "Try llama" in text(response)
