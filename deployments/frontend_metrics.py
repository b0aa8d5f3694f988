"""A deployment's current serving metrics, read from its frontend's and workers' Prometheus
endpoints through the API server's proxies and parsed with prometheus_client's text parser.

Percentiles come from the histograms' buckets as Prometheus' histogram_quantile computes
them (linear within a bucket), over every request since the frontend started. The request
rate needs two readings: it is the change since the previous reading of the same deployment
in this process (None on the first).
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict

from prometheus_client.parser import text_string_to_metric_families

from deployments import cluster, mirror
from deployments.status import pod_restarts

DEPLOYMENT_LABEL = "nvidia.com/dynamo-graph-deployment-name"
TYPE_LABEL = "nvidia.com/dynamo-component-type"
_previous: dict[tuple[str, str], tuple[float, float]] = {}  # (ns, name) -> (time, requests)
_lock = threading.Lock()


def parse(text: str) -> dict[str, list[tuple[dict, float]]]:
    """Samples by name: [(labels, value)]."""
    samples: dict[str, list[tuple[dict, float]]] = defaultdict(list)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample.name].append((sample.labels, sample.value))
    return samples


def total(samples: dict, name: str) -> float:
    return sum(value for _labels, value in samples.get(name, []))


def quantile(samples: dict, histogram: str, q: float) -> float | None:
    """histogram_quantile(q) over every series of the histogram; None without observations."""
    buckets: dict[float, float] = defaultdict(float)
    for labels, value in samples.get(f"{histogram}_bucket", []):
        buckets[float(labels["le"])] += value
    ordered = sorted(buckets.items())
    if not ordered or ordered[-1][1] == 0:
        return None
    rank = q * ordered[-1][1]
    lower, below = 0.0, 0.0
    for bound, count in ordered:
        if count >= rank:
            if math.isinf(bound):
                return lower  # Prometheus answers the highest finite bound
            if count == below:
                return bound
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return None


def _percentiles(samples: dict, histogram: str) -> dict:
    return {"p50": quantile(samples, histogram, 0.5), "p95": quantile(samples, histogram, 0.95)}


def pod_metrics(namespace: str, pod: str, port: int) -> dict:
    """One pod's /metrics through the pod proxy, parsed; an HTTP error raises ClusterError."""
    page = cluster.pod_proxy_get(namespace=namespace, pod=pod, port=port, path="/metrics")
    raw = page.read()
    if page.status >= 400:
        raise cluster.FrontendUnavailable(
            f"its /metrics on port {port} answered HTTP {page.status}"
        )
    return parse(raw.decode("utf-8", errors="replace"))


def _rate(namespace: str, name: str, requests: float) -> float | None:
    now = time.monotonic()
    with _lock:
        before = _previous.get((namespace, name))
        _previous[(namespace, name)] = (now, requests)
    if before is None or now <= before[0] or requests < before[1]:
        return None  # first reading, or the frontend restarted (counters back to zero)
    return round((requests - before[1]) / (now - before[0]), 3)


def deployment_metrics(*, namespace: str, name: str) -> dict:
    """The current values; the frontend's failure raises ClusterError, a worker's is listed."""
    answer = cluster.frontend_request(namespace=namespace, name=name, path="/metrics")
    raw = answer.read()
    if answer.status >= 400:
        raise cluster.FrontendUnavailable(
            f"The frontend's /metrics answered HTTP {answer.status}: "
            f"{raw[:200].decode('utf-8', errors='replace')}"
        )
    front = parse(raw.decode("utf-8", errors="replace"))
    requests = total(front, "dynamo_frontend_requests_total")
    errors = sum(
        value
        for labels, value in front.get("dynamo_frontend_requests_total", [])
        if labels.get("status") == "error"
    )
    pods = [
        pod
        for pod in mirror.pods(namespace).value or []
        if ((pod.get("metadata") or {}).get("labels") or {}).get(DEPLOYMENT_LABEL) == name
    ]
    workers, problems = [], []
    for pod in pods:
        meta = pod.get("metadata") or {}
        if (meta.get("labels") or {}).get(TYPE_LABEL) in ("frontend", None):
            continue
        entry = {"pod": meta.get("name"), "restarts": pod_restarts(pod), "kvCacheUsage": None}
        if (pod.get("status") or {}).get("podIP"):
            try:
                samples = pod_metrics(namespace, meta["name"], cluster.SYSTEM_PORT)
            except cluster.ClusterError as exc:
                problems.append(f"{meta['name']}: {exc.message}")
            else:
                entry["kvCacheUsage"] = total(samples, "dynamo_component_gpu_cache_usage_percent")
                entry["requests"] = total(samples, "dynamo_component_requests_total")
        workers.append(entry)
    usage = [w["kvCacheUsage"] for w in workers if w["kvCacheUsage"] is not None]
    return {
        "namespace": namespace,
        "name": name,
        "requests": {
            "total": requests,
            "errors": errors,
            "perSecond": _rate(namespace, name, requests),
            "inFlight": total(front, "dynamo_frontend_inflight_requests"),
            "queued": total(front, "dynamo_frontend_queued_requests"),
        },
        "timeToFirstTokenSeconds": _percentiles(
            front, "dynamo_frontend_time_to_first_token_seconds"
        ),
        "interTokenLatencySeconds": _percentiles(
            front, "dynamo_frontend_inter_token_latency_seconds"
        ),
        "requestDurationSeconds": _percentiles(front, "dynamo_frontend_request_duration_seconds"),
        "tokens": {
            "input": total(front, "dynamo_frontend_input_sequence_tokens_sum"),
            "output": total(front, "dynamo_frontend_output_sequence_tokens_sum"),
        },
        "kvCacheUsage": max(usage) if usage else None,
        "podRestarts": sum(pod_restarts(pod) for pod in pods),
        "workers": workers,
        "errors": problems,
    }
