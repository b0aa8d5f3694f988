"""The metrics history from a real Prometheus (DYNAMOTE_PROMETHEUS_URL) that scrapes the
sandbox's frontend and worker through the API server's pod proxy."""

import json
import threading
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from deployments import metrics_history, metrics_sampler
from deployments.models import MetricsSample
from tests.api.contract import check
from tests.fixtures.cluster import eventually
from tests.metrics.conftest import chat

pytestmark = pytest.mark.django_db
HISTORY = "/api/deployments/llama/metrics/history?namespace=default&seconds=120"


def llama_pods(sandbox) -> list[dict]:
    return [
        pod
        for pod in sandbox.store.objects("pods", "default")
        if (pod["metadata"].get("labels") or {}).get("nvidia.com/dynamo-graph-deployment-name")
        == "llama"
    ]


def instant(server, promql: str) -> list:
    query = urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(f"{server.url}/api/v1/query?{query}", timeout=2) as answer:
        return json.load(answer)["data"]["result"]


@pytest.fixture
def started(prometheus, ready_llama, settings):
    """Prometheus about to scrape "llama"'s pods every second; Dynamote pointed at it."""
    server = prometheus(ready_llama, llama_pods(ready_llama))
    settings.DYNAMOTE_PROMETHEUS_URL = server.url
    return server


@pytest.fixture
def scraped(started):
    """The same, once its first scrapes succeeded (Prometheus waits 5 s before the first)."""
    eventually(lambda: _assert(started.targets_up()), timeout=10)
    return started


def _assert(value):
    assert value
    return value


@pytest.mark.sampler  # with Prometheus, it must not start
def test_the_history_follows_the_traffic_prometheus_scraped(
    scraped, member_client, ready_llama, settings
):
    chat(ready_llama)  # the request counter's series appears with the first request
    eventually(lambda: _assert(instant(scraped, "dynamo_frontend_requests_total")), timeout=10)
    for _ in range(4):
        chat(ready_llama)

    def moved():
        response = check(member_client.get(HISTORY))
        assert response.status_code == 200, response.content
        answer = response.json()
        series = answer["series"]
        assert (series["requestRate"][-1] or 0) > 0
        assert (series["ttftP50"][-1] or 0) > 0
        return answer

    answer = eventually(moved, timeout=10)
    series = answer["series"]
    assert answer["source"] == "prometheus" and answer["stepSeconds"] == 1
    assert len(answer["t"]) == 121 and answer["t"] == sorted(answer["t"])
    assert set(series) == set(metrics_history.SERIES)
    assert all(len(values) == 121 for values in series.values())
    assert 0 < series["ttftP50"][-1] <= series["ttftP95"][-1] < 0.1
    assert 0 < series["itlP50"][-1] < 0.05
    assert series["inputTokensRate"][-1] > 0 and series["outputTokensRate"][-1] > 0
    assert 0 < series["kvCacheUsage"][-1] < 1
    assert series["inFlight"][-1] == 0 and series["queued"][-1] == 0
    assert series["requestRate"][0] is None  # before Prometheus started
    # Prometheus answered: Dynamote read no pod and kept nothing.
    assert not metrics_sampler.running()
    assert MetricsSample.objects.count() == 0

    # The deployment's label copied into the series by a relabeling picks the same series.
    settings.DYNAMOTE_PROMETHEUS_SELECTOR = (
        'namespace="{namespace}",dynamo_graph_deployment="{name}"'
    )
    relabeled = metrics_history.history(namespace="default", name="llama", seconds=120)
    assert relabeled["series"]["kvCacheUsage"][-1] == series["kvCacheUsage"][-1]
    assert (relabeled["series"]["requestRate"][-1] or 0) > 0
    settings.DYNAMOTE_PROMETHEUS_SELECTOR = 'namespace="elsewhere",pod=~"{name}-.+"'
    other = metrics_history.history(namespace="default", name="llama", seconds=120)
    assert all(v is None for values in other["series"].values() for v in values)


def test_a_query_prometheus_refuses_is_a_503_that_names_the_setting(
    started, member_client, settings
):
    settings.DYNAMOTE_PROMETHEUS_SELECTOR = 'namespace="{namespace}",pod=~"{name}(("'
    response = check(member_client.get(HISTORY))
    assert response.status_code == 503
    error = response.json()["error"]
    assert error.startswith(f"The Prometheus at {started.url} refused the query: ")
    assert error.endswith("Check DYNAMOTE_PROMETHEUS_SELECTOR.")


def test_an_unreachable_prometheus_is_a_503_that_says_what_to_check(
    member_client, ready_llama, settings
):
    settings.DYNAMOTE_PROMETHEUS_URL = "http://127.0.0.1:9"  # nothing listens on discard
    response = check(member_client.get(HISTORY))
    assert response.status_code == 503
    assert response.json()["error"] == (
        "The Prometheus at http://127.0.0.1:9 cannot be reached (connection failed). Check "
        "DYNAMOTE_PROMETHEUS_URL, or unset it to let Dynamote keep the history itself."
    )


class _NotPrometheus(BaseHTTPRequestHandler):
    seen: list = []

    def do_GET(self):
        self.seen.append((self.path, self.headers.get("Authorization")))
        status = 401 if "denied" in self.path else 200
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html>Grafana</html>")

    def log_message(self, *args):
        pass


@pytest.fixture
def not_prometheus():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotPrometheus)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _NotPrometheus.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_url_that_is_not_prometheus_or_refuses_dynamote_says_so(
    member_client, ready_llama, settings, not_prometheus
):
    settings.DYNAMOTE_PROMETHEUS_URL = not_prometheus + "/grafana"
    settings.DYNAMOTE_PROMETHEUS_TOKEN = "s3cret-token"
    response = check(member_client.get(HISTORY))
    assert response.status_code == 503
    assert response.json()["error"] == (
        f"{not_prometheus}/grafana answered HTTP 200 but not as Prometheus' API does. "
        "DYNAMOTE_PROMETHEUS_URL must be Prometheus' base URL, e.g. http://prometheus:9090."
    )
    paths = {path.split("?")[0] for path, _ in _NotPrometheus.seen}
    assert paths == {"/grafana/api/v1/query_range"}
    assert {auth for _, auth in _NotPrometheus.seen} == {"Bearer s3cret-token"}
    settings.DYNAMOTE_PROMETHEUS_TOKEN = ""
    settings.DYNAMOTE_PROMETHEUS_URL = (
        not_prometheus.replace("http://", "http://ann:pw@") + "/denied"
    )
    response = check(member_client.get(HISTORY))
    assert response.status_code == 503
    assert response.json()["error"] == (
        f"The Prometheus at {not_prometheus}/denied refused Dynamote (HTTP 401). Set "
        "DYNAMOTE_PROMETHEUS_TOKEN (or a user and password in DYNAMOTE_PROMETHEUS_URL)."
    )
    assert _NotPrometheus.seen[-1][1] == "Basic YW5uOnB3"  # ann:pw, never in the message
