"""API tokens: created once, stored hashed, sent as a bearer token, expiring and revocable."""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from access.models import ApiToken, AuditEntry
from access.tokens import create_token
from deployments import cluster
from tests.dashboard.conftest import dgd_manifest
from tests.fixtures.cluster import count_from_now


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_acts_as_its_owner_without_a_session_or_csrf(member, cluster_sandbox):
    _, token = create_token(member, name="ci")
    cluster.dgd_create(manifest=dgd_manifest("llama"))
    client = Client(enforce_csrf_checks=True)
    assert client.get("/api/deployments", headers=bearer(token)).status_code == 200
    response = client.delete("/api/deployments/llama?namespace=default", headers=bearer(token))
    assert response.status_code == 202
    entry = AuditEntry.objects.get(action="delete", name="llama")
    assert (entry.actor, entry.auth, entry.outcome) == ("grace", "token:ci", "succeeded")


def test_only_the_hash_is_stored_and_last_use_is_recorded(member, cluster_sandbox):
    record, token = create_token(member, name="ci")
    assert token not in json.dumps(list(ApiToken.objects.values()), default=str)
    assert record.last_used is None
    Client().get("/api/deployments", headers=bearer(token))
    record.refresh_from_db()
    assert record.last_used is not None


@pytest.mark.parametrize(
    "spoil, message",
    [
        (lambda r: setattr(r, "revoked", timezone.now()), 'The API token "ci" was revoked.'),
        (
            lambda r: setattr(r, "expires", timezone.now() - timedelta(seconds=1)),
            'The API token "ci" expired; create a new one.',
        ),
    ],
    ids=["revoked", "expired"],
)
def test_a_revoked_or_expired_token_is_401_and_audited(member, cluster_sandbox, spoil, message):
    record, token = create_token(member, name="ci")
    spoil(record)
    record.save()
    count_from_now(cluster_sandbox)
    response = Client().get("/api/deployments", headers=bearer(token))
    assert response.status_code == 401 and response.json()["error"] == message
    assert cluster_sandbox.request_log == []
    assert AuditEntry.objects.filter(action="token-sign-in", outcome="refused").exists()


@pytest.mark.parametrize(
    "token", ["dyn_00000000_wrong", "not-a-dynamote-token", "dyn_only-two"], ids=str
)
def test_a_forged_token_is_401(member, token):
    _, real = create_token(member, name="ci")
    forged = token if "wrong" not in token else real[:-4] + "abcd"
    response = Client().get("/api/deployments", headers=bearer(forged))
    assert response.status_code == 401
    assert response.json()["error"] in (
        "The API token is not valid.",
        "The bearer token is not a Dynamote API token.",
    )


def test_a_read_only_token_reads_but_may_not_change_anything(member, cluster_sandbox):
    _, token = create_token(member, name="dashboards", read_only=True)
    cluster.dgd_create(manifest=dgd_manifest("llama"))
    client = Client()
    assert client.get("/api/deployments/llama", headers=bearer(token)).status_code == 200
    count_from_now(cluster_sandbox)
    response = client.delete("/api/deployments/llama?namespace=default", headers=bearer(token))
    assert response.status_code == 403
    assert response.json()["error"] == (
        "This API token is read-only: it may not delete deployments."
    )
    assert cluster_sandbox.request_log == []
    body = json.dumps({"modelId": "qwen3-8b"})
    response = client.post(
        "/api/deployments", body, content_type="application/json", headers=bearer(token)
    )
    assert response.status_code == 403


def test_a_token_never_signs_in_the_pages(member):
    _, token = create_token(member, name="ci")
    response = Client().get("/deployments/", headers=bearer(token))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_without_credentials_every_api_route_is_401_json(db):
    for url in ["/api/deployments", "/api/deployments/llama", "/api/models", "/api/cluster/status"]:
        response = Client().get(url)
        assert response.status_code == 401, url
        assert response.json()["error"].startswith("Authentication required")


def test_create_token_prints_a_working_token(member, cluster_sandbox):
    out = io.StringIO()
    call_command(
        "create_token", "grace", "--name", "ci", "--expires-days", "30", "--read-only", stdout=out
    )
    token = out.getvalue().strip()
    record = ApiToken.objects.get(name="ci")
    assert record.read_only and record.expires > timezone.now() + timedelta(days=29)
    assert Client().get("/api/deployments", headers=bearer(token)).status_code == 200
    assert AuditEntry.objects.get(action="token-create").actor == "manage.py"
