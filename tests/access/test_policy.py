"""Deployers may mount only allowed Secrets and run only allowed images; Admins may override."""

import json

import pytest

from access.models import AuditEntry
from access.policy import allowed_secrets
from tests.deploy.conftest import NEW_URL, form_data
from tests.factories import grant_role
from tests.fixtures.cluster import count_from_now


def _api(client, **config):
    body = {"modelId": "qwen3-8b", "name": "qwen-a", **config}
    return client.post("/api/deployments", json.dumps(body), content_type="application/json")


@pytest.mark.parametrize(
    ("config", "field", "words"),
    [
        ({"hfTokenSecret": "db-password"}, "hf_token_secret", "only these Secrets"),
        ({"image": "docker.io/evil/vllm:latest"}, "image", "only images under"),
    ],
    ids=["secret", "image"],
)
def test_a_deployer_is_refused_what_the_allow_lists_do_not_name(
    member_client, cluster_sandbox, config, field, words
):
    count_from_now(cluster_sandbox)
    response = _api(member_client, **config)
    assert response.status_code == 400
    assert words in response.json()["fields"][field][0]
    assert [r for r in cluster_sandbox.request_log if r["verb"] == "create"] == []
    assert AuditEntry.objects.filter(action="deploy", outcome="refused").exists()


def test_the_form_puts_the_refusal_next_to_the_field(member_client, cluster_sandbox):
    data = form_data(hf_token_secret="db-password", name="qwen-a")
    html = member_client.post(NEW_URL, data).content.decode()
    assert "Deployers may reference only these Secrets in namespace default" in html
    assert cluster_sandbox.get("dgd", "default", "qwen-a") is None


def test_an_admin_may_override(member_client, member, cluster_sandbox):
    grant_role(member, "admin")
    response = _api(member_client, image="registry.example.com/dynamo/vllm-runtime:1.4.0")
    assert response.status_code == 201, response.content


def test_the_allow_lists_are_settings(member_client, cluster_sandbox, settings):
    settings.DYNAMOTE_ALLOWED_SECRETS = ["hf-token-secret", "default:team-token"]
    settings.DYNAMOTE_ALLOWED_IMAGE_PREFIXES = ["registry.example.com/"]
    assert (
        _api(member_client, image="nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.0").status_code == 400
    )
    response = _api(member_client, image="registry.example.com/vllm-runtime:1.4.0")
    assert response.status_code == 201, response.content
    assert allowed_secrets("default") == ["hf-token-secret", "team-token"]
    assert allowed_secrets("team-b") == ["hf-token-secret"]
