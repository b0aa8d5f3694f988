"""POST /api/deployments/<name>/chat: an OpenAI chat body in, what the deployment answers out."""

import json

import pytest
from django.contrib.auth import get_user_model

from deployments import cluster, mirror
from tests.dashboard.conftest import dgd_manifest
from tests.factories import grant_role
from tests.playground.conftest import MODEL, proxy_requests

pytestmark = pytest.mark.django_db
URL = "/api/deployments/llama/chat?namespace=default"


def post(client, body) -> object:
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(URL, data, content_type="application/json")


def hello(**extra) -> dict:
    return {"messages": [{"role": "user", "content": "Hello there"}], **extra}


def streamed(response) -> list[str]:
    text = b"".join(response.streaming_content).decode()  # the test client is a WSGI client
    return [b[len("data: ") :] for b in text.split("\n\n") if b.startswith("data: ")]


def test_an_unstreamed_chat_answers_what_the_frontend_answers(member_client, ready_llama):
    response = post(member_client, hello(max_tokens=4))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["model"] == MODEL  # filled in from the deployment when not given
    assert body["choices"][0]["message"]["content"].startswith('You said "Hello there".')
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 4
    [sent] = [e for e in proxy_requests(ready_llama) if e["verb"] == "create"]
    assert sent["path"] == (
        "/api/v1/namespaces/default/services/llama-frontend:8000/proxy/v1/chat/completions"
    )


def test_a_streamed_chat_is_relayed_as_server_sent_events(member_client, ready_llama):
    response = post(member_client, hello(stream=True))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    events = streamed(response)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text.startswith('You said "Hello there".')
    assert chunks[-1]["usage"]["completion_tokens"] > 0  # Dynamote asks for the usage


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ("[1, 2]", None, "Send an OpenAI chat-completions body: a JSON object with messages"),
        ("not json", None, "The body is not valid JSON"),
        ({"max_tokens": 5}, "messages", "Give at least one message"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages", "Message 1 needs a role"),
        (hello(max_tokens=0), "max_tokens", "Give a whole number of tokens, 1 or more."),
        (hello(max_tokens=40_000), "max_tokens", "At most 32,768 tokens: the model's context"),
        (hello(temperature=3), "temperature", "Give a temperature between 0 and 2."),
        (hello(stream="yes"), "stream", "Give true or false."),
    ],
)
def test_a_bad_body_is_refused_and_nothing_reaches_the_frontend(
    member_client, ready_llama, body, field, message
):
    response = post(member_client, body)
    assert response.status_code == 400
    answer = response.json()
    if field is None:
        assert answer["error"].startswith(message)
    else:
        assert answer["fields"][field][0].startswith(message)
    assert proxy_requests(ready_llama) == []


def test_the_context_comes_from_the_workers_flag(member_client, cluster_sandbox):
    manifest = dgd_manifest("llama")
    manifest["spec"]["components"][1]["podTemplate"]["spec"]["containers"][0]["args"] += [
        "--max-model-len",
        "4096",
    ]
    cluster.dgd_create(manifest=manifest)
    cluster_sandbox.advance(60)
    response = post(member_client, hello(max_tokens=5000))
    assert response.status_code == 400
    assert response.json()["fields"]["max_tokens"] == [
        "At most 4,096 tokens: the model's context is 4,096 tokens, for the messages and the "
        "answer together."
    ]
    assert proxy_requests(cluster_sandbox) == []


def test_a_deployment_that_is_not_ready_says_so(member_client, cluster_sandbox):
    cluster.dgd_create(manifest=dgd_manifest("llama"))
    cluster_sandbox.advance(3)
    response = post(member_client, hello())
    assert response.status_code == 409
    assert response.json()["error"].startswith("llama is Deploying, not Ready: its frontend")
    assert proxy_requests(cluster_sandbox) == []


def test_an_absent_deployment_is_404(member_client, cluster_sandbox):
    response = post(member_client, hello())
    assert response.status_code == 404
    assert "llama" in response.json()["error"]


def test_the_frontends_refusal_comes_back_in_its_words(member_client, ready_llama):
    response = post(member_client, hello(model="other/model"))
    assert response.status_code == 502
    assert response.json()["error"].startswith(
        "The frontend has no such model (Model not found: other/model)."
    )


def test_a_frontend_that_does_not_answer_in_time_is_reported(member_client, ready_llama, settings):
    settings.DYNAMOTE_CHAT_TIMEOUT = 1
    ready_llama.set_latency(2.5)
    response = post(member_client, hello())
    assert response.status_code == 503
    assert response.json()["error"].startswith("The frontend did not answer within 1 s")


def test_without_the_proxy_rule_the_chat_says_what_is_forbidden(member_client, ready_llama):
    ready_llama.set_permissions(
        [
            {"apiGroups": ["*"], "resources": [r], "verbs": ["*"]}
            for r in ("dynamographdeployments", "pods", "events", "namespaces", "nodes")
        ]
    )
    mirror.reset()
    response = post(member_client, hello())
    assert response.status_code == 403
    assert response.json()["error"].startswith(
        'Forbidden: Dynamote may not create services/proxy in namespace "default".'
    )


def test_a_viewer_may_not_chat(client, ready_llama):
    viewer = get_user_model().objects.create_user("vera", password="vera-password-1")
    grant_role(viewer, "viewer")
    client.force_login(viewer)
    response = post(client, hello())
    assert response.status_code == 403
    assert response.json()["error"] == (
        "You need the Deployer role in any namespace to chat with deployments."
    )
    # A Deployer elsewhere is refused in this namespace.
    grant_role(viewer, "deployer", "dynamo")
    response = post(client, hello())
    assert response.status_code == 403
    assert response.json()["error"] == (
        "You need the Deployer role in namespace default to chat with deployments."
    )
    assert proxy_requests(ready_llama) == []


def test_without_a_login_the_chat_is_401(client, db):
    assert post(client, hello()).status_code == 401


def test_an_invalid_name_is_400(member_client, db):
    response = member_client.post(
        "/api/deployments/Bad.Name/chat", "{}", content_type="application/json"
    )
    assert response.status_code == 400
    assert "name" in response.json()["fields"]
