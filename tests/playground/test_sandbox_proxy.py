"""The sandbox's service and pod proxies: the frontend's OpenAI API and both metrics endpoints,
reached through the official client as through a real API server."""

import json
import subprocess

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.playground.conftest import FRONTEND, MODEL, chat_body, create_llama


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """Every sample of a Prometheus text page, by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(page: dict, name: str, **labels) -> float:
    return sum(v for (n, ls), v in page.items() if n == name and labels.items() <= dict(ls).items())


def sse_events(text: str) -> list[str]:
    return [block[len("data: ") :] for block in text.split("\n\n") if block.startswith("data: ")]


def test_the_frontend_answers_only_once_its_pods_are_ready(sandbox, raw):
    create_llama(sandbox)
    sandbox.advance(2)
    status, body = raw.json("GET", f"{FRONTEND}/v1/models")
    assert status == 503
    assert body["message"] == 'no endpoints available for service "llama-frontend"'
    assert body["reason"] == "ServiceUnavailable"

    sandbox.advance(60)
    status, body = raw.json("GET", f"{FRONTEND}/v1/models")
    assert status == 200
    assert [m["id"] for m in body["data"]] == [MODEL]
    # The API server's other forms of the same Service: scheme:name:port and the port's name.
    for form in ("http:llama-frontend:8000", "llama-frontend:http", "llama-frontend"):
        status, body = raw.json("GET", f"/api/v1/namespaces/default/services/{form}/proxy/health")
        assert (status, body["status"]) == (200, "healthy"), form


def test_proxy_errors_are_the_api_servers(sandbox, raw):
    create_llama(sandbox)
    sandbox.advance(60)
    status, body = raw.json("GET", "/api/v1/namespaces/default/services/nope:8000/proxy/v1/models")
    assert (status, body["message"]) == (404, 'services "nope" not found')
    status, body = raw.json("GET", "/api/v1/namespaces/default/services/llama-frontend:9/proxy/")
    assert status == 503
    assert body["message"] == 'no service port "9" found for service "llama-frontend"'
    status, body = raw.json("GET", "/api/v1/namespaces/default/services/a:b:c:d/proxy/")
    assert (status, body["message"]) == (400, 'invalid service request "a:b:c:d"')


def test_a_streamed_chat_is_openai_sse_ending_with_done(sandbox, raw):
    create_llama(sandbox)
    sandbox.advance(60)
    body = chat_body(stream=True, stream_options={"include_usage": True})
    status, text = raw("POST", f"{FRONTEND}/v1/chat/completions", body)
    assert status == 200
    events = sse_events(text)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    content = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert content.startswith('You said "Hello there".')
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    usage = chunks[-1]["usage"]
    assert usage["completion_tokens"] == sum(
        1 for c in chunks if c["choices"][0]["delta"].get("content")
    )
    # The same prompt gets the same answer; another prompt another one.
    again = raw("POST", f"{FRONTEND}/v1/chat/completions", body)[1]
    assert [json.loads(e)["choices"][0]["delta"] for e in sse_events(again)[:-1]] == [
        c["choices"][0]["delta"] for c in chunks
    ]
    other = raw("POST", f"{FRONTEND}/v1/chat/completions", chat_body("Why is the sky blue?"))
    assert json.loads(other[1])["choices"][0]["message"]["content"] != content


def test_an_unstreamed_chat_honours_max_tokens_and_counts_usage(sandbox, raw):
    create_llama(sandbox)
    sandbox.advance(60)
    status, body = raw.json("POST", f"{FRONTEND}/v1/chat/completions", chat_body(max_tokens=3))
    assert status == 200
    choice = body["choices"][0]
    assert choice["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 3
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + 3


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([1, 2], "invalid type: expected a JSON object for the request body"),
        ({"model": MODEL}, "missing field `messages`"),
        ({"messages": [{"role": "user", "content": "hi"}]}, "missing field `model`"),
    ],
)
def test_a_bad_body_gets_the_frontends_400(sandbox, raw, body, message):
    create_llama(sandbox)
    sandbox.advance(60)
    status, answer = raw.json("POST", f"{FRONTEND}/v1/chat/completions", body)
    assert status == 400
    assert answer == {"message": message, "type": "Bad Request", "code": 400}


def test_max_tokens_over_the_context_is_refused_by_the_frontend(sandbox, raw):
    create_llama(sandbox)
    sandbox.advance(60)
    status, answer = raw.json(
        "POST", f"{FRONTEND}/v1/chat/completions", chat_body(max_tokens=40_000)
    )
    assert status == 400
    assert answer["message"].startswith("This model's maximum context length is 32768 tokens.")


def test_frontend_and_worker_metrics_move_with_the_traffic(sandbox, raw):
    create_llama(sandbox)
    sandbox.advance(60)
    before = samples(raw("GET", f"{FRONTEND}/metrics")[1])
    assert value(before, "dynamo_frontend_requests_total") == 0
    for stream in (True, False):
        raw("POST", f"{FRONTEND}/v1/chat/completions", chat_body(stream=stream))
    page = samples(raw("GET", f"{FRONTEND}/metrics")[1])
    assert value(page, "dynamo_frontend_requests_total", model=MODEL, status="success") == 2
    assert value(page, "dynamo_frontend_requests_total", request_type="stream") == 1
    assert value(page, "dynamo_frontend_inflight_requests") == 0
    assert value(page, "dynamo_frontend_queued_requests") == 0
    for histogram in (
        "dynamo_frontend_time_to_first_token_seconds",
        "dynamo_frontend_request_duration_seconds",
        "dynamo_frontend_input_sequence_tokens",
        "dynamo_frontend_output_sequence_tokens",
    ):
        assert value(page, f"{histogram}_count") == 2, histogram
        assert value(page, f"{histogram}_bucket", le="+Inf") == 2, histogram
    assert value(page, "dynamo_frontend_inter_token_latency_seconds_count") > 10
    # Time to first token of a 0.6B model on vLLM, at a fifth of real time: a few milliseconds.
    ttft = value(page, "dynamo_frontend_time_to_first_token_seconds_sum") / 2
    assert 0.002 < ttft < 0.05

    worker = next(
        p for p in sandbox.list("pods", "default") if "vllmworker" in p["metadata"]["name"]
    )
    name = worker["metadata"]["name"]
    status, text = raw("GET", f"/api/v1/namespaces/default/pods/{name}:9090/proxy/metrics")
    assert status == 200
    component = samples(text)
    labels = {"dynamo_component": "VllmWorker", "dynamo_namespace": "default-llama"}
    assert value(component, "dynamo_component_requests_total", **labels) == 2
    assert value(component, "dynamo_component_request_duration_seconds_count") == 2
    assert 0 < value(component, "dynamo_component_gpu_cache_usage_percent") < 1
    assert value(component, "dynamo_component_total_blocks") > 1000
    # The worker's system port only: 8000 on a worker refuses the connection.
    status, body = raw.json("GET", f"/api/v1/namespaces/default/pods/{name}:8000/proxy/metrics")
    assert status == 503 and "connection refused" in body["message"]


def _without(rules: list[dict], verb: str, resource: str) -> list[dict]:
    return [
        {**rule, "verbs": [v for v in rule["verbs"] if v != verb]}
        if rule["resources"] == [resource]
        else rule
        for rule in rules
    ]


def test_proxies_are_checked_by_rbac_per_verb(sandbox, raw):
    create_llama(sandbox)
    sandbox.advance(60)
    rules = [
        {"apiGroups": [""], "resources": ["services/proxy"], "verbs": ["get", "create"]},
        {"apiGroups": [""], "resources": ["pods/proxy"], "verbs": ["get"]},
    ]
    sandbox.set_permissions(_without(rules, "create", "services/proxy"))
    assert raw("GET", f"{FRONTEND}/v1/models")[0] == 200
    status, body = raw.json("POST", f"{FRONTEND}/v1/chat/completions", chat_body())
    assert status == 403
    assert body["message"] == (
        'services "llama-frontend:8000" is forbidden: User '
        '"system:serviceaccount:dynamote:dynamote" cannot create resource "services/proxy" '
        'in API group "" in the namespace "default"'
    )
    sandbox.set_permissions(_without(rules, "get", "pods/proxy"))
    worker = next(
        p for p in sandbox.list("pods", "default") if "vllmworker" in p["metadata"]["name"]
    )
    path = f"/api/v1/namespaces/default/pods/{worker['metadata']['name']}:9090/proxy/metrics"
    status, body = raw.json("GET", path)
    assert status == 403 and 'cannot get resource "pods/proxy"' in body["message"]


def test_kubectl_get_raw_reaches_the_frontend(sandbox):
    if subprocess.run(["which", "kubectl"], capture_output=True).returncode:
        pytest.fail("kubectl is not installed")
    create_llama(sandbox)
    sandbox.advance(60)
    result = subprocess.run(
        [
            "kubectl",
            "--kubeconfig",
            str(sandbox.kubeconfig_path),
            "get",
            "--raw",
            f"{FRONTEND}/v1/models",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["data"][0]["id"] == MODEL
