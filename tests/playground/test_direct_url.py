"""DYNAMOTE_FRONTEND_URL: the frontend is called directly, not through the service proxy."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.playground.conftest import proxy_requests

pytestmark = pytest.mark.django_db


class Frontend(BaseHTTPRequestHandler):
    """A stand-in for a frontend reached in-cluster: records the paths it is asked for."""

    paths: list[str] = []

    def _answer(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        Frontend.paths.append(self.path)
        self._answer({"object": "list", "data": [{"id": "direct/model", "object": "model"}]})

    def do_POST(self) -> None:
        Frontend.paths.append(self.path)
        self.rfile.read(int(self.headers["Content-Length"]))
        message = {"role": "assistant", "content": "Straight from the frontend."}
        self._answer({"object": "chat.completion", "choices": [{"index": 0, "message": message}]})

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def direct_frontend(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Frontend)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Frontend.paths = []
    port = server.server_address[1]
    settings.DYNAMOTE_FRONTEND_URL = f"http://127.0.0.1:{port}/{{namespace}}/{{name}}-frontend"
    yield Frontend.paths
    server.shutdown()


def test_the_try_tab_and_the_chat_go_straight_to_the_frontend(
    member_client, ready_llama, direct_frontend
):
    tab = member_client.get("/deployments/default/llama/try/", headers={"HX-Request": "true"})
    assert tab.context_data["models"] == ["direct/model"]
    response = member_client.post(
        "/api/deployments/llama/chat?namespace=default",
        {"messages": [{"role": "user", "content": "Hello"}]},
        content_type="application/json",
    )
    assert response.json()["choices"][0]["message"]["content"] == "Straight from the frontend."
    assert direct_frontend == [
        "/default/llama-frontend/v1/models",
        "/default/llama-frontend/v1/chat/completions",
    ]
    assert proxy_requests(ready_llama) == []


def test_a_frontend_that_cannot_be_reached_says_where(member_client, ready_llama, settings):
    settings.DYNAMOTE_FRONTEND_URL = "http://127.0.0.1:9/{namespace}/{name}"
    response = member_client.post(
        "/api/deployments/llama/chat?namespace=default",
        {"messages": [{"role": "user", "content": "Hello"}]},
        content_type="application/json",
    )
    assert response.status_code == 503
    assert response.json()["error"].startswith(
        "http://127.0.0.1:9/default/llama/v1/chat/completions cannot be reached."
    )
