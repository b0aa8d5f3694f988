"""The history Dynamote keeps of a deployment's metrics: samples of the raw readings, rates
and percentiles from their change between two samples."""

import time

import pytest

from deployments import metrics_history, metrics_sampler
from deployments.metrics_history import SERIES, between, kept
from deployments.models import MetricsSample
from tests.api.contract import check
from tests.fixtures.cluster import eventually
from tests.metrics.conftest import chat
from tests.playground.conftest import proxy_requests

pytestmark = pytest.mark.django_db
HISTORY = "/api/deployments/llama/metrics/history?namespace=default"


def reading(requests, ttft, *, tokens=(0, 0), in_flight=0) -> dict:
    """One frontend pod's raw reading: cumulative counters and time-to-first-token buckets."""
    return {
        "requests": requests,
        "inputTokens": tokens[0],
        "outputTokens": tokens[1],
        "inFlight": in_flight,
        "queued": 0,
        "ttft": dict(zip(["0.1", "0.2", "inf"], ttft, strict=True)),
        "itl": {},
        "duration": {},
    }


def sample(taken_at, *frontends, kv=None, restarts=0) -> dict:
    pods = {f"llama-frontend-{i}": r for i, r in enumerate(frontends)}
    return {
        "taken_at": taken_at,
        "data": {"frontends": pods, "kvCacheUsage": kv, "podRestarts": restarts},
    }


def test_rates_and_percentiles_come_from_the_change_between_two_samples():
    # Since the frontend started: 40 fast requests. In the 8 s between: 16 slower ones.
    before = sample(100, reading(40, (36, 40, 40), tokens=(400, 800)))
    after = sample(108, reading(56, (40, 52, 56), tokens=(560, 1200), in_flight=3), kv=0.25)
    point = between(before, after)
    assert point["requestRate"] == 2.0
    assert point["inputTokensRate"] == 20.0 and point["outputTokensRate"] == 50.0
    # Of the 16: 4 under 0.1 s, 8 more under 0.2 s, 4 slower (histogram_quantile of the rate).
    assert point["ttftP50"] == pytest.approx(0.15)
    assert point["ttftP95"] == 0.2  # in the +Inf bucket: the highest finite bound
    assert point["itlP50"] is None  # no inter-token observation in the step
    assert point["inFlight"] == 3 and point["kvCacheUsage"] == 0.25
    # The cumulative reading alone would have said 0.07 s: most old requests were fast.
    assert between(None, after)["ttftP50"] is None
    assert between(None, after)["inFlight"] == 3


def test_several_frontend_pods_add_up_and_a_new_pod_waits_for_its_second_sample():
    before = sample(100, reading(10, (10, 10, 10)))
    after = sample(110, reading(30, (20, 30, 30)), reading(500, (500, 500, 500), in_flight=2))
    point = between(before, after)
    assert point["requestRate"] == 2.0  # the second pod has no earlier reading yet
    assert point["inFlight"] == 2


def test_a_frontend_restart_is_a_counter_reset_not_a_negative_rate():
    before = sample(100, reading(56, (40, 52, 56), tokens=(560, 1200)))
    after = sample(110, reading(6, (2, 6, 6), tokens=(60, 120)))  # restarted: from zero
    point = between(before, after)
    assert point["requestRate"] == 0.6  # the 6 requests since the restart
    assert point["ttftP50"] == pytest.approx(0.125)
    assert all(value is None or value >= 0 for value in point.values())


def test_the_history_has_a_point_per_step_and_none_where_nothing_was_read(settings):
    settings.DYNAMOTE_METRICS_STEP_SECONDS = 10
    for slot, requests in ((100, 0), (101, 20), (102, 50), (109, 60), (110, 70)):
        taken = slot * 10 + 0.5
        MetricsSample.objects.create(
            namespace="default",
            name="llama",
            slot=slot,
            taken_at=taken,
            data=sample(taken, reading(requests, (0, 0, 0)))["data"],
        )
    answer = kept(namespace="default", name="llama", seconds=120, now=1105)
    assert answer["source"] == "dynamote" and answer["stepSeconds"] == 10
    assert answer["t"] == [slot * 10 for slot in range(98, 111)]
    assert set(answer["series"]) == set(SERIES)
    rates = answer["series"]["requestRate"]
    assert len(rates) == len(answer["t"])
    # 98, 99: nothing; 100: a first sample; 101, 102: rates; 103-108: a gap; 109: too far
    # from 102 to make a rate; 110: a rate again.
    assert rates == [None, None, None, 2.0, 3.0, *[None] * 6, None, 1.0]
    assert answer["series"]["inFlight"][2] == 0  # a gauge needs one sample only

    # In the next step, before the sampler has read it, the history still ends on what was
    # read: the latest value a chart shows never blinks to "no data" at each step.
    answer = kept(namespace="default", name="llama", seconds=120, now=1115)
    assert answer["t"][-1] == 1100 and answer["series"]["requestRate"][-1] == 1.0


@pytest.mark.sampler
def test_samples_accumulate_one_per_step_while_the_sampler_runs(
    transactional_db, member_client, ready_llama
):
    response = check(member_client.get(HISTORY + "&seconds=60"))
    assert response.status_code == 200
    assert metrics_sampler.running()  # asking for a history starts the sampler
    chat(ready_llama)
    chat(ready_llama)

    def two_rates():
        series = check(member_client.get(HISTORY + "&seconds=60")).json()["series"]
        rates = [r for r in series["requestRate"] if r is not None]
        assert len(rates) >= 2
        return series

    series = eventually(two_rates, timeout=8)
    assert [v for v in series["inFlight"] if v is not None]
    assert max(v for v in series["kvCacheUsage"] if v is not None) > 0
    stored = MetricsSample.objects.filter(namespace="default", name="llama")
    slots = list(stored.values_list("slot", flat=True))
    assert len(slots) >= 3 and len(set(slots)) == len(slots)


@pytest.mark.sampler
def test_the_sampler_stops_with_the_mirror(transactional_db, member_client, ready_llama):
    from deployments import mirror

    assert check(member_client.get(HISTORY)).status_code == 200
    assert metrics_sampler.running()
    mirror.reset()  # what a change of cluster (and each test's end) does
    eventually(lambda: _assert(not metrics_sampler.running()), timeout=3)


def _assert(value):
    assert value
    return value


def test_the_history_shows_the_traffic_between_two_samples(member_client, ready_llama):
    now = time.time()
    assert metrics_sampler.sample_once(now=now - 1) == 1
    for _ in range(3):
        chat(ready_llama)
    assert metrics_sampler.sample_once(now=now) == 1
    answer = check(member_client.get(HISTORY + "&seconds=60")).json()
    series = answer["series"]
    assert answer["source"] == "dynamote" and len(answer["t"]) == 61
    at = answer["t"].index(int(now))  # the point of the second sample's step
    assert series["requestRate"][at] == pytest.approx(3.0, rel=0.01)  # 3 requests in 1 s
    assert 0 < series["ttftP50"][at] <= series["ttftP95"][at] < 0.1
    assert 0 < series["itlP50"][at] < 0.05
    assert series["inputTokensRate"][at] == pytest.approx(18.0, rel=0.01)
    assert series["outputTokensRate"][at] > 0
    assert 0 < series["kvCacheUsage"][at] < 1
    assert series["podRestarts"][at] == 0
    assert [r for r in series["requestRate"] if r is not None] == [series["requestRate"][at]]


def test_a_second_replica_finds_the_step_filled_and_reads_nothing(ready_llama):
    now = time.time()
    assert metrics_sampler.sample_once(now=now) == 1
    read = len(proxy_requests(ready_llama))
    assert read == 2  # the frontend pod and the worker pod, through the pod proxy
    assert metrics_sampler.sample_once(now=now) == 0  # the other replica, the same step
    assert len(proxy_requests(ready_llama)) == read
    assert MetricsSample.objects.filter(name="llama").count() == 1
    assert metrics_sampler.sample_once(now=now + 1) == 1  # the next step


def test_samples_older_than_the_window_are_deleted(settings, ready_llama):
    settings.DYNAMOTE_METRICS_KEEP_SECONDS = 60
    now = time.time()
    metrics_sampler.sample_once(now=now - 61)
    metrics_sampler.sample_once(now=now - 30)
    metrics_sampler.sample_once(now=now)
    kept_at = sorted(MetricsSample.objects.values_list("taken_at", flat=True))
    assert kept_at == [now - 30, now]


def test_a_deployment_not_ready_has_an_empty_history_and_no_error(member_client, cluster_sandbox):
    from deployments import cluster
    from tests.playground.conftest import llama_manifest

    cluster.dgd_create(manifest=llama_manifest())
    cluster_sandbox.advance(3)  # pods starting: no frontend answers yet
    assert metrics_sampler.sample_once() == 0
    response = check(member_client.get(HISTORY + "&seconds=60"))
    assert response.status_code == 200
    answer = response.json()
    assert len(answer["t"]) == 61
    assert all(value is None for values in answer["series"].values() for value in values)


@pytest.mark.sampler  # a refused request must not start it
def test_the_route_refuses_bad_seconds_and_unknown_deployments(member_client, ready_llama):
    for seconds in ("abc", "59", "86401", "-5"):
        response = check(member_client.get(HISTORY + f"&seconds={seconds}"))
        assert response.status_code == 400
        assert response.json()["error"] == "seconds must be a whole number from 60 to 86400."
    response = check(
        member_client.get("/api/deployments/mistral/metrics/history?namespace=default")
    )
    assert response.status_code == 404
    assert response.json()["error"] == 'There is no deployment "mistral" in namespace "default".'
    assert not metrics_sampler.running()


def test_the_history_covers_at_most_the_window_kept(settings, member_client, ready_llama):
    settings.DYNAMOTE_METRICS_KEEP_SECONDS = 120
    answer = metrics_history.history(namespace="default", name="llama", seconds=3600)
    assert len(answer["t"]) == 121
