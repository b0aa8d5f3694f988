"""A deployment's serving metrics over time: what the Metrics tab charts.

`history()` answers the same shape whatever the source, so the charts never know where the
points came from:

    {"source": "dynamote" | "prometheus", "stepSeconds": 15,
     "t": [epoch seconds, ...],                     # oldest first
     "series": {"requestRate": [float | None, ...], ...}}   # one value per t, None = no data

Each key of SERIES is one line of a chart, with the unit it is drawn in.

Without DYNAMOTE_PROMETHEUS_URL the points come from the samples Dynamote keeps
(`metrics_sampler`): rates from the change of the counters between two consecutive samples,
percentiles from the change of the histograms' buckets (what Prometheus'
histogram_quantile(rate(…)) computes), gauges as read. With it, from PromQL range queries
(`prometheus`).
"""

from __future__ import annotations

import time

from django.conf import settings

from deployments import cluster, frontend_metrics, metrics_sampler, prometheus
from deployments.models import MetricsSample
from deployments.selectors import dgd_names

SERIES = {
    "requestRate": "requests/s",
    "inFlight": "requests",
    "queued": "requests",
    "ttftP50": "s",
    "ttftP95": "s",
    "itlP50": "s",
    "itlP95": "s",
    "durationP50": "s",
    "durationP95": "s",
    "inputTokensRate": "tokens/s",
    "outputTokensRate": "tokens/s",
    "kvCacheUsage": "share",
    "podRestarts": "restarts",
}
RATES = {
    "requestRate": "requests",
    "inputTokensRate": "inputTokens",
    "outputTokensRate": "outputTokens",
}
PERCENTILES = {"ttft": "ttft", "itl": "itl", "duration": "duration"}
MAX_GAP_STEPS = 5  # two samples further apart than this many steps make no rate


def _delta(before: dict, after: dict) -> dict:
    """One frontend pod's counters and buckets, changed between two samples. A counter that
    went down means the pod restarted (from zero): its whole reading counts, as in rate()."""
    counters = [(before.get(k, 0.0), after.get(k, 0.0)) for k in metrics_sampler.COUNTERS]
    for key in metrics_sampler.HISTOGRAMS:
        old = before.get(key) or {}
        counters += [
            (old.get(bound, 0.0), count) for bound, count in (after.get(key) or {}).items()
        ]
    if any(now < then for then, now in counters):
        return after
    change = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in metrics_sampler.COUNTERS}
    for key in metrics_sampler.HISTOGRAMS:
        old = before.get(key) or {}
        change[key] = {b: c - old.get(b, 0.0) for b, c in (after.get(key) or {}).items()}
    return change


def _quantile(buckets: dict[str, float], q: float) -> float | None:
    histogram = {"h_bucket": [({"le": bound}, count) for bound, count in buckets.items()]}
    value = frontend_metrics.quantile(histogram, "h", q)
    return None if value is None else round(value, 6)


def between(before: dict | None, after: dict) -> dict[str, float | None]:
    """One point of every series from two consecutive samples (`taken_at`, `data`); the
    rates and percentiles need `before` (None: gauges only)."""
    values: dict[str, float | None] = dict.fromkeys(SERIES)
    data = after["data"]
    fronts = data.get("frontends") or {}
    if fronts:
        values["inFlight"] = sum(f.get("inFlight", 0.0) for f in fronts.values())
        values["queued"] = sum(f.get("queued", 0.0) for f in fronts.values())
    values["kvCacheUsage"] = data.get("kvCacheUsage")
    values["podRestarts"] = data.get("podRestarts")
    if before is None:
        return values
    elapsed = after["taken_at"] - before["taken_at"]
    earlier = before["data"].get("frontends") or {}
    changes = [_delta(earlier[pod], reading) for pod, reading in fronts.items() if pod in earlier]
    if elapsed <= 0 or not changes:
        return values
    for key, counter in RATES.items():
        values[key] = round(sum(c[counter] for c in changes) / elapsed, 6)
    for prefix, key in PERCENTILES.items():
        merged: dict[str, float] = {}
        for change in changes:
            for bound, count in change[key].items():
                merged[bound] = merged.get(bound, 0.0) + count
        values[f"{prefix}P50"] = _quantile(merged, 0.5)
        values[f"{prefix}P95"] = _quantile(merged, 0.95)
    return values


def kept(*, namespace: str, name: str, seconds: int, now: float | None = None) -> dict:
    """The history from the samples Dynamote keeps: one point per step of the last `seconds`
    (at most DYNAMOTE_METRICS_KEEP_SECONDS), None where no sample is stored."""
    step = settings.DYNAMOTE_METRICS_STEP_SECONDS
    now = time.time() if now is None else now
    span = min(seconds, settings.DYNAMOTE_METRICS_KEEP_SECONDS)
    last = int(now // step)
    first = last - span // step
    rows = {
        row["slot"]: row
        for row in MetricsSample.objects.filter(
            namespace=namespace, name=name, slot__gte=first - MAX_GAP_STEPS, slot__lte=last
        ).values("slot", "taken_at", "data")
    }
    if last not in rows:  # the step under way is not read yet: not a gap to show
        first, last = first - 1, last - 1
    series: dict[str, list] = {key: [] for key in SERIES}
    before = None
    for slot in range(first - MAX_GAP_STEPS, last + 1):
        row = rows.get(slot)
        if row is not None and before is not None and slot - before["slot"] > MAX_GAP_STEPS:
            before = None
        if slot >= first:
            values = between(before, row) if row is not None else dict.fromkeys(SERIES)
            for key in SERIES:
                series[key].append(values[key])
        if row is not None:
            before = row
    times = [slot * step for slot in range(first, last + 1)]
    return {"source": "dynamote", "stepSeconds": step, "t": times, "series": series}


def history(*, namespace: str, name: str, seconds: int = 3600) -> dict:
    """The last `seconds` of the deployment's metrics; NotFound for a deployment the cluster
    does not have, PrometheusUnavailable when the configured Prometheus fails."""
    names = dgd_names(namespace=namespace)
    if names is not None and name not in names:
        raise cluster.NotFound(f'There is no deployment "{name}" in namespace "{namespace}".')
    if settings.DYNAMOTE_PROMETHEUS_URL:
        return prometheus.history(namespace=namespace, name=name, seconds=seconds)
    metrics_sampler.start()
    return kept(namespace=namespace, name=name, seconds=seconds)
