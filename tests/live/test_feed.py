"""The change notices a page's stream waits for: numbered, bounded, waitable from asyncio."""

import asyncio
import threading
import time

import pytest

from deployments import cluster, mirror
from deployments.feed import Feed, feed, publish_changes
from tests.dashboard.conftest import dgd_manifest
from tests.fixtures.cluster import eventually


def dgd(name: str, version: str) -> dict:
    return {"metadata": {"namespace": "team-a", "name": name, "resourceVersion": version}}


def test_notices_after_a_number_are_returned_in_order():
    notices = Feed()
    first = notices.publish("dgd", "team-a", "llama")
    notices.publish("pod", "team-a", "llama-worker-0", "llama")
    assert [(n.kind, n.name, n.deployment) for n in notices.since(first)] == [
        ("pod", "llama-worker-0", "llama")
    ]
    assert notices.since(notices.latest()) == []


def test_a_reader_behind_the_history_is_told_to_redraw_everything():
    notices = Feed(history=3)
    for n in range(5):
        notices.publish("dgd", "team-a", f"d{n}")
    assert notices.since(0) is None
    assert [n.name for n in notices.since(2)] == ["d2", "d3", "d4"]


def test_a_thread_waiting_wakes_when_a_notice_arrives():
    notices = Feed()
    threading.Timer(0.05, notices.publish, args=("cluster",)).start()
    started = time.monotonic()
    assert notices.wait(0, timeout=5) == 1
    assert time.monotonic() - started < 2


def test_an_asyncio_stream_wakes_without_holding_a_thread():
    notices = Feed()

    async def scenario():
        waiting = asyncio.create_task(notices.wait_async(0, timeout=5))
        await asyncio.sleep(0.05)
        threading.Thread(target=notices.publish, args=("dgd", "team-a", "llama")).start()
        return await asyncio.wait_for(waiting, 2)

    assert run_alone(scenario()) == 1


def test_an_asyncio_wait_times_out_with_the_same_number():
    notices = Feed()
    assert run_alone(notices.wait_async(0, timeout=0.05)) == 0


def test_a_new_list_publishes_only_the_objects_that_changed():
    start = feed.latest()
    publish_changes(
        "dgd", [dgd("a", "1"), dgd("b", "1")], [dgd("a", "1"), dgd("b", "2"), dgd("c", "1")]
    )
    assert sorted(n.name for n in feed.since(start)) == ["b", "c"]
    start = feed.latest()
    publish_changes("dgd", [dgd("a", "1")], [])
    assert [(n.name, n.deployment) for n in feed.since(start)] == [("a", "a")]


@pytest.mark.django_db
def test_a_deployment_created_in_the_cluster_is_announced_by_the_watch(cluster_sandbox):
    mirror.dgds("default")
    start = feed.latest()
    cluster.dgd_create(manifest=dgd_manifest("llama"))

    def announced() -> None:  # no read needed: the mirror's watch announces it
        feed.wait(feed.latest(), timeout=0.2)
        assert ("dgd", "llama") in [(n.kind, n.name) for n in feed.since(start)]

    eventually(announced)


def run_alone(coroutine):
    """asyncio.run in a thread of its own: the browser tests leave a loop in the main thread."""
    import asyncio
    import threading

    result = []
    thread = threading.Thread(target=lambda: result.append(asyncio.run(coroutine)))
    thread.start()
    thread.join()
    return result[0]
