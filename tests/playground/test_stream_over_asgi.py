"""The chat stream under uvicorn (as in production): chunks arrive as the model writes them,
and a client that hangs up closes the stream to the cluster, so the model stops generating."""

import http.client
import json
import os
import time
from urllib.parse import urlsplit

import pytest
from prometheus_client.parser import text_string_to_metric_families

from access.tokens import create_token
from tests.playground.conftest import FRONTEND, Raw, proxy_requests

# The ASGI server runs in this process; the ORM calls the test makes are synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = pytest.mark.django_db(transaction=True)


def frontend_metrics(sandbox) -> dict[str, float]:
    text = Raw(sandbox)("GET", f"{FRONTEND}/metrics")[1]
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            totals[sample.name] = totals.get(sample.name, 0) + sample.value
    return totals


def open_chat(live_server, token: str) -> http.client.HTTPResponse:
    parts = urlsplit(live_server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    body = {"messages": [{"role": "user", "content": "Hello there"}], "stream": True}
    connection.request(
        "POST",
        "/api/deployments/llama/chat?namespace=default",
        json.dumps(body),
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    return connection.getresponse()


def test_chunks_arrive_as_written_and_hanging_up_stops_the_model(live_server, member, ready_llama):
    ready_llama.api.traffic.scale = 20  # about 0.2 s between tokens
    _, token = create_token(member, name="try")
    response = open_chat(live_server, token)
    assert response.status == 200
    started = time.monotonic()
    first = response.readline()  # the first event, long before the answer is done
    assert first.startswith(b"data: ")
    assert time.monotonic() - started < 2
    assert frontend_metrics(ready_llama)["dynamo_frontend_inflight_requests"] == 1

    response.close()  # the browser goes away
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        metrics = frontend_metrics(ready_llama)
        if metrics.get("dynamo_frontend_disconnected_clients_total"):
            break
        time.sleep(0.2)
    assert metrics["dynamo_frontend_disconnected_clients_total"] == 1
    assert metrics["dynamo_frontend_inflight_requests"] == 0
    chats = [e for e in proxy_requests(ready_llama) if e["verb"] == "create"]
    assert len(chats) == 1
