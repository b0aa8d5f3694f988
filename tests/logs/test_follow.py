"""Following a deployment's logs live: pods that join or leave, restarts and cluster cuts."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable

import pytest
from kubernetes import client

from deployments import cluster, logs
from deployments.logs import LogLine
from tests.dashboard.conftest import dgd_manifest
from tests.fixtures.sandbox import sandbox_api_client

from .conftest import pods_of, scale


class Followed:
    """A Follower's lines as they come, for a test to wait on."""

    def __init__(self, request: logs.LogRequest) -> None:
        self._queue: queue.Queue[LogLine | None] = queue.Queue()
        self.lines: list[LogLine] = []
        self.ended = False
        self.follower = logs.Follower(request, self._queue.put).start()

    def wait_for(self, check: Callable[[LogLine], bool], seconds: float = 10.0) -> LogLine:
        deadline = time.monotonic() + seconds
        for line in self.lines:
            if check(line):
                return line
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                self.ended = True
                continue
            self.lines.append(line)
            if check(line):
                return line
        raise AssertionError(f"no such line among {[(x.pod, x.text) for x in self.lines]}")

    def drain(self, seconds: float = 0.5) -> list[LogLine]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.05)
            except queue.Empty:
                continue
            if line is None:
                self.ended = True
            else:
                self.lines.append(line)
        return self.lines

    def of(self, pod: str) -> list[str]:
        return [line.text for line in self.lines if line.pod == pod and not line.notice]

    def close(self) -> None:
        self.follower.close()


@pytest.fixture
def follow():
    started: list[Followed] = []

    def start(**params: str) -> Followed:
        request = logs.log_request(
            namespace="default", name="llama", params={"follow": "true", **params}
        )
        started.append(Followed(request))
        return started[-1]

    yield start
    for followed in started:
        followed.close()


def until(check: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not check():
        time.sleep(0.05)
    return check()


def delete_pod(sandbox, pod: str) -> None:
    """Deletes a pod as kubectl does (the operator replaces it)."""
    client.CoreV1Api(sandbox_api_client(sandbox)).delete_namespaced_pod(pod, "default")


def whole_log(sandbox, pod: str) -> list[str]:
    core = client.CoreV1Api(sandbox_api_client(sandbox))
    return core.read_namespaced_pod_log(pod, "default").splitlines()


def test_a_pod_added_by_a_scale_up_joins_with_its_whole_log(deployed, follow):
    first, second = pods_of(deployed, "llama")
    followed = follow(component="VllmWorker", tailLines="1")
    assert until(lambda: deployed.api.log_streams == 2)
    scale(3)
    deployed.advance(2)
    (new,) = set(pods_of(deployed, "llama")) - {first, second}
    joined = followed.wait_for(lambda line: line.change == "joined")
    assert (joined.pod, joined.text) == (new, f"+ pod {new} joined")
    deployed.advance(20)  # the new container starts, loads and serves
    followed.wait_for(lambda line: line.pod == new and "worker ready" in line.text)
    assert until(lambda: deployed.api.log_streams == 3)
    deployed.advance(10)
    followed.wait_for(lambda line: line.pod == new and "Avg generation throughput" in line.text)
    followed.drain()
    # From its first line on, each once, in order.
    assert followed.of(new) == whole_log(deployed, new)[: len(followed.of(new))]
    assert followed.of(new)[0] == whole_log(deployed, new)[0]
    assert sorted(followed.follower.pods) == sorted([first, second, new])
    followed.close()
    assert until(lambda: deployed.api.log_streams == 0), deployed.api.log_streams


def test_a_pod_scaled_away_leaves_with_a_line_and_its_stream_closes(deployed, follow):
    workers = pods_of(deployed, "llama")
    followed = follow(component="VllmWorker", tailLines="1")
    assert until(lambda: deployed.api.log_streams == 2)
    scale(1)
    deployed.advance(1)  # one pod is told to stop: its last line is read
    stopping = followed.wait_for(lambda line: "Received SIGTERM" in line.text)
    deployed.advance(60)
    (gone,) = set(workers) - set(pods_of(deployed, "llama"))
    assert stopping.pod == gone
    ended = followed.wait_for(lambda line: line.change == "ended")
    assert (ended.pod, ended.text) == (gone, f"- pod {gone} ended")
    assert until(lambda: deployed.api.log_streams == 1)
    assert followed.follower.pods == [w for w in workers if w != gone]
    assert not followed.ended  # the component's follow goes on


def test_a_replaced_pod_is_followed_in_its_place(deployed, follow):
    first, second = pods_of(deployed, "llama")
    followed = follow(component="VllmWorker", tailLines="1")
    assert until(lambda: deployed.api.log_streams == 2)
    delete_pod(deployed, first)
    deployed.advance(60)
    (replacement,) = set(pods_of(deployed, "llama")) - {first, second}
    followed.wait_for(lambda line: line.text == f"- pod {first} ended")
    followed.wait_for(lambda line: line.text == f"+ pod {replacement} joined")
    followed.wait_for(lambda line: line.pod == replacement and "worker ready" in line.text)
    assert until(lambda: deployed.api.log_streams == 2)


def test_a_followed_pod_that_is_deleted_ends_the_follow(deployed, follow):
    worker = pods_of(deployed, "llama")[0]
    followed = follow(pod=worker, tailLines="1")
    assert until(lambda: deployed.api.log_streams == 1)
    delete_pod(deployed, worker)
    deployed.advance(60)
    followed.wait_for(lambda line: line.text == f"- pod {worker} ended")
    assert until(lambda: followed.drain(0.1) is not None and followed.ended)
    assert deployed.api.log_streams == 0


def test_a_restarted_container_goes_on_with_its_new_run_and_repeats_nothing(
    cluster_sandbox, follow
):
    manifest = dgd_manifest("llama")
    manifest["spec"]["components"][1]["podTemplate"]["spec"]["containers"][0]["args"] += [
        "--bogus-flag"
    ]
    cluster.dgd_create(manifest=manifest)
    cluster_sandbox.advance(6)
    (worker,) = pods_of(cluster_sandbox, "llama")
    followed = follow(pod=worker, timestamps="true")
    followed.wait_for(lambda line: line.pod == worker and not line.notice)
    for _ in range(12):  # it crashes, restarts after its back-off, and crashes again
        cluster_sandbox.advance(5)
        time.sleep(0.3)
    restarted = followed.wait_for(lambda line: "restarted its container" in line.text)
    assert restarted.notice and restarted.pod == worker
    followed.drain(1.0)
    lines = followed.of(worker)
    assert len(lines) == len(set(lines)), lines  # no line twice
    # Each run whole: as many first lines as last ones, and more than one run.
    starts = sum("Automatically detected platform" in line for line in lines)
    assert starts >= 2
    assert sum("unrecognized arguments: --bogus-flag" in line for line in lines) >= starts - 1
    assert not followed.ended


def test_the_cluster_going_away_is_a_line_then_the_follow_goes_on(deployed, follow):
    worker = pods_of(deployed, "llama")[0]
    followed = follow(pod=worker, tailLines="2")
    assert until(lambda: deployed.api.log_streams == 1)
    before = followed.drain(0.5)[:]
    deployed.api.apply_faults({"outage": 1.5})
    lost = followed.wait_for(lambda line: line.text.startswith("Lost the cluster:"))
    assert lost.notice and "Following again as soon as it answers" in lost.text
    followed.wait_for(lambda line: line.text == "The cluster answers again: following on.")
    assert until(lambda: deployed.api.log_streams == 1)
    deployed.advance(10)  # a new stats line is written after the outage
    followed.wait_for(lambda line: line not in before and "Avg generation" in line.text)
    followed.drain(0.5)
    texts = followed.of(worker)
    assert len(texts) == len(set(texts)) == 3, texts  # the two before, the new one: once each
    assert not followed.ended
    followed.close()
    assert until(lambda: deployed.api.log_streams == 0)
