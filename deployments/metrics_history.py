"""A deployment's serving metrics over time: what the Metrics tab charts.

`history()` answers the same shape whatever the source, so the charts never know where the
points came from:

    {"source": "dynamote" | "prometheus", "stepSeconds": 15,
     "t": [epoch seconds, ...],                     # oldest first
     "series": {"requestRate": [float | None, ...], ...}}   # one value per t, None = no data

Each key of SERIES is one line of a chart, with the unit it is drawn in.
"""

from __future__ import annotations

import time

from django.conf import settings

from deployments import frontend_metrics

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


def point(current: dict) -> dict[str, float | None]:
    """One point of every series from frontend_metrics.deployment_metrics()' answer."""
    requests = current["requests"]
    ttft, itl = current["timeToFirstTokenSeconds"], current["interTokenLatencySeconds"]
    duration = current["requestDurationSeconds"]
    return {
        "requestRate": requests["perSecond"],
        "inFlight": requests["inFlight"],
        "queued": requests["queued"],
        "ttftP50": ttft["p50"],
        "ttftP95": ttft["p95"],
        "itlP50": itl["p50"],
        "itlP95": itl["p95"],
        "durationP50": duration["p50"],
        "durationP95": duration["p95"],
        "inputTokensRate": None,
        "outputTokensRate": None,
        "kvCacheUsage": current["kvCacheUsage"],
        "podRestarts": current["podRestarts"],
    }


def history(*, namespace: str, name: str, seconds: int = 3600) -> dict:
    """The last `seconds` of the deployment's metrics (for now: the current reading only)."""
    current = frontend_metrics.deployment_metrics(namespace=namespace, name=name)
    values = point(current)
    return {
        "source": "dynamote",
        "stepSeconds": settings.DYNAMOTE_METRICS_STEP_SECONDS,
        "t": [round(time.time(), 3)],
        "series": {key: [values[key]] for key in SERIES},
    }
