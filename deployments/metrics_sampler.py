"""The history Dynamote keeps of each Ready deployment's serving metrics.

Every DYNAMOTE_METRICS_STEP_SECONDS a daemon thread reads the `/metrics` of each frontend pod
(port 8000) and worker pod (port 9090) of the Ready deployments in the namespaces Dynamote
uses, through the API server's pod proxy, and stores the raw cumulative readings as one
MetricsSample per deployment and step. Rates and percentiles are worked out later, from the
change between two samples (`metrics_history`), as Prometheus' rate() would.

The samples live in the database: the replicas of Dynamote behind one Service share them (a
replica that finds the step's sample stored does not read the pods again), and a restart
keeps them. Samples older than DYNAMOTE_METRICS_KEEP_SECONDS are deleted.

The thread starts the first time a history is asked for (`start()`), stops by itself when
the configured cluster changes or the mirror is reset, and `reset()` stops it (tests).
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections, connections

from deployments import cluster, frontend_metrics, mirror, status
from deployments.models import MetricsSample
from deployments.selectors import list_namespaces

logger = logging.getLogger("dynamote.metrics")

CONCURRENCY = 4  # deployments read at the same time
READ_DEADLINE = 5.0  # seconds one deployment's pods may take together
HISTOGRAMS = {
    "ttft": "dynamo_frontend_time_to_first_token_seconds",
    "itl": "dynamo_frontend_inter_token_latency_seconds",
    "duration": "dynamo_frontend_request_duration_seconds",
}
COUNTERS = {
    "requests": "dynamo_frontend_requests_total",
    "inputTokens": "dynamo_frontend_input_sequence_tokens_sum",
    "outputTokens": "dynamo_frontend_output_sequence_tokens_sum",
}
GAUGES = {
    "inFlight": "dynamo_frontend_inflight_requests",
    "queued": "dynamo_frontend_queued_requests",
}
WORKER_TYPES = ("worker", "prefill", "decode")


@dataclass(frozen=True)
class Target:
    """A Ready deployment and its pods, as the mirror sees them."""

    namespace: str
    name: str
    pods: tuple[dict, ...]


# --- one reading ------------------------------------------------------------------------------


def frontend_reading(samples: dict) -> dict:
    """What a sample keeps of one frontend pod's metrics: counters, buckets, gauges."""
    reading: dict = {key: frontend_metrics.total(samples, name) for key, name in COUNTERS.items()}
    reading.update({key: frontend_metrics.total(samples, name) for key, name in GAUGES.items()})
    for key, histogram in HISTOGRAMS.items():
        buckets: dict[str, float] = {}
        for labels, value in samples.get(f"{histogram}_bucket", []):
            bound = str(float(labels["le"]))  # "0.1", "inf": one key per bound across series
            buckets[bound] = buckets.get(bound, 0.0) + value
        reading[key] = buckets
    return reading


def read(target: Target) -> dict:
    """One sample's data: each frontend pod's reading, the highest KV-cache use of the
    workers, every pod's restarts, and what could not be read."""
    data: dict = {"frontends": {}, "kvCacheUsage": None, "podRestarts": 0, "errors": []}
    usage: list[float] = []
    deadline = time.monotonic() + READ_DEADLINE
    for pod in target.pods:
        meta = pod.get("metadata") or {}
        data["podRestarts"] += status.pod_restarts(pod)
        kind = (meta.get("labels") or {}).get(frontend_metrics.TYPE_LABEL)
        if not status.pod_ready(pod) or kind not in ("frontend", *WORKER_TYPES):
            continue
        if time.monotonic() > deadline:
            data["errors"].append(
                f"{meta['name']}: not read, the step's {READ_DEADLINE:g} s ran out"
            )
            continue
        port = cluster.FRONTEND_PORT if kind == "frontend" else cluster.SYSTEM_PORT
        try:
            samples = frontend_metrics.pod_metrics(target.namespace, meta["name"], port)
        except cluster.ClusterError as exc:
            data["errors"].append(f"{meta['name']}: {exc.message}")
            continue
        if kind == "frontend":
            data["frontends"][meta["name"]] = frontend_reading(samples)
        elif "dynamo_component_gpu_cache_usage_percent" in samples:
            usage.append(
                frontend_metrics.total(samples, "dynamo_component_gpu_cache_usage_percent")
            )
    data["kvCacheUsage"] = max(usage) if usage else None
    return data


# --- one round --------------------------------------------------------------------------------


def ready_deployments() -> list[Target]:
    """The Ready deployments of the namespaces Dynamote uses, with their pods."""
    targets = []
    for scope in list_namespaces():
        mirror.start("dgds", "pods", namespace=scope)
        dgds, pods = mirror.dgds(scope), mirror.pods(scope)
        if dgds.error is not None or pods.error is not None:
            logger.warning("metrics sampler: %s", (dgds.error or pods.error).message)
        by_deployment: dict[tuple[str, str], list[dict]] = {}
        for pod in pods.value or []:
            meta = pod.get("metadata") or {}
            owner = (meta.get("labels") or {}).get(frontend_metrics.DEPLOYMENT_LABEL)
            if owner:
                by_deployment.setdefault((meta.get("namespace", ""), owner), []).append(pod)
        for dgd in dgds.value or []:
            meta = dgd.get("metadata") or {}
            key = (meta.get("namespace", ""), meta.get("name", ""))
            owned = by_deployment.get(key, [])
            if status.deployment_status(dgd, pods=owned).key == status.READY:
                targets.append(Target(key[0], key[1], tuple(owned)))
    return targets


def sample_once(now: float | None = None) -> int:
    """Reads every Ready deployment whose sample of this step is not stored yet, stores the
    samples, deletes those past the window; the number of samples stored."""
    step = settings.DYNAMOTE_METRICS_STEP_SECONDS
    now = time.time() if now is None else now
    slot = int(now // step)
    filled = set(MetricsSample.objects.filter(slot=slot).values_list("namespace", "name"))
    targets = [t for t in ready_deployments() if (t.namespace, t.name) not in filled]
    with ThreadPoolExecutor(max_workers=CONCURRENCY, thread_name_prefix="metrics-read") as pool:
        readings = list(pool.map(_read_logged, targets))
    stored = [
        MetricsSample(namespace=t.namespace, name=t.name, slot=slot, taken_at=now, data=data)
        for t, data in zip(targets, readings, strict=True)
        if data is not None
    ]
    # Another replica may have stored the same step meanwhile: its sample stays.
    MetricsSample.objects.bulk_create(stored, ignore_conflicts=True)
    MetricsSample.objects.filter(taken_at__lt=now - settings.DYNAMOTE_METRICS_KEEP_SECONDS).delete()
    return len(stored)


def _read_logged(target: Target) -> dict | None:
    try:
        return read(target)
    except Exception:  # one deployment's surprise must not stop the others' history
        logger.exception("metrics sampler: reading %s/%s failed", target.namespace, target.name)
        return None


# --- the thread -------------------------------------------------------------------------------


class Sampler:
    """A daemon thread that samples at the start of every step."""

    def __init__(self) -> None:
        self.config = cluster.config_key()
        self.mirror_resets = mirror.resets
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="metrics-sampler", daemon=True)

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            connections.close_all()  # this thread's connection, never left open behind it

    def _loop(self) -> None:
        while True:
            step = settings.DYNAMOTE_METRICS_STEP_SECONDS
            if self.stopping.wait(step - time.time() % step):
                return
            if not self.current:
                # Another cluster, or the mirror was reset (tests, benchmarks): the next
                # history asked for starts a new sampler. (A round's reads would start the
                # mirror again, so its being reset is counted, not seen from its state.)
                return
            try:
                sample_once()
            except Exception:
                logger.exception("metrics sampler: a round failed")
            finally:
                close_old_connections()

    @property
    def current(self) -> bool:
        """It samples the cluster Dynamote is configured for, through the mirror of now."""
        return cluster.config_key() == self.config and mirror.resets == self.mirror_resets

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not threading.current_thread():
            self.thread.join(timeout=READ_DEADLINE * 2)


_lock = threading.Lock()
_sampler: Sampler | None = None


def start() -> None:
    """Starts the thread unless one runs for the configured cluster."""
    global _sampler
    with _lock:
        current = _sampler
        if current is not None and current.thread.is_alive():
            if current.current:
                return
            current.stopping.set()
        _sampler = Sampler()
        _sampler.thread.start()


def running() -> bool:
    with _lock:
        return _sampler is not None and _sampler.thread.is_alive()


def reset() -> None:
    """Stops the thread (tests, and a change of cluster)."""
    global _sampler
    with _lock:
        current, _sampler = _sampler, None
    if current is not None:
        current.stop()
