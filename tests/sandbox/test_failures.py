"""The sandbox's kubelet failures: images it cannot pull, workers that crash on a bad argument."""

from __future__ import annotations

import copy
import json

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from deployments.manifests import build_manifest, default_image_tag, parse_config
from tests.fixtures.sandbox import sandbox_api_client
from tests.manifests.conftest import COMBINATIONS, QWEN3_0_6B, full_settings

from .manifests import GROUP, PLURAL, dgd_v1beta1

SELECTOR = "nvidia.com/dynamo-graph-deployment-name={}"
MISSING = "nvcr.io/nvidia/ai-dynamo/vllm-runtime:9.9.9"
UNRECOGNIZED = "__main__.py: error: unrecognized arguments: --bogus-flag"


@pytest.fixture
def core(sandbox):
    return client.CoreV1Api(sandbox_api_client(sandbox))


@pytest.fixture
def dgds(sandbox):
    return client.CustomObjectsApi(sandbox_api_client(sandbox))


def create(sandbox, body: dict, namespace: str = "default") -> None:
    api = client.CustomObjectsApi(sandbox_api_client(sandbox))
    version = body["apiVersion"].split("/")[1]
    api.create_namespaced_custom_object(GROUP, version, namespace, PLURAL, body)


def with_image(body: dict, image: str) -> dict:
    body = copy.deepcopy(body)
    for component in body["spec"]["components"]:
        component["podTemplate"]["spec"]["containers"][0]["image"] = image
    return body


def with_worker_args(body: dict, args: list[str], command: list[str] | None = None) -> dict:
    body = copy.deepcopy(body)
    worker = body["spec"]["components"][1]["podTemplate"]["spec"]["containers"][0]
    worker["args"] = args
    if command is not None:
        worker["command"] = command
    return body


def pod(core, name: str, component: str, namespace: str = "default") -> client.V1Pod:
    pods = core.list_namespaced_pod(namespace, label_selector=SELECTOR.format(name)).items
    return next(p for p in pods if p.metadata.labels["nvidia.com/dynamo-component"] == component)


def main_status(core, name: str, component: str) -> client.V1ContainerStatus:
    return pod(core, name, component).status.container_statuses[0]


def events_of(core, pod_name: str) -> list[client.CoreV1Event]:
    selector = f"involvedObject.name={pod_name}"
    return core.list_namespaced_event("default", field_selector=selector).items


def ready_condition(dgds, name: str) -> dict:
    dgd = dgds.get_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, name)
    return next(c for c in dgd["status"]["conditions"] if c["type"] == "Ready")


def all_ready(core, name: str, namespace: str = "default") -> bool:
    pods = core.list_namespaced_pod(namespace, label_selector=SELECTOR.format(name)).items
    return bool(pods) and all(p.status.container_statuses[0].ready for p in pods)


# --- images ---------------------------------------------------------------------------------


def test_an_unknown_image_fails_to_pull_then_backs_off(sandbox, core, dgds):
    create(sandbox, with_image(dgd_v1beta1("ghost"), MISSING))
    sandbox.advance(1)  # the operator creates the pods; they are scheduled and start pulling
    assert main_status(core, "ghost", "VllmWorker").state.waiting.reason == "ContainerCreating"

    sandbox.advance(2)  # the registry answers NotFound
    worker = pod(core, "ghost", "VllmWorker")
    status = worker.status.container_statuses[0]
    assert worker.status.phase == "Pending"
    assert status.state.waiting.reason == "ErrImagePull"
    assert status.state.waiting.message == (
        f'rpc error: code = NotFound desc = failed to pull and unpack image "{MISSING}": not found'
    )
    assert (status.ready, status.started, status.restart_count) == (False, False, 0)
    assert status.image == MISSING and not status.image_id

    sandbox.advance(2)  # the next sync: waiting out the back-off
    status = main_status(core, "ghost", "VllmWorker")
    assert status.state.waiting.reason == "ImagePullBackOff"
    assert status.state.waiting.message.startswith(f'Back-off pulling image "{MISSING}"')

    # Retried after 10 s, then 20 s: ErrImagePull again each time, then back to BackOff.
    reasons = []
    for _ in range(40):
        sandbox.advance(1)
        reason = main_status(core, "ghost", "VllmWorker").state.waiting.reason
        if not reasons or reasons[-1] != reason:
            reasons.append(reason)
    # Failures at 3, 13 and 33 s after creation; each shows ErrImagePull until the next sync.
    assert reasons == ["ImagePullBackOff", "ErrImagePull"] * 2 + ["ImagePullBackOff"]

    worker = pod(core, "ghost", "VllmWorker")
    assert worker.status.phase == "Pending"
    assert next(c for c in worker.status.conditions if c.type == "Ready").status == "False"
    events = {(e.type, e.reason, e.message): e for e in events_of(core, worker.metadata.name)}
    failed = (
        f'Failed to pull image "{MISSING}": rpc error: code = NotFound desc = '
        f'failed to pull and unpack image "{MISSING}": not found'
    )
    assert events[("Warning", "Failed", failed)].count >= 3
    assert ("Warning", "Failed", "Error: ErrImagePull") in events
    assert ("Normal", "BackOff", f'Back-off pulling image "{MISSING}"') in events
    assert ("Warning", "Failed", "Error: ImagePullBackOff") in events
    assert events[("Normal", "Pulling", f'Pulling image "{MISSING}"')].count >= 3
    assert events[("Warning", "Failed", failed)].source.component == "kubelet"

    # The frontend uses the same image: nothing of the deployment runs.
    assert main_status(core, "ghost", "Frontend").state.waiting.reason in (
        "ErrImagePull",
        "ImagePullBackOff",
    )
    condition = ready_condition(dgds, "ghost")
    assert condition["status"] == "False"
    assert f'VllmWorker (0/1 ready): image "{MISSING}" cannot be pulled' in condition["message"]

    with pytest.raises(ApiException) as raised:
        core.read_namespaced_pod_log(worker.metadata.name, "default")
    assert raised.value.status == 400
    assert json.loads(raised.value.body)["message"] == (
        f'container "main" in pod "{worker.metadata.name}" is waiting to start: '
        "trying and failing to pull image"
    )


def test_image_pull_back_off_doubles_up_to_five_minutes(sandbox, core):
    create(sandbox, with_image(dgd_v1beta1("ghost"), MISSING))
    sandbox.advance(3)
    name = pod(core, "ghost", "VllmWorker").metadata.name
    failed = f'Failed to pull image "{MISSING}": rpc error'

    def pulls() -> int:
        return next(e.count for e in events_of(core, name) if e.message.startswith(failed))

    # Failures at 0, 10, 30, 70, 150, 310 s, then every 300 s.
    counts = []
    for elapsed in (5, 10, 20, 40, 80, 160, 300, 300):
        sandbox.advance(elapsed)
        counts.append(pulls())
    assert counts == [1, 2, 3, 4, 5, 6, 7, 8]


def test_the_registry_has_the_dynamo_releases_listed_and_local_images(make_sandbox):
    extra = "registry.example.com/team/vllm-runtime:1.5.0-patched"
    sandbox = make_sandbox(cluster={"images": [extra, "registry.example.com/team/any"]})
    core = client.CoreV1Api(sandbox_api_client(sandbox))
    images = {
        "release": "nvcr.io/nvidia/ai-dynamo/vllm-runtime:0.6.1",
        "listed": extra,
        "any-tag": "registry.example.com/team/any:v3",
        "local": "localhost:5000/me/vllm-runtime:dev",
        "loopback": "127.0.0.1:5000/me/vllm-runtime:dev",
        "other-tag": "registry.example.com/team/vllm-runtime:1.5.0",
        "unreleased": "nvcr.io/nvidia/ai-dynamo/sglang-runtime:0.0.1",
        "elsewhere": "docker.io/someone/vllm-runtime:1.5.0",
        # Dynamo 1.5.0 is in development: no runtime image is published for it yet.
        "in-development": "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.5.0",
    }
    for name, image in images.items():
        create(sandbox, with_image(dgd_v1beta1(name), image))
    sandbox.advance(60)
    for name in ("release", "listed", "any-tag", "local", "loopback"):
        assert all_ready(core, name), name
    for name in ("other-tag", "unreleased", "elsewhere", "in-development"):
        reason = main_status(core, name, "VllmWorker").state.waiting.reason
        assert reason in ("ErrImagePull", "ImagePullBackOff"), name


def test_the_cluster_file_lists_images(make_sandbox, tmp_path):
    path = tmp_path / "cluster.yaml"
    path.write_text("images:\n  - registry.example.com/team/vllm-runtime:mine\n")
    sandbox = make_sandbox(cluster=path)
    create(sandbox, with_image(dgd_v1beta1("mine"), "registry.example.com/team/vllm-runtime:mine"))
    sandbox.advance(60)
    assert all_ready(client.CoreV1Api(sandbox_api_client(sandbox)), "mine")

    path.write_text("images: registry.example.com/team/vllm-runtime:mine\n")
    with pytest.raises(ValueError, match="images"):
        make_sandbox(cluster=path)


# --- crash loops ----------------------------------------------------------------------------


def test_an_unknown_engine_argument_crash_loops_with_back_off(sandbox, core, dgds):
    body = with_worker_args(dgd_v1beta1("bogus"), ["--model", "Qwen/Qwen3-0.6B", "--bogus-flag"])
    create(sandbox, body)
    sandbox.advance(1)  # pods created and scheduled; the image is pulled in 4 s
    sandbox.advance(4)  # the container starts...
    status = main_status(core, "bogus", "VllmWorker")
    assert status.state.running is not None and status.restart_count == 0

    sandbox.advance(3)  # ...and exits as soon as its arguments are parsed
    worker = pod(core, "bogus", "VllmWorker")
    status = worker.status.container_statuses[0]
    terminated = status.state.terminated
    assert (terminated.reason, terminated.exit_code) == ("Error", 2)
    assert terminated.finished_at > terminated.started_at
    assert terminated.container_id.startswith("containerd://")
    assert (status.ready, status.started, status.restart_count) == (False, False, 0)
    assert worker.status.phase == "Running"

    sandbox.advance(1)  # the first restart comes at once
    status = main_status(core, "bogus", "VllmWorker")
    assert status.state.running is not None and status.restart_count == 1
    assert status.last_state.terminated.exit_code == 2

    sandbox.advance(4)  # it exits again: now the kubelet backs off 10 s
    status = main_status(core, "bogus", "VllmWorker")
    waiting = status.state.waiting
    assert waiting.reason == "CrashLoopBackOff"
    assert waiting.message.startswith("back-off 10s restarting failed container=main pod=bogus-")
    assert status.last_state.terminated.reason == "Error"
    assert status.last_state.terminated.exit_code == 2
    assert status.restart_count == 1

    # The restart count grows with the clock, ever more slowly (10 s, 20 s, 40 s ...).
    seen = {}
    for _ in range(200):
        sandbox.advance(2)
        status = main_status(core, "bogus", "VllmWorker")
        seen.setdefault(status.restart_count, sandbox.now())
    restarts = sorted(seen)
    assert restarts[:5] == [1, 2, 3, 4, 5]
    gaps = [round(seen[n + 1] - seen[n]) for n in range(2, 5)]
    # Each run lasts 3 s before the exit, then the back-off: 20 s, 40 s, 80 s.
    assert [gap - 3 for gap in gaps] == pytest.approx([20, 40, 80], abs=2)

    sandbox.advance(1800)
    status = main_status(core, "bogus", "VllmWorker")
    before = status.restart_count
    sandbox.advance(610)
    status = main_status(core, "bogus", "VllmWorker")
    assert status.restart_count - before == 2  # capped: one restart per 5 minutes
    if status.state.waiting:
        assert status.state.waiting.message.startswith("back-off 300s ")

    worker = pod(core, "bogus", "VllmWorker")
    events = events_of(core, worker.metadata.name)
    back_off = next(e for e in events if e.reason == "BackOff")
    assert back_off.type == "Warning"
    assert back_off.message == (
        f"Back-off restarting failed container main in pod "
        f"{worker.metadata.name}_default({worker.metadata.uid})"
    )
    assert back_off.count > 3
    started = next(e for e in events if e.reason == "Started")
    assert started.count >= status.restart_count  # repeats within 10 s fold into one

    condition = ready_condition(dgds, "bogus")
    assert condition["status"] == "False"
    assert (
        "VllmWorker (0/1 ready): container main keeps exiting with code 2" in condition["message"]
    )
    # The frontend is not affected.
    assert main_status(core, "bogus", "Frontend").ready


def test_the_crash_loop_log_ends_with_the_usage_error(sandbox, core):
    body = with_worker_args(
        dgd_v1beta1("bogus"), ["--model", "Qwen/Qwen3-0.6B", "--bogus-flag", "--seed", "7"]
    )
    create(sandbox, body)
    sandbox.advance(16)  # two runs have exited; the second restart is backing off
    worker = pod(core, "bogus", "VllmWorker")
    assert worker.status.container_statuses[0].state.waiting.reason == "CrashLoopBackOff"
    name = worker.metadata.name

    lines = core.read_namespaced_pod_log(name, "default").splitlines()
    assert "Automatically detected platform cuda." in lines[0]
    assert lines[-2].startswith("usage: __main__.py [-h] [--model MODEL]")
    assert lines[-1] == UNRECOGNIZED
    assert core.read_namespaced_pod_log(name, "default", tail_lines=1) == UNRECOGNIZED + "\n"
    two = core.read_namespaced_pod_log(name, "default", tail_lines=2).splitlines()
    assert two == lines[-2:]
    # Waiting to restart, the last run is both the current log and the previous one.
    assert core.read_namespaced_pod_log(name, "default", previous=True).splitlines() == lines

    sandbox.advance(7)  # restarted after 10 s: a fresh log; the crashed run is the previous one
    assert main_status(core, "bogus", "VllmWorker").state.running is not None
    current = core.read_namespaced_pod_log(name, "default").splitlines()
    assert UNRECOGNIZED not in current
    previous = core.read_namespaced_pod_log(name, "default", previous=True)
    assert previous.splitlines()[-1] == UNRECOGNIZED

    frontend = pod(core, "bogus", "Frontend").metadata.name
    with pytest.raises(ApiException) as raised:
        core.read_namespaced_pod_log(frontend, "default", previous=True)
    assert raised.value.status == 400
    assert json.loads(raised.value.body)["message"] == (
        f'previous terminated container "main" in pod "{frontend}" not found'
    )


@pytest.mark.parametrize(
    ("args", "unrecognized"),
    [
        (["--bogus-flag=1"], "--bogus-flag=1"),
        (["--bogus-flag", "3", "--dtype", "auto"], "--bogus-flag 3"),
        (["--no-such", "--also-not", "x"], "--no-such --also-not x"),
    ],
)
def test_argparse_lists_every_unrecognized_argument(sandbox, core, args, unrecognized):
    create(sandbox, with_worker_args(dgd_v1beta1("bogus"), ["--model", "Qwen/Qwen3-0.6B", *args]))
    sandbox.advance(16)
    name = pod(core, "bogus", "VllmWorker").metadata.name
    last = core.read_namespaced_pod_log(name, "default", tail_lines=1).strip()
    assert last == f"__main__.py: error: unrecognized arguments: {unrecognized}"


@pytest.mark.parametrize(
    ("module", "args"),
    [
        ("dynamo.sglang", ["--model-path", "Qwen/Qwen3-0.6B", "--tp", "1", "--bogus-flag"]),
        ("dynamo.trtllm", ["--model-path", "Qwen/Qwen3-0.6B", "--bogus-flag"]),
    ],
)
def test_every_engine_rejects_an_unknown_argument(sandbox, core, module, args):
    body = with_worker_args(dgd_v1beta1("bogus"), args, ["python3", "-m", module])
    create(sandbox, body)
    sandbox.advance(16)
    status = main_status(core, "bogus", "VllmWorker")
    assert status.state.waiting.reason == "CrashLoopBackOff"
    name = pod(core, "bogus", "VllmWorker").metadata.name
    assert core.read_namespaced_pod_log(name, "default").splitlines()[-1] == UNRECOGNIZED


def test_a_shell_command_line_is_checked_too(sandbox, core):
    body = with_worker_args(
        dgd_v1beta1("bogus"),
        ["python3 -m dynamo.vllm --model Qwen/Qwen3-0.6B --bogus-flag"],
        ["/bin/sh", "-c"],
    )
    create(sandbox, body)
    sandbox.advance(16)
    assert main_status(core, "bogus", "VllmWorker").state.waiting.reason == "CrashLoopBackOff"


# --- what still works -----------------------------------------------------------------------

KNOWN = {
    "dynamo.vllm": [
        "--model",
        "Qwen/Qwen3-0.6B",
        "--gpu-memory-utilization",
        "0.85",
        "--max-num-seqs=64",
        "--max_num_batched_tokens",
        "8192",
        "--dtype",
        "bfloat16",
        "--kv-cache-dtype",
        "fp8",
        "--enable-chunked-prefill",
        "--seed",
        "-1",
        "--reasoning-parser",
        "qwen3",
        "--enable-auto-tool-choice",
        "--tool-call-parser",
        "hermes",
        "--no-enable-prefix-caching",
        "--kv-transfer-config",
        '{"kv_connector":"NixlConnector","kv_role":"kv_both"}',
    ],
    "dynamo.sglang": [
        "--model-path",
        "Qwen/Qwen3-0.6B",
        "--served-model-name",
        "Qwen/Qwen3-0.6B",
        "--tp",
        "1",
        "--mem-fraction-static",
        "0.8",
        "--chunked-prefill-size=4096",
        "--page-size",
        "16",
        "--disaggregation-transfer-backend",
        "nixl",
        "--disaggregation-bootstrap-port",
        "12345",
        "--host",
        "0.0.0.0",
        "--enable-dp-attention",
    ],
    "dynamo.trtllm": [
        "--model-path",
        "Qwen/Qwen3-0.6B",
        "--served-model-name",
        "Qwen/Qwen3-0.6B",
        "--extra-engine-args",
        "/config/engine.yaml",
        "--max-batch-size",
        "64",
        "--free-gpu-memory-fraction=0.9",
        "--publish-events-and-metrics",
        "--disaggregation-mode",
        "prefill",
    ],
}


@pytest.mark.parametrize("module", sorted(KNOWN))
def test_known_engine_flags_reach_ready(sandbox, core, dgds, module):
    create(sandbox, with_worker_args(dgd_v1beta1("good"), KNOWN[module], ["python3", "-m", module]))
    sandbox.advance(60)
    assert all_ready(core, "good")
    assert main_status(core, "good", "VllmWorker").restart_count == 0
    assert ready_condition(dgds, "good")["status"] == "True"


@pytest.mark.parametrize(("engine", "mode", "api_version"), COMBINATIONS)
def test_every_manifest_dynamote_builds_runs(make_sandbox, engine, mode, api_version):
    """All of Dynamote's flags, for every engine, mode and API version, on the default image."""
    sandbox = make_sandbox()
    data = full_settings(engine, mode, api_version)
    del data["image"]
    data["namespace"] = "default"
    config = parse_config(data, model=QWEN3_0_6B)
    tag = default_image_tag(api_version)
    create(sandbox, build_manifest(config, QWEN3_0_6B, image_tag=tag))
    sandbox.advance(90)
    core = client.CoreV1Api(sandbox_api_client(sandbox))
    assert all_ready(core, data["name"]), [
        (p.metadata.name, p.status.container_statuses[0].state)
        for p in core.list_namespaced_pod("default").items
    ]


@pytest.mark.parametrize(
    ("image", "module", "args", "unrecognized"),
    [
        # vLLM's --is-prefill-worker was Dynamo 0.6's; 1.x workers reject it.
        (
            "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.0",
            "dynamo.vllm",
            ["--model", "Qwen/Qwen3-0.6B", "--is-prefill-worker"],
            "--is-prefill-worker",
        ),
        # TensorRT-LLM 0.6 knows --model-path, not 1.x's --model.
        (
            "nvcr.io/nvidia/ai-dynamo/tensorrtllm-runtime:0.6.1",
            "dynamo.trtllm",
            ["--model", "Qwen/Qwen3-0.6B"],
            "--model Qwen/Qwen3-0.6B",
        ),
        (
            "nvcr.io/nvidia/ai-dynamo/tensorrtllm-runtime:0.6.1",
            "dynamo.trtllm",
            ["--model-path", "Qwen/Qwen3-0.6B", "--publish-kv-events"],
            "--publish-kv-events",
        ),
    ],
)
def test_a_flag_the_release_does_not_know_crash_loops(
    sandbox, core, image, module, args, unrecognized
):
    body = with_image(
        with_worker_args(dgd_v1beta1("release"), args, ["python3", "-m", module]), image
    )
    create(sandbox, body)
    sandbox.advance(16)
    name = pod(core, "release", "VllmWorker").metadata.name
    last = core.read_namespaced_pod_log(name, "default", tail_lines=1).strip()
    assert last == f"__main__.py: error: unrecognized arguments: {unrecognized}"


def test_the_same_flags_run_on_the_release_that_knows_them(sandbox, core):
    args = ["--model-path", "Qwen/Qwen3-0.6B", "--publish-events-and-metrics"]
    body = with_worker_args(dgd_v1beta1("old"), args, ["python3", "-m", "dynamo.trtllm"])
    create(sandbox, with_image(body, "nvcr.io/nvidia/ai-dynamo/tensorrtllm-runtime:0.6.1"))
    sandbox.advance(120)
    assert all_ready(core, "old")
