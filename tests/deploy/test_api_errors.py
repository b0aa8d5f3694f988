"""Every /api/ answer is JSON with one error shape: {"error": "...", "fields": {...}}."""

import json

import pytest
from django.test import Client

from deployments import mirror

API = "/api/deployments"


def assert_error_shape(response, status: int) -> dict:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["fields"], dict)
    return body


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"{not json", id="invalid"),
        pytest.param(b"null", id="null"),
        pytest.param(b"[]", id="list"),
        pytest.param(b'"qwen3-8b"', id="string"),
        pytest.param(b'{"modelId": "\xff\xfe"}', id="bad-utf8"),
        pytest.param(b"[" * 50_000 + b"]" * 50_000, id="deep"),
        pytest.param(b'{"a":' * 40 + b"1" + b"}" * 40, id="nested-object"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_400_json(member_client, db, raw):
    response = member_client.post(API, raw, content_type="application/json")
    assert_error_shape(response, 400)


def test_a_body_over_the_limit_is_413_json(member_client, db, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"modelId": "qwen3-8b", "name": "x" * 2000})
    assert_error_shape(member_client.post(API, body, content_type="application/json"), 413)


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", API), ("delete", f"{API}/anything?namespace=default")],
)
def test_an_anonymous_write_is_401_json_not_the_csrf_page(db, method, path):
    strict = Client(enforce_csrf_checks=True)
    response = getattr(strict, method)(path, "{}", content_type="application/json")
    body = assert_error_shape(response, 401)
    assert "log in" in body["error"]


def test_a_missing_csrf_token_is_403_json(member):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(member)
    response = strict.post(API, "{}", content_type="application/json")
    assert_error_shape(response, 403)


def test_unknown_routes_and_methods_are_json(member_client, db):
    assert_error_shape(member_client.get("/api/nothing-here"), 404)
    assert_error_shape(member_client.get("/api/models/no-such-model"), 404)
    response = member_client.put(API, "{}", content_type="application/json")
    body = assert_error_shape(response, 405)
    assert "POST" in response["Allow"] and body["fields"] == {}


def test_an_anonymous_read_is_401_in_the_same_shape(client, db):
    assert_error_shape(client.get(API), 401)


def test_field_mistakes_are_400_with_the_fields(member_client, cluster_sandbox):
    body = {"modelId": "qwen3-8b", "replicas": 11}
    response = member_client.post(API, json.dumps(body), content_type="application/json")
    fields = assert_error_shape(response, 400)["fields"]
    assert fields == {"replicas": ["Choose between 1 and 10 replicas."]}


def test_a_cluster_that_refuses_the_credentials_is_502_never_401(member_client, cluster_sandbox):
    mirror.reset()
    cluster_sandbox.fail_next(20, 401)
    response = member_client.get(API)
    body = assert_error_shape(response, 502)
    assert "refused Dynamote's credentials" in body["error"]
    cluster_sandbox.clear_faults()
