"""The OpenAPI document describes every /api/ route, and every answer matches it."""

import re

import jsonschema
import pytest
from django.test import Client
from openapi_spec_validator import validate

from access.tokens import create_token
from deployments import cluster, mirror
from dynamote.openapi import document
from tests.api.contract import ApiClient, api_routes, check
from tests.dashboard.conftest import dgd_manifest
from tests.operate.test_operate import components

METHODS = ("get", "post", "put", "patch", "delete")
# Values for the path parameters when probing each route.
PROBE = {"name": "no-such-deployment", "number": "1", "slug": "qwen3-8b"}


def _url(path: str) -> str:
    for key, value in PROBE.items():
        path = path.replace("{" + key + "}", value)
    return path


@pytest.fixture
def api(admin_client) -> ApiClient:
    return ApiClient(admin_client)


def test_every_api_route_is_documented_and_every_documented_path_is_routed(db):
    documented = set(document()["paths"])
    routed = set(api_routes())
    assert routed - documented == set(), "add an operation in dynamote/openapi.py"
    assert documented - routed == set()


def test_every_method_a_route_answers_is_documented_and_no_other(admin_client, cluster_sandbox):
    paths = document()["paths"]
    wrong = []
    for path in api_routes():
        for method in METHODS:
            body = () if method in ("get", "delete") else ("{}", "application/json")
            response = getattr(admin_client, method)(_url(path), *body)
            answered = response.status_code != 405
            if answered != (method in paths[path]):
                wrong.append(f"{method.upper()} {path}: {response.status_code}")
    assert wrong == []


def test_every_operation_answers_401_json_without_credentials(db):
    anonymous = Client()
    for path, operations in document()["paths"].items():
        for method in operations:
            response = check(getattr(anonymous, method)(_url(path)))
            expected = 200 if path == "/api/health" else 401
            assert response.status_code == expected, f"{method} {path}"


def test_the_examples_match_their_schemas(db):
    doc = document()
    schemas = doc["components"]["schemas"]
    checked = 0
    for schema in schemas.values():
        for example in schema.get("examples", []):
            resolver = {"components": {"schemas": schemas}, **schema}
            jsonschema.Draft202012Validator(resolver).validate(example)
            checked += 1
    assert checked >= 6


def test_the_catalog_cluster_audit_and_document_answers(api, cluster_sandbox):
    assert api.get("/api/health").status_code == 200
    assert api.get("/api/models?q=qwen&engine=vllm").json()["models"]
    assert api.get("/api/models/qwen3-8b").status_code == 200
    assert api.get("/api/models/nope").status_code == 404
    assert api.get("/api/cluster/status").json()["state"] == "connected"
    assert api.get("/api/audit?outcome=succeeded").status_code == 200
    assert api.get("/api/audit?since=yesterday").status_code == 400
    assert api.get("/api/openapi.json").json()["openapi"].startswith("3.")
    assert api.get("/api/docs").status_code == 200


def test_a_deployments_life_through_the_api(api, cluster_sandbox):
    key = {"HTTP_IDEMPOTENCY_KEY": "contract-1"}
    body = {"modelId": "qwen3-8b", "engine": "vllm", "name": "qwen", "mode": "disaggregated"}
    assert api.post("/api/deployments", {**body, "replicas": 0}).status_code == 400
    assert api.post("/api/deployments?dryRun=true", body).json()["dryRun"] is True
    assert api.post("/api/deployments", body, **key).status_code == 201
    assert api.post("/api/deployments", body, **key).status_code == 200  # the same key
    taken = api.post("/api/deployments", body, HTTP_IDEMPOTENCY_KEY="contract-2")
    assert taken.status_code == 409
    cluster_sandbox.advance(120)

    assert api.get("/api/deployments").json()["deployments"][0]["name"] == "qwen"
    assert api.get("/api/deployments?namespace=Bad").status_code == 400
    assert api.get("/api/deployments/qwen").json()["pods"]
    assert api.get("/api/deployments/nope").status_code == 404
    assert api.get("/api/deployments/Bad.Name").status_code == 400
    assert api.get("/api/deployments/qwen/pods").json()["pods"]
    assert api.get("/api/deployments/qwen/manifest").status_code == 200
    assert api.get("/api/deployments/nope/manifest").status_code == 404
    assert api.get("/api/deployments/qwen/config").json()["name"] == "qwen"

    decode = next(name for name in components(cluster_sandbox) if "Decode" in name)
    scale = {"replicas": {decode: 2}}
    preview = api.patch("/api/deployments/qwen?dryRun=true", scale).json()
    stale = api.patch("/api/deployments/qwen", {**scale, "resourceVersion": "1"})
    assert stale.status_code == 409 and stale.json()["diff"]
    assert api.patch("/api/deployments/qwen", {"size": 2}).status_code == 400
    assert api.patch("/api/deployments/nope", scale).status_code == 404
    changed = api.patch(
        "/api/deployments/qwen", {**scale, "resourceVersion": preview["resourceVersion"]}
    )
    assert changed.status_code == 200 and changed.json()["revision"]
    edited = api.patch("/api/deployments/qwen", {"config": {"contextLength": 8192}})
    assert edited.status_code == 200, edited.content
    assert api.patch("/api/deployments/qwen", {"config": {"name": "x"}}).status_code == 400

    revisions = api.get("/api/deployments/qwen/revisions").json()["revisions"]
    first = revisions[-1]["revision"]
    assert api.get(f"/api/deployments/qwen/revisions/{first}").json()["rollback"]
    assert api.get("/api/deployments/qwen/revisions/99").status_code == 404
    assert api.post("/api/deployments/qwen/rollback?dryRun=true", {"revision": first}).json()
    assert api.post("/api/deployments/qwen/rollback", {"revision": 99}).status_code == 404
    assert api.post("/api/deployments/qwen/rollback", {}).status_code == 400
    assert api.post("/api/deployments/qwen/rollback", {"revision": first}).status_code == 200

    assert api.post("/api/deployments/qwen/restart", {"components": ["x"]}).status_code == 400
    assert api.post("/api/deployments/qwen/restart", {}).status_code == 202
    assert api.post("/api/deployments/nope/restart", {}).status_code == 404

    assert api.delete("/api/deployments/qwen").status_code == 202
    assert api.delete("/api/deployments/nope").status_code == 404


def test_external_deployments_adopt_and_config_answers(api, cluster_sandbox):
    cluster.dgd_create(manifest=dgd_manifest("outside", external=True))
    assert api.get("/api/deployments/outside/config").status_code == 409
    assert api.post("/api/deployments/outside/adopt").json()["adopted"] is True
    assert api.post("/api/deployments/nope/adopt").status_code == 404
    assert api.post("/api/deployments/outside/adopt?namespace=Bad").status_code == 400


def test_refusals_and_token_answers(member, viewer_client, cluster_sandbox):
    viewer = ApiClient(viewer_client)
    assert viewer.post("/api/deployments/outside/adopt").status_code == 403
    assert viewer.get("/api/audit").status_code == 403
    _, token = create_token(member, name="ci", read_only=True)
    bearer = ApiClient(Client(HTTP_AUTHORIZATION=f"Bearer {token}"))
    assert bearer.get("/api/deployments").status_code == 200
    assert bearer.post("/api/deployments", {"modelId": "qwen3-8b"}).status_code == 403
    revoked = ApiClient(Client(HTTP_AUTHORIZATION="Bearer dyn_not-a-token"))
    assert revoked.get("/api/deployments").status_code == 401


def test_a_body_that_is_not_json_and_an_unknown_route(api, db):
    response = api.client.post("/api/deployments", "{", content_type="application/json")
    assert check(response).status_code == 400
    unknown = api.client.get("/api/nothing-here")
    assert unknown.status_code == 404 and unknown.json()["fields"] == {}


def test_the_document_is_valid_openapi_and_its_page_needs_nothing_from_outside(admin_client):
    document_ = admin_client.get("/api/openapi.json").json()
    validate(document_)  # the OpenAPI 3.1 meta-schema
    schemes = document_["components"]["securitySchemes"]
    assert schemes["BearerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["BearerToken"]["description"],
    }
    assert schemes["SessionCookie"]["in"] == "cookie"
    assert document_["paths"]["/api/health"]["get"].get("security") is None
    page = admin_client.get("/api/docs")
    html = page.content.decode()
    assert page.status_code == 200 and "/static/ninja/swagger-ui-bundle" in html
    assert re.findall(r'(?:src|href)="(?!/static/)[^"]*"', html) == []
    assert '"validatorUrl": null' in html


def test_answers_while_the_cluster_is_unreachable(api, cluster_sandbox):
    cluster.dgd_create(manifest=dgd_manifest("llama"))
    listing = api.get("/api/deployments").json()
    assert listing["stale"] is False and listing["deployments"]
    cluster_sandbox.stop()
    mirror.shared_cache.expire(lambda key: key[1] == "dgds")
    stale = api.get("/api/deployments").json()
    assert stale["stale"] is True and stale["error"]
    assert api.get("/api/cluster/status").json()["state"] == "unreachable"
    last_seen = api.get("/api/deployments/llama").json()  # from the mirror, marked stale
    assert last_seen["stale"] is True and last_seen["error"] and last_seen["name"] == "llama"
    assert api.get("/api/deployments/llama/config").status_code == 503  # needs a live read
    assert api.post("/api/deployments/llama/adopt").status_code == 503
    assert api.post("/api/deployments/llama/restart", {}).status_code == 503
    assert api.patch("/api/deployments/llama", {"replicas": {"x": 1}}).status_code == 503
    mirror.reset()
    assert api.get("/api/deployments").status_code == 503


def test_a_manifest_sent_back_as_yaml_answers_as_documented(api, cluster_sandbox):
    body = {"modelId": "qwen3-8b", "engine": "vllm", "name": "qwen"}
    assert api.post("/api/deployments", body).status_code == 201
    manifest = api.get("/api/deployments/qwen/manifest").content
    yaml_post = {"content_type": "application/yaml"}
    checked = api.client.post("/api/deployments?dryRun=true", manifest, **yaml_post)
    assert check(checked).json()["creates"] is False
    copy = manifest.replace(b"name: qwen\n", b"name: qwen-copy\n", 1)
    created = check(api.client.post("/api/deployments", copy, **yaml_post))
    assert created.status_code == 201 and created.json()["revision"] == 1
    refused = check(api.client.post("/api/deployments", b"kind: [", **yaml_post))
    assert refused.status_code == 400 and "yaml" in refused.json()["fields"]


def test_chat_and_metrics_answer_as_documented(api, cluster_sandbox):
    from tests.playground.conftest import llama_manifest

    cluster_sandbox.api.traffic.scale = 0.2
    cluster.dgd_create(manifest=llama_manifest())
    cluster_sandbox.advance(60)
    mirror.reset()
    chat = "/api/deployments/llama/chat?namespace=default"
    hello = {"messages": [{"role": "user", "content": "Hello"}], "max_tokens": 8}
    assert api.post(chat, hello).json()["object"] == "chat.completion"
    assert api.post(chat, {"messages": []}).status_code == 400
    assert api.post("/api/deployments/nope/chat?namespace=default", hello).status_code == 404
    metrics = api.get("/api/deployments/llama/metrics?namespace=default").json()
    assert metrics["requests"]["total"] == 1
    assert api.get("/api/deployments/nope/metrics?namespace=default").status_code == 404


def test_logs_and_capacity_answer_as_documented(api, cluster_sandbox):
    cluster.dgd_create(manifest=dgd_manifest("llama"))
    cluster_sandbox.advance(60)
    mirror.reset()
    worker = next(
        p["metadata"]["name"]
        for p in cluster.pods(namespace="default")
        if "worker" in p["metadata"]["name"]
    )
    logs = api.get(f"/api/deployments/llama/logs?namespace=default&pod={worker}&tailLines=5")
    assert logs.status_code == 200 and logs.content
    assert api.get("/api/deployments/llama/logs?namespace=default&pod=other").status_code == 400
    assert api.get("/api/deployments/llama/logs?namespace=default&tailLines=x").status_code == 400
    capacity = api.get("/api/cluster/capacity").json()
    assert any(
        holder["deployment"] == "llama" for n in capacity["nodes"] for holder in n["holders"]
    )
