"""A deployment's metrics history from the Prometheus at DYNAMOTE_PROMETHEUS_URL.

One PromQL range query (`/api/v1/query_range`) per series of `metrics_history.SERIES`, over
the series DYNAMOTE_PROMETHEUS_SELECTOR picks for the deployment (by default the pods named
`<name>-…` in its namespace, the `namespace` and `pod` labels a PodMonitor gives). Rates and
percentiles are Prometheus' own: rate() over a window of four steps (one minute at least),
histogram_quantile() over the buckets' rates.
"""

from __future__ import annotations

import json
import math
import time
from concurrent.futures import ThreadPoolExecutor

import urllib3
from django.conf import settings

from deployments import cluster

TIMEOUT = urllib3.Timeout(connect=3.0, read=10.0)
MAX_POINTS = 11000  # Prometheus refuses a range query with more points per series


class PrometheusUnavailable(cluster.ClusterError):
    """The Prometheus at DYNAMOTE_PROMETHEUS_URL did not answer, or not as Prometheus does."""

    status = 503
    title = "Prometheus unavailable"


def _quantile(q: float, histogram: str) -> str:
    return f"histogram_quantile({q}, sum by (le) (rate({histogram}_bucket{{S}}[W])))"


# {S}: the deployment's label matchers; [W]: the rate window.
QUERIES = {
    "requestRate": "sum(rate(dynamo_frontend_requests_total{S}[W]))",
    "inFlight": "sum(dynamo_frontend_inflight_requests{S})",
    "queued": "sum(dynamo_frontend_queued_requests{S})",
    "ttftP50": _quantile(0.5, "dynamo_frontend_time_to_first_token_seconds"),
    "ttftP95": _quantile(0.95, "dynamo_frontend_time_to_first_token_seconds"),
    "itlP50": _quantile(0.5, "dynamo_frontend_inter_token_latency_seconds"),
    "itlP95": _quantile(0.95, "dynamo_frontend_inter_token_latency_seconds"),
    "durationP50": _quantile(0.5, "dynamo_frontend_request_duration_seconds"),
    "durationP95": _quantile(0.95, "dynamo_frontend_request_duration_seconds"),
    "inputTokensRate": "sum(rate(dynamo_frontend_input_sequence_tokens_sum{S}[W]))",
    "outputTokensRate": "sum(rate(dynamo_frontend_output_sequence_tokens_sum{S}[W]))",
    "kvCacheUsage": "max(dynamo_component_gpu_cache_usage_percent{S})",
    # kube-state-metrics' series carry the pod's own namespace and pod labels.
    "podRestarts": "sum(kube_pod_container_status_restarts_total{S})",
}

_http = urllib3.PoolManager()


def selector(*, namespace: str, name: str) -> str:
    """The label matchers of one deployment's series, from DYNAMOTE_PROMETHEUS_SELECTOR."""
    template = settings.DYNAMOTE_PROMETHEUS_SELECTOR
    return "{" + template.replace("{namespace}", namespace).replace("{name}", name) + "}"


def query(key: str, *, namespace: str, name: str, window: int) -> str:
    """The PromQL of one series for one deployment."""
    return (
        QUERIES[key]
        .replace("{S}", selector(namespace=namespace, name=name))
        .replace("[W]", f"[{window}s]")
    )


def _target() -> tuple[str, dict]:
    """The query_range URL and the headers (bearer token, or basic auth from the URL)."""
    url = urllib3.util.parse_url(settings.DYNAMOTE_PROMETHEUS_URL)
    headers = {"Accept": "application/json"}
    if url.auth:
        headers.update(urllib3.make_headers(basic_auth=url.auth))
        url = url._replace(auth=None)
    if settings.DYNAMOTE_PROMETHEUS_TOKEN:
        headers["Authorization"] = f"Bearer {settings.DYNAMOTE_PROMETHEUS_TOKEN}"
    return str(url).rstrip("/") + "/api/v1/query_range", headers


def _where() -> str:
    url = urllib3.util.parse_url(settings.DYNAMOTE_PROMETHEUS_URL)
    return str(url._replace(auth=None))  # never a password in a message


def range_query(promql: str, *, start: float, end: float, step: int) -> list[dict]:
    """The result of one range query; PrometheusUnavailable with a sentence to act on."""
    url, headers = _target()
    fields = {"query": promql, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": str(step)}
    try:
        response = _http.request(
            "GET", url, fields=fields, headers=headers, timeout=TIMEOUT, retries=False
        )
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        errors = urllib3.exceptions
        timed_out = isinstance(exc, errors.TimeoutError) and not isinstance(
            exc,
            errors.NewConnectionError,  # refused: a TimeoutError too, for compatibility
        )
        why = f"no answer within {TIMEOUT.read_timeout:g} s" if timed_out else "connection failed"
        raise PrometheusUnavailable(
            f"The Prometheus at {_where()} cannot be reached ({why}). Check "
            "DYNAMOTE_PROMETHEUS_URL, or unset it to let Dynamote keep the history itself."
        ) from exc
    if response.status in (401, 403):
        raise PrometheusUnavailable(
            f"The Prometheus at {_where()} refused Dynamote (HTTP {response.status}). Set "
            "DYNAMOTE_PROMETHEUS_TOKEN (or a user and password in DYNAMOTE_PROMETHEUS_URL)."
        )
    try:
        answer = json.loads(response.data)
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or answer.get("status") not in ("success", "error"):
        raise PrometheusUnavailable(
            f"{_where()} answered HTTP {response.status} but not as Prometheus' API does. "
            "DYNAMOTE_PROMETHEUS_URL must be Prometheus' base URL, e.g. http://prometheus:9090."
        )
    if answer["status"] != "success":
        raise PrometheusUnavailable(
            f"The Prometheus at {_where()} refused the query: {answer.get('error', '?')}. "
            "Check DYNAMOTE_PROMETHEUS_SELECTOR."
        )
    return (answer.get("data") or {}).get("result") or []


def _number(value: str) -> float | None:
    number = float(value)
    return None if math.isnan(number) or math.isinf(number) else round(number, 6)


def history(*, namespace: str, name: str, seconds: int, now: float | None = None) -> dict:
    """The metrics-history answer from Prometheus: one range query per series."""
    step = max(settings.DYNAMOTE_METRICS_STEP_SECONDS, math.ceil(seconds / (MAX_POINTS - 1)))
    now = time.time() if now is None else now
    end = math.floor(now / step) * step
    start = end - (seconds // step) * step
    window = max(4 * step, 60)
    times = list(range(start, end + 1, step))
    keys = list(QUERIES)

    def run(key: str) -> list[dict]:
        promql = query(key, namespace=namespace, name=name, window=window)
        return range_query(promql, start=start, end=end, step=step)

    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="prometheus") as pool:
        results = dict(zip(keys, pool.map(run, keys), strict=True))
    series = {}
    for key in keys:
        found: dict[int, float | None] = {}
        for result in results[key][:1]:  # every query aggregates to one series
            for at, value in result.get("values") or []:
                found[round(float(at))] = _number(value)
        series[key] = [found.get(at) for at in times]
    return {"source": "prometheus", "stepSeconds": step, "t": times, "series": series}
