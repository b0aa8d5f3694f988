"""The sandbox's pods/log: what the official client and kubectl read from a container."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.fixtures.sandbox import sandbox_api_client
from tests.sandbox.manifests import GROUP, PLURAL, dgd_v1beta1


def until(check, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


@pytest.fixture
def core(sandbox):
    return client.CoreV1Api(sandbox_api_client(sandbox))


def deploy(sandbox, name: str = "qwen", sidecar: bool = False) -> None:
    body = dgd_v1beta1(name)
    if sidecar:
        containers = body["spec"]["components"][1]["podTemplate"]["spec"]["containers"]
        containers.append({"name": "log-shipper", "image": "fluent/fluent-bit:3.1"})
    api = client.CustomObjectsApi(sandbox_api_client(sandbox))
    api.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, body)


def pod_named(core, dgd: str, component: str) -> str:
    pods = core.list_namespaced_pod(
        "default", label_selector=f"nvidia.com/dynamo-graph-deployment-name={dgd}"
    ).items
    return next(p.metadata.name for p in pods if component.lower() in p.metadata.name)


def refused(call) -> tuple[int, str]:
    with pytest.raises(ApiException) as raised:
        call()
    return raised.value.status, json.loads(raised.value.body)["message"]


def test_a_worker_logs_its_start_up_then_serves(sandbox, core):
    deploy(sandbox)
    sandbox.advance(60)
    worker = pod_named(core, "qwen", "VllmWorker")
    log = core.read_namespaced_pod_log(worker, "default").splitlines()
    text = "\n".join(log)
    assert "Starting to load model Qwen/Qwen3-0.6B" in text
    assert "Available KV cache memory" in text
    assert any("Avg generation throughput" in line for line in log)
    frontend = pod_named(core, "qwen", "Frontend")
    front = core.read_namespaced_pod_log(frontend, "default")
    assert "HTTP service listening on 0.0.0.0:8000" in front
    assert "added model Qwen/Qwen3-0.6B" in front


def test_tail_since_and_timestamps(sandbox, core):
    deploy(sandbox)
    sandbox.advance(120)
    worker = pod_named(core, "qwen", "VllmWorker")
    everything = core.read_namespaced_pod_log(worker, "default").splitlines()
    assert (
        core.read_namespaced_pod_log(worker, "default", tail_lines=3).splitlines()
        == (everything[-3:])
    )
    assert core.read_namespaced_pod_log(worker, "default", tail_lines=0) == ""
    # Stats lines every 10 s: the last 25 s hold two or three of them and no start-up line.
    recent = core.read_namespaced_pod_log(worker, "default", since_seconds=25).splitlines()
    assert 2 <= len(recent) <= 3
    assert all("Avg generation throughput" in line for line in recent)
    stamped = core.read_namespaced_pod_log(worker, "default", timestamps=True, tail_lines=1)
    stamp, rest = stamped.rstrip("\n").split(" ", 1)
    assert stamp.endswith("Z") and len(stamp) == len("2026-11-27T23:50:01.000000000Z")
    assert rest == everything[-1]


def test_bad_options_are_refused_as_the_api_server_does(sandbox, core):
    deploy(sandbox)
    sandbox.advance(60)
    worker = pod_named(core, "qwen", "VllmWorker")
    assert refused(lambda: core.read_namespaced_pod_log(worker, "default", tail_lines=-1)) == (
        422,
        f'PodLogOptions "{worker}" is invalid: tailLines: Invalid value: -1: '
        "must be greater than or equal to 0",
    )
    status, message = refused(
        lambda: core.read_namespaced_pod_log(worker, "default", since_seconds=0)
    )
    assert status == 422 and "sinceSeconds: Invalid value: 0: must be greater than 0" in message
    assert refused(lambda: core.read_namespaced_pod_log(worker, "default", container="nope")) == (
        400,
        f"container nope is not valid for pod {worker}",
    )
    assert refused(lambda: core.read_namespaced_pod_log("no-such-pod", "default")) == (
        404,
        'pods "no-such-pod" not found',
    )


def test_a_pod_with_two_containers_needs_the_container_named(sandbox, core):
    deploy(sandbox, sidecar=True)
    sandbox.advance(60)
    worker = pod_named(core, "qwen", "VllmWorker")
    assert refused(lambda: core.read_namespaced_pod_log(worker, "default")) == (
        400,
        f"a container name must be specified for pod {worker}, choose one of: [main log-shipper]",
    )
    shipper = core.read_namespaced_pod_log(worker, "default", container="log-shipper")
    assert "log-shipper: started (image fluent/fluent-bit:3.1)" in shipper
    main = core.read_namespaced_pod_log(worker, "default", container="main")
    assert "Starting to load model" in main
    statuses = core.read_namespaced_pod(worker, "default").status.container_statuses
    assert [s.name for s in statuses] == ["main", "log-shipper"]


def test_previous_reads_the_crashed_run_or_says_there_is_none(sandbox, core):
    deploy(sandbox)
    sandbox.advance(60)
    worker = pod_named(core, "qwen", "VllmWorker")
    assert refused(lambda: core.read_namespaced_pod_log(worker, "default", previous=True)) == (
        400,
        f'previous terminated container "main" in pod "{worker}" not found',
    )


def test_follow_streams_lines_as_they_are_written_and_ends_with_the_pod(sandbox, core):
    deploy(sandbox)
    sandbox.advance(6)  # the worker's container has just started
    worker = pod_named(core, "qwen", "VllmWorker")
    response = core.read_namespaced_pod_log(worker, "default", follow=True, _preload_content=False)
    received: list[str] = []
    done = threading.Event()

    def read() -> None:
        for line in response.stream(amt=None, decode_content=True):
            received.extend(line.decode().splitlines())
        done.set()

    threading.Thread(target=read, daemon=True).start()
    assert until(lambda: sandbox.api.log_streams == 1)
    assert not any("worker ready" in line for line in received)
    sandbox.advance(30)
    assert until(lambda: any(line.endswith("worker ready") for line in received))
    assert not done.is_set()
    client.CustomObjectsApi(sandbox_api_client(sandbox)).delete_namespaced_custom_object(
        GROUP, "v1beta1", "default", PLURAL, "qwen"
    )
    sandbox.advance(1)
    assert done.wait(10), "the stream did not end with the pod"
    assert "Received SIGTERM" in received[-1]
    assert until(lambda: sandbox.api.log_streams == 0)


def test_a_client_that_hangs_up_closes_the_stream(sandbox, core):
    deploy(sandbox)
    sandbox.advance(60)
    worker = pod_named(core, "qwen", "VllmWorker")
    response = core.read_namespaced_pod_log(worker, "default", follow=True, _preload_content=False)
    assert until(lambda: sandbox.api.log_streams == 1)
    response.read(10)
    response.close()
    response.release_conn()
    assert until(lambda: sandbox.api.log_streams == 0)


def test_kubectl_logs_follows(sandbox, core):
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl is not installed: this test drives the real kubectl")
    deploy(sandbox)
    sandbox.advance(6)
    worker = pod_named(core, "qwen", "VllmWorker")
    args = ["-f", worker, "--timestamps"]
    process = subprocess.Popen(
        ["kubectl", "--kubeconfig", str(sandbox.kubeconfig_path), "-n", "default", "logs", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert until(lambda: sandbox.api.log_streams == 1), process.stderr
        sandbox.advance(30)
        client.CustomObjectsApi(sandbox_api_client(sandbox)).delete_namespaced_custom_object(
            GROUP, "v1beta1", "default", PLURAL, "qwen"
        )
        sandbox.advance(1)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    lines = out.splitlines()
    assert any(line.endswith("worker ready") for line in lines)
    assert all(line.split(" ", 1)[0].endswith("Z") for line in lines)
    assert until(lambda: sandbox.api.log_streams == 0)


def test_a_followed_log_is_one_run_of_the_container(sandbox, core):
    body = dgd_v1beta1("qwen")
    body["spec"]["components"][1]["podTemplate"]["spec"]["containers"][0]["args"].append(
        "--bogus-flag"
    )
    api = client.CustomObjectsApi(sandbox_api_client(sandbox))
    api.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, body)
    sandbox.advance(6)  # started: it exits 3 s later, and restarts at once
    worker = pod_named(core, "qwen", "VllmWorker")
    response = core.read_namespaced_pod_log(worker, "default", follow=True, _preload_content=False)
    assert until(lambda: sandbox.api.log_streams == 1)
    sandbox.advance(30)  # crashed and restarted before the stream looked at the clock again
    lines = response.data.decode().splitlines()  # it ends: that run is over
    # The run it followed, to its last line, and nothing of the next one.
    assert lines[-1] == "__main__.py: error: unrecognized arguments: --bogus-flag"
    assert sum("Automatically detected platform" in line for line in lines) == 1
    assert until(lambda: sandbox.api.log_streams == 0)
