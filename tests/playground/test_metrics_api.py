"""GET /api/deployments/<name>/metrics: current values read through the frontend's and
workers' Prometheus endpoints."""

import pytest

from deployments import frontend_metrics
from deployments.frontend_metrics import parse, quantile

pytestmark = pytest.mark.django_db
URL = "/api/deployments/llama/metrics?namespace=default"


def chat(client, **extra):
    body = {"messages": [{"role": "user", "content": "Hello there"}], **extra}
    response = client.post(
        "/api/deployments/llama/chat?namespace=default", body, content_type="application/json"
    )
    assert response.status_code == 200


def test_the_metrics_move_with_the_traffic(member_client, ready_llama, monkeypatch):
    monkeypatch.setattr(frontend_metrics, "_previous", {})
    first = member_client.get(URL).json()
    assert first["requests"] == {
        "total": 0,
        "errors": 0,
        "perSecond": None,  # a rate needs two readings
        "inFlight": 0,
        "queued": 0,
    }
    assert first["timeToFirstTokenSeconds"] == {"p50": None, "p95": None}
    for _ in range(3):
        chat(member_client)
    now = member_client.get(URL).json()
    assert now["requests"]["total"] == 3
    assert now["requests"]["perSecond"] > 0
    ttft = now["timeToFirstTokenSeconds"]
    assert 0 < ttft["p50"] <= ttft["p95"] < 0.1
    assert 0 < now["interTokenLatencySeconds"]["p50"] < 0.05
    assert now["tokens"]["input"] == 3 * 6 and now["tokens"]["output"] > 30
    assert 0 < now["kvCacheUsage"] < 1
    [worker] = now["workers"]
    assert worker["requests"] == 3 and worker["restarts"] == 0
    assert now["podRestarts"] == 0 and now["errors"] == []


def test_quantiles_interpolate_within_a_bucket_as_prometheus_does():
    text = "\n".join(
        [
            "# TYPE t histogram",
            't_bucket{le="0.1"} 2',
            't_bucket{le="0.2"} 6',
            't_bucket{le="+Inf"} 8',
            "t_count 8",
            "t_sum 1",
        ]
    )
    samples = parse(text + "\n")
    assert quantile(samples, "t", 0.5) == pytest.approx(0.15)
    assert quantile(samples, "t", 0.95) == 0.2  # in +Inf: the highest finite bound


def test_a_deployment_without_a_ready_frontend_says_so(member_client, cluster_sandbox):
    from deployments import cluster
    from tests.playground.conftest import llama_manifest

    cluster.dgd_create(manifest=llama_manifest())
    cluster_sandbox.advance(3)
    response = member_client.get(URL)
    assert response.status_code == 503
    assert response.json()["error"].startswith(
        'The cluster cannot reach the frontend: no endpoints available for service "llama-frontend"'
    )
