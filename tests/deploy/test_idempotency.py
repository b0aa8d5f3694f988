"""Idempotency keys per user and per request, lengths checked first, and unconfirmed outcomes."""

import io
import json
import time

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from deployments import cluster, services
from deployments.models import DeploymentDeletion, DeploymentSubmission, Outcome
from tests.deploy.conftest import NEW_URL, form_data
from tests.factories import grant_role

API = "/api/deployments"


def post(client, body: dict, key: str | None = None):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(API, json.dumps(body), content_type="application/json", headers=headers)


@pytest.fixture
def other_client(db):
    user = get_user_model().objects.create_user("ada", password="ada-password-1")
    grant_role(user, "deployer")
    client = Client()
    client.force_login(user)
    return client


# --- lengths the database enforces -------------------------------------------------------------


def test_an_idempotency_key_over_64_characters_is_400_before_anything_is_stored(
    member_client, cluster_sandbox
):
    response = post(member_client, {"modelId": "qwen3-8b"}, key="k" * 65)
    assert response.status_code == 400
    assert "at most 64" in response.json()["fields"]["Idempotency-Key"][0]
    assert not DeploymentSubmission.objects.exists()
    assert cluster_sandbox.request_count("create", "dynamographdeployments") == 0


def test_the_form_refuses_a_tampered_key_with_a_message(member_client, cluster_sandbox):
    response = member_client.post(NEW_URL, form_data(idempotency_key="k" * 65))
    assert "at most 64 printable ASCII characters" in response.content.decode()
    assert not DeploymentSubmission.objects.exists()


def test_a_delete_of_a_name_over_253_characters_is_400_and_records_nothing(
    member_client, cluster_sandbox
):
    response = member_client.delete(f"{API}/{'a' * 300}?namespace=default")
    assert response.status_code == 400
    [message] = response.json()["fields"]["name"]
    assert "at most 253" in message
    assert not DeploymentDeletion.objects.exists()


# --- keys per user, bound to the request ---------------------------------------------------------


def test_a_key_is_per_user(member_client, other_client, cluster_sandbox):
    first = post(member_client, {"modelId": "qwen3-8b", "name": "grace-one"}, key="shared")
    second = post(other_client, {"modelId": "qwen3-8b", "name": "ada-one"}, key="shared")
    assert (first.status_code, second.status_code) == (201, 201)
    assert cluster_sandbox.get("dgd", "default", "ada-one") is not None


def test_the_same_key_with_another_body_is_422(member_client, cluster_sandbox):
    assert post(member_client, {"modelId": "qwen3-8b", "name": "one"}, key="k1").status_code == 201
    again = post(member_client, {"modelId": "qwen3-8b", "name": "one"}, key="k1")
    assert again.status_code == 200 and again.json()["submission"]
    other = post(member_client, {"modelId": "qwen3-8b", "name": "two"}, key="k1")
    assert other.status_code == 422
    assert "different deployment request" in other.json()["error"]
    assert cluster_sandbox.get("dgd", "default", "two") is None


def test_from_opens_only_the_users_own_submissions(
    member_client, other_client, admin_client, cluster_sandbox
):
    post(other_client, {"modelId": "qwen3-8b", "name": "ada-two", "replicas": 3}, key="a")
    theirs = DeploymentSubmission.objects.get()
    query = {"model": "qwen3-8b", "from": theirs.pk}
    assert "Filled in from submission" not in member_client.get(NEW_URL, query).content.decode()
    assert "Filled in from submission" in other_client.get(NEW_URL, query).content.decode()
    assert "Filled in from submission" in admin_client.get(NEW_URL, query).content.decode()


# --- a create or delete the cluster did not confirm ----------------------------------------------


@pytest.fixture
def slow_after(monkeypatch, cluster_sandbox):
    """After the named step, every cluster answer is slower than the client waits."""
    monkeypatch.setattr(cluster, "TIMEOUT", (3, 0.5))

    def arm(step: str) -> None:
        real = getattr(services, step)

        def then_slow(**kwargs):
            result = real(**kwargs)
            cluster_sandbox.set_latency(1.0)
            return result

        monkeypatch.setattr(services, step, then_slow)

    yield arm
    cluster_sandbox.clear_faults()


def wait_for(check, seconds: float = 5.0):
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the sandbox did not apply the request"
        time.sleep(0.05)


def test_a_timed_out_create_is_unknown_and_the_next_view_settles_it(
    member_client, cluster_sandbox, slow_after
):
    slow_after("deployment_dry_run")
    response = post(member_client, {"modelId": "qwen3-8b", "name": "slow"}, key="s1")
    assert response.status_code == 503
    assert response.json()["outcome"] == "unknown"
    submission = DeploymentSubmission.objects.get()
    assert submission.outcome == Outcome.UNKNOWN
    assert "same Idempotency-Key" in submission.message
    cluster_sandbox.clear_faults()
    # The cluster applied the create although the answer never arrived.
    wait_for(lambda: cluster_sandbox.get("dgd", "default", "slow") is not None)
    assert member_client.get(f"{API}/slow?namespace=default").status_code == 200
    submission.refresh_from_db()
    assert submission.outcome == Outcome.SUCCEEDED


def test_a_retry_with_the_same_key_finds_the_created_deployment(
    member_client, cluster_sandbox, slow_after
):
    slow_after("deployment_dry_run")
    body = {"modelId": "qwen3-8b", "name": "slow-two"}
    assert post(member_client, body, key="s2").status_code == 503
    cluster_sandbox.clear_faults()
    wait_for(lambda: cluster_sandbox.get("dgd", "default", "slow-two") is not None)
    retry = post(member_client, body, key="s2")
    assert retry.status_code == 200
    assert retry.json()["deployment"]["metadata"]["name"] == "slow-two"
    assert DeploymentSubmission.objects.get().outcome == Outcome.SUCCEEDED


def test_a_retry_with_the_same_key_creates_what_the_cluster_never_made(
    member_client, cluster_sandbox, monkeypatch
):
    real = services.deployment_dry_run

    def then_gateway_timeout(**kwargs):
        result = real(**kwargs)
        cluster_sandbox.fail_next(1, 504)
        return result

    monkeypatch.setattr(services, "deployment_dry_run", then_gateway_timeout)
    body = {"modelId": "qwen3-8b", "name": "lost"}
    first = post(member_client, body, key="s3")
    assert first.status_code == 503 and first.json()["outcome"] == "unknown"
    assert cluster_sandbox.get("dgd", "default", "lost") is None
    monkeypatch.setattr(services, "deployment_dry_run", real)
    cluster_sandbox.stop()
    while_down = post(member_client, body, key="s3")
    assert while_down.status_code == 503 and while_down.json()["outcome"] == "unknown"
    assert DeploymentSubmission.objects.get().outcome == Outcome.UNKNOWN
    cluster_sandbox.start()
    retry = post(member_client, body, key="s3")
    assert retry.status_code == 201
    assert cluster_sandbox.get("dgd", "default", "lost") is not None
    assert DeploymentSubmission.objects.get().outcome == Outcome.SUCCEEDED


def test_the_form_keeps_the_key_of_an_unconfirmed_create(
    member_client, cluster_sandbox, slow_after
):
    slow_after("deployment_dry_run")
    html = member_client.post(NEW_URL, form_data(idempotency_key="f1")).content.decode()
    assert "did not confirm the create" in html
    assert 'value="f1"' in html  # deploying again finishes this submission


def test_a_timed_out_delete_is_unknown_and_a_repeat_finishes_it(
    member_client, cluster_sandbox, slow_after
):
    assert post(member_client, {"modelId": "qwen3-8b", "name": "bye"}, key="d1").status_code == 201
    slow_after("deletion_target")
    response = member_client.delete(f"{API}/bye?namespace=default")
    assert response.status_code == 503
    assert response.json()["outcome"] == "unknown"
    record = DeploymentDeletion.objects.get()
    assert record.outcome == Outcome.UNKNOWN
    cluster_sandbox.clear_faults()
    wait_for(lambda: cluster_sandbox.get("dgd", "default", "bye") is None)
    again = member_client.delete(f"{API}/bye?namespace=default")
    assert again.status_code == 202 and again.json()["deletionId"] == record.pk
    record.refresh_from_db()
    assert record.outcome == Outcome.SUCCEEDED


def test_the_details_page_settles_an_unconfirmed_delete(member_client, cluster_sandbox, slow_after):
    assert post(member_client, {"modelId": "qwen3-8b", "name": "bye2"}, key="d2").status_code == 201
    slow_after("deletion_target")
    assert member_client.delete(f"{API}/bye2?namespace=default").status_code == 503
    cluster_sandbox.clear_faults()
    wait_for(lambda: cluster_sandbox.get("dgd", "default", "bye2") is None)
    member_client.get("/deployments/default/bye2/")
    assert DeploymentDeletion.objects.get().outcome == Outcome.SUCCEEDED


def test_the_form_sent_again_with_other_values_is_a_new_request(
    member_client, cluster_sandbox, slow_after
):
    slow_after("deployment_dry_run")
    member_client.post(NEW_URL, form_data(idempotency_key="f2"))
    cluster_sandbox.clear_faults()
    html = member_client.post(NEW_URL, form_data(idempotency_key="f2", replicas=2)).content
    assert "This form was sent before with other values" in html.decode()
    assert DeploymentSubmission.objects.count() == 1


def test_a_background_check_settles_unknown_outcomes(member_client, cluster_sandbox, slow_after):
    slow_after("deployment_dry_run")
    assert (
        post(member_client, {"modelId": "qwen3-8b", "name": "later"}, key="b1").status_code == 503
    )
    cluster_sandbox.clear_faults()
    wait_for(lambda: cluster_sandbox.get("dgd", "default", "later") is not None)
    out = io.StringIO()
    call_command("settle_unknown", stdout=out)
    assert "0 outcomes still unknown" in out.getvalue()
    assert DeploymentSubmission.objects.get().outcome == Outcome.SUCCEEDED
