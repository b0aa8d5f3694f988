"""The mirror: one LIST then one WATCH per resource, and how it rides out the cluster's faults.

Every test here reads the mirror as a page does, with the tests' read barrier off: what a
test sees is what the watch delivered, when it delivered it.
"""

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

import pytest

from deployments import cluster, metrics_sampler, mirror
from deployments.feed import feed
from tests.dashboard.conftest import dgd_manifest
from tests.fixtures.cluster import count_from_now, eventually

pytestmark = pytest.mark.django_db

DGDS = "dynamographdeployments"


def names(namespace: str = "default") -> list[str]:
    return sorted(d["metadata"]["name"] for d in mirror.dgds(namespace).value or [])


def shows(*expected: str, fresh: bool = True):
    """A check for `eventually`: the mirror shows exactly these DGDs (and is not stale)."""

    def check() -> None:
        assert names() == sorted(expected)
        if fresh:
            assert mirror.dgds("default").error is None

    return check


def mirror_logs(caplog, text: str, resource: str = "dgds") -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "dynamote.mirror"
        and text in r.getMessage()
        and f"{resource} in" in r.getMessage()
    ]


@pytest.fixture
def live(cluster_sandbox):
    """The sandbox with DGDs alpha and bravo, mirrored, with no read barrier."""
    for name in ("alpha", "bravo"):
        cluster.dgd_create(manifest=dgd_manifest(name))
    assert names() == ["alpha", "bravo"]
    mirror.read_barrier = None
    eventually(watching)
    return cluster_sandbox


def until(condition, timeout: float = 10.0) -> None:
    def check() -> None:
        assert condition()

    eventually(check, timeout)


def watching() -> None:
    """The mirror's watches are open (a fault injected now reaches them)."""
    assert all(r.watching for r in mirror.running())


def delete_for_good(sandbox, name: str) -> None:
    cluster.dgd_delete(namespace="default", name=name)
    sandbox.advance(120)  # its pods terminate, then the DGD is gone
    assert sandbox.get("dgd", "default", name) is None


def test_any_number_of_reads_cost_one_list_and_one_watch_per_resource(cluster_sandbox):
    mirror.reset()
    count_from_now(cluster_sandbox)
    for _ in range(50):
        mirror.dgds("default"), mirror.pods("default"), mirror.events("default")
        mirror.nodes(), mirror.namespaces()
    cluster.dgd_create(manifest=dgd_manifest("llama"))
    eventually(shows("llama"))
    eventually(watching)  # each watch opens once its LIST has answered
    for resource in (DGDS, "pods", "events", "nodes", "namespaces"):
        assert cluster_sandbox.request_count("list", resource) == 1, resource
        assert cluster_sandbox.request_count("watch", resource) == 1, resource


def test_an_unchanged_mirror_hands_out_the_same_list_a_changed_one_a_new_one(live):
    first = mirror.dgds("default").value
    assert mirror.dgds("default").value is first
    cluster.dgd_create(manifest=dgd_manifest("charlie"))
    eventually(shows("alpha", "bravo", "charlie"))
    assert mirror.dgds("default").value is not first


def test_each_watched_change_is_announced_once(live):
    mirror.pods("default")  # a page that shows pods has started their watch
    eventually(watching)
    start = feed.latest()
    cluster.dgd_create(manifest=dgd_manifest("charlie"))
    live.advance(2)  # the operator creates its pods

    def announced() -> list:
        notices = feed.since(start)
        assert ("dgd", "charlie", "charlie") in [(n.kind, n.name, n.deployment) for n in notices]
        assert any(n.kind == "pod" and n.deployment == "charlie" for n in notices)
        return notices

    notices = eventually(announced)
    # A DGD added once is announced once per change the watch delivered, never re-listed.
    assert live.request_count("list", DGDS) == 1
    assert len({n.seq for n in notices}) == len(notices)


def test_a_write_waits_until_the_mirror_has_seen_it(live):
    created = cluster.dgd_create(manifest=dgd_manifest("charlie"))
    mirror.written(created)
    assert names() == ["alpha", "bravo", "charlie"]


def test_a_stalled_watch_is_noticed_and_opened_again(live, monkeypatch, caplog):
    monkeypatch.setattr(mirror, "STALL_SECONDS", 1.0)
    mirror.reset()  # watches opened from now on count 1 s of silence as a stall
    assert names() == ["alpha", "bravo"]
    eventually(watching)
    lists = live.request_count("list", DGDS)
    caplog.set_level(logging.INFO, "dynamote.mirror")
    live.api.apply_faults({"stallWatches": True})  # the open watches hang without closing
    cluster.dgd_create(manifest=dgd_manifest("charlie"))
    eventually(shows("alpha", "bravo", "charlie"), timeout=10)
    assert any("sent nothing" in line for line in mirror_logs(caplog, "lost the watch"))
    assert live.request_count("list", DGDS) == lists  # resumed from its resourceVersion


def test_410_gone_lists_again_and_never_shows_a_deleted_deployment(live, caplog):
    caplog.set_level(logging.INFO, "dynamote.mirror")
    live.api.apply_faults({"stallWatches": True})  # the mirror hears nothing more
    delete_for_good(live, "bravo")
    cluster.dgd_create(manifest=dgd_manifest("charlie"))
    start = feed.latest()
    live.api.apply_faults({"compact": True})  # forgets the changes; ends the open watches
    eventually(shows("alpha", "charlie"))
    assert live.request_count("list", DGDS) == 2
    assert len(mirror_logs(caplog, "fell behind")) == 1
    gone = [n for n in feed.since(start) if n.kind == "dgd" and n.name == "bravo"]
    assert len(gone) == 1  # the re-LIST announces the deletion it found


def test_500s_on_the_re_list_show_stale_then_recover_logged_once(live, caplog):
    caplog.set_level(logging.INFO, "dynamote.mirror")
    live.api.apply_faults({"stallWatches": True})
    delete_for_good(live, "bravo")
    live.api.apply_faults({"failLists": {"count": 3, "code": 500}, "compact": True})

    def stale_or_recovered() -> None:
        snapshot = mirror.dgds("default")
        assert snapshot.error is not None or names() == ["alpha"]

    eventually(stale_or_recovered)
    eventually(shows("alpha"))
    assert len(mirror_logs(caplog, "lost the watch")) == 1
    assert "HTTP 500" in mirror_logs(caplog, "lost the watch")[0]
    assert len(mirror_logs(caplog, "watching again")) == 1


def test_an_outage_shows_stale_rows_then_resumes_the_watch(live, caplog):
    caplog.set_level(logging.INFO, "dynamote.mirror")
    live.api.apply_faults({"outage": 1.0})

    def stale() -> None:
        snapshot = mirror.dgds("default")
        assert isinstance(snapshot.error, cluster.Unreachable)
        assert sorted(d["metadata"]["name"] for d in snapshot.value) == ["alpha", "bravo"]

    eventually(stale)
    until(lambda: live.running)
    until(lambda: mirror.dgds("default").error is None)
    cluster.dgd_create(manifest=dgd_manifest("charlie"))
    eventually(shows("alpha", "bravo", "charlie"))
    assert live.request_count("list", DGDS) == 1  # watched again from where it was
    assert len(mirror_logs(caplog, "lost the watch")) == 1
    assert len(mirror_logs(caplog, "watching again")) == 1


def test_a_restarted_sandbox_is_watched_again_without_duplicates(live, caplog):
    caplog.set_level(logging.INFO, "dynamote.mirror")
    live.stop()
    until(lambda: mirror.dgds("default").error is not None)
    live.start()
    cluster.dgd_create(manifest=dgd_manifest("charlie"))
    eventually(shows("alpha", "bravo", "charlie"))
    assert len(mirror_logs(caplog, "lost the watch")) == 1
    assert len(mirror_logs(caplog, "watching again")) == 1


def test_a_short_blip_is_not_stale_a_long_one_is(live, monkeypatch):
    monkeypatch.setattr(mirror, "STALE_AFTER", 1.0)
    start = feed.latest()
    live.stop()
    current = mirror.reflector("dgds", mirror.ALL)
    until(lambda: current.down_since is not None)
    assert mirror.dgds("default").error is None  # within the threshold: no banner yet
    until(lambda: mirror.dgds("default").error is not None)
    # The header is told: the mirror's health changed.
    assert any(n.kind == "cluster" for n in feed.since(start))
    live.start()


def test_where_watch_is_forbidden_a_cached_list_is_read(cluster_sandbox, monkeypatch):
    monkeypatch.setattr(mirror, "LIST_TTL", 0)
    verbs = ["get", "list", "create", "update", "patch", "delete"]
    cluster_sandbox.set_permissions([{"apiGroups": ["*"], "resources": ["*"], "verbs": verbs}])
    mirror.reset()
    cluster.dgd_create(manifest=dgd_manifest("llama"))
    assert names() == ["llama"]
    until(lambda: mirror.reflector("dgds", mirror.ALL).forbidden)
    created = cluster.dgd_create(manifest=dgd_manifest("mistral"))
    mirror.written(created)
    assert names() == ["llama", "mistral"]


def test_reset_stops_every_watch(live):
    threads = [r.thread for r in mirror.running()]
    assert threads and all(t.is_alive() for t in threads)
    mirror.reset()
    until(lambda: not any(t.is_alive() for t in threads), timeout=5)


def test_the_mirror_keeps_only_what_dynamote_reads():
    pod = {
        "metadata": {"name": "p", "managedFields": [{"manager": "kubelet"}]},
        "spec": {
            "nodeName": "gpu-1",
            "volumes": [{"name": "cache"}],
            "containers": [{"name": "main", "args": ["--model", "m"], "readinessProbe": {}}],
        },
    }
    trimmed = mirror._trim_pod(pod)
    assert trimmed == {
        "metadata": {"name": "p"},
        "spec": {
            "nodeName": "gpu-1",
            "volumes": [{"name": "cache"}],
            "containers": [{"name": "main", "args": ["--model", "m"]}],
        },
    }


@pytest.mark.sampler
@pytest.mark.django_db(transaction=True)
def test_a_served_process_lists_the_dashboard_before_anyone_asks(cluster_sandbox):
    """The ASGI server's start lists DGDs and their pods, so the first viewer waits for none."""
    from dynamote.asgi import application

    cluster.dgd_create(manifest=dgd_manifest("early"))
    mirror.reset()
    count_from_now(cluster_sandbox)

    async def serve_start_and_stop() -> list[str]:
        messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
        sent: list[str] = []

        async def receive():
            return next(messages)

        async def send(message):
            sent.append(message["type"])

        await application({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
        return sent

    # A thread of its own, as a server's: after the browser tests, this one has their loop.
    with ThreadPoolExecutor(max_workers=1) as server:
        sent = server.submit(asyncio.run, serve_start_and_stop()).result()

    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]

    def listed() -> None:  # no page read anything yet
        assert cluster_sandbox.request_count("list", DGDS) == 1
        assert cluster_sandbox.request_count("list", "pods") == 1
        assert {r.resource for r in mirror.running() if r.synced.is_set()} >= {"dgds", "pods"}

    eventually(listed)
    # The metrics history is kept from the start, not from the first Metrics tab opened.
    assert metrics_sampler.running()
    metrics_sampler.reset()
    assert names() == ["early"]
