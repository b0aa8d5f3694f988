"""The shared cache: one load per key for any number of concurrent callers, stale on failure."""

import threading
import time

from deployments.cluster import Unreachable
from deployments.mirror import SharedCache


def test_concurrent_misses_share_one_load():
    cache, calls, gate = SharedCache(), [], threading.Event()

    def load():
        calls.append(1)
        gate.wait(2)
        return ["dgd"]

    results = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get(("k",), 5, load).value))
        for _ in range(50)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.1)
    gate.set()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert results == [["dgd"]] * 50


def test_fresh_values_are_served_until_the_ttl():
    cache, calls = SharedCache(), []
    load = lambda: calls.append(1) or len(calls)  # noqa: E731
    assert cache.get(("k",), 0.2, load).value == 1
    assert cache.get(("k",), 0.2, load).value == 1
    time.sleep(0.25)
    assert cache.get(("k",), 0.2, load).value == 2


def test_a_failure_keeps_the_last_good_value_and_its_time():
    cache = SharedCache()
    good = cache.get(("k",), 0, lambda: ["a"])

    def fail():
        raise Unreachable("down")

    stale = cache.get(("k",), 0, fail)
    assert stale.value == ["a"]
    assert stale.fetched_at == good.fetched_at
    assert stale.error.message == "down"
    assert cache.get(("k",), 0, lambda: ["b"]).error is None


def test_expire_forces_a_reload():
    cache, calls = SharedCache(), []
    load = lambda: calls.append(1) or len(calls)  # noqa: E731
    cache.get(("x", "dgds", "team"), 60, load)
    cache.expire(lambda key: key[2] == "team")
    assert cache.get(("x", "dgds", "team"), 60, load).value == 2
