"""What a user types with the real kubectl against the sandbox keeps working."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time

import pytest
import yaml

from sandbox import Clock

from .manifests import dgd_v1beta1


@pytest.fixture(autouse=True)
def _kubectl_installed():
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl is not installed: these tests drive the real kubectl")


def command(sandbox, *args: str) -> list[str]:
    return ["kubectl", "--kubeconfig", str(sandbox.kubeconfig_path), "-n", "default", *args]


def kubectl(sandbox, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        command(sandbox, *args),
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
    )


def applied(sandbox, name: str = "qwen") -> None:
    answer = kubectl(sandbox, "apply", "-f", "-", stdin=yaml.safe_dump(dgd_v1beta1(name)))
    assert answer.returncode == 0, answer.stderr
    assert f"dynamographdeployment.nvidia.com/{name} created" in answer.stdout


def test_apply_get_and_describe(sandbox):
    applied(sandbox)
    sandbox.advance(120)
    listed = kubectl(sandbox, "get", "dgd")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split("\n")[0].split()[:3] == ["NAME", "READY", "BACKEND"]
    assert listed.stdout.split("\n")[1].split()[:3] == ["qwen", "True", "vllm"]
    described = kubectl(sandbox, "describe", "dgd", "qwen")
    assert described.returncode == 0, described.stderr
    assert "Name:" in described.stdout and "qwen" in described.stdout
    # A second apply with a change is a patch of the live object.
    changed = dgd_v1beta1("qwen")
    changed["spec"]["components"][1]["replicas"] = 2
    again = kubectl(sandbox, "apply", "-f", "-", stdin=yaml.safe_dump(changed))
    assert again.returncode == 0, again.stderr
    assert "configured" in again.stdout


def test_apply_with_an_unknown_field_is_refused_with_its_path(sandbox):
    body = dgd_v1beta1("typo")
    body["spec"]["replica"] = 2
    answer = kubectl(sandbox, "apply", "-f", "-", stdin=yaml.safe_dump(body))
    assert answer.returncode != 0
    assert 'unknown field "spec.replica"' in answer.stderr


def test_server_side_apply_is_refused_clearly(sandbox):
    answer = kubectl(
        sandbox, "apply", "--server-side", "-f", "-", stdin=yaml.safe_dump(dgd_v1beta1("ssa"))
    )
    assert answer.returncode != 0
    assert "server-side apply is not supported" in answer.stderr


def test_delete_with_a_server_dry_run_deletes_nothing(sandbox):
    applied(sandbox)
    sandbox.advance(60)
    answer = kubectl(sandbox, "delete", "dgd", "qwen", "--dry-run=server")
    assert answer.returncode == 0, answer.stderr
    assert "(server dry run)" in answer.stdout
    assert kubectl(sandbox, "get", "dgd", "qwen").returncode == 0
    gone = kubectl(sandbox, "delete", "dgd", "qwen", "--wait=false")
    assert gone.returncode == 0, gone.stderr


def test_logs_and_events_of_a_pod(sandbox):
    applied(sandbox)
    sandbox.advance(120)
    pods = kubectl(
        sandbox,
        "get",
        "pods",
        "-l",
        "nvidia.com/dynamo-graph-deployment-name=qwen",
        "-o",
        "jsonpath={.items[*].metadata.name}",
    )
    assert pods.returncode == 0, pods.stderr
    worker = next(name for name in pods.stdout.split() if "vllmworker" in name)
    logs = kubectl(sandbox, "logs", worker, "--tail=5")
    assert logs.returncode == 0, logs.stderr
    assert logs.stdout.strip()
    events = kubectl(sandbox, "get", "events", "--field-selector", f"involvedObject.name={worker}")
    assert events.returncode == 0, events.stderr
    header, *lines = events.stdout.strip().split("\n")
    assert header.split()[:4] == ["LAST", "SEEN", "TYPE", "REASON"]
    assert any("Started" in line and f"pod/{worker}" in line for line in lines)


class Running:
    """A kubectl left running in the background, its output lines collected as they come."""

    def __init__(self, sandbox, *args: str) -> None:
        self.process = subprocess.Popen(
            command(sandbox, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def rows(self, name: str) -> list[list[str]]:
        return [line.split() for line in self.lines if line.split()[:1] == [name]]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def until(predicate, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_get_dgd_watch_prints_the_dgd_becoming_ready(sandbox):
    watching = Running(sandbox, "get", "dgd", "-w")
    try:
        assert until(lambda: sandbox.api.watching == 1), watching.process.stderr
        applied(sandbox)
        sandbox.advance(120)
        assert until(lambda: any(row[1] == "True" for row in watching.rows("qwen")))
        assert watching.lines[0].split()[:3] == ["NAME", "READY", "BACKEND"]
        assert watching.rows("qwen")[0][1] != "True"  # first seen before it was Ready
    finally:
        watching.stop()


def test_get_pods_watch_prints_pods_starting(sandbox):
    watching = Running(sandbox, "get", "pods", "-w")
    try:
        assert until(lambda: sandbox.api.watching == 1)
        applied(sandbox)
        sandbox.advance(120)

        def column(index: int) -> set[str]:
            rows = [line.split() for line in watching.lines]
            return {row[index] for row in rows if row[0] != "NAME"}

        assert until(lambda: {"Pending", "Running"} <= column(2))
        assert until(lambda: "1/1" in column(1))
    finally:
        watching.stop()


def test_wait_for_ready_returns_when_the_operator_marks_the_dgd_ready(make_sandbox):
    # A real clock, sped up: the operator acts while kubectl waits, with no other request.
    sandbox = make_sandbox(clock=Clock(), speed=60)
    applied(sandbox)
    started = time.monotonic()
    answer = kubectl(sandbox, "wait", "--for=condition=Ready", "dgd/qwen", "--timeout=30s")
    assert answer.returncode == 0, answer.stderr
    assert "dynamographdeployment.nvidia.com/qwen condition met" in answer.stdout
    assert time.monotonic() - started < 30
    dgd = sandbox.get("dgd", "default", "qwen")
    ready = next(c for c in dgd["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True"


def test_wait_for_ready_times_out_while_the_dgd_is_not_ready(sandbox):
    applied(sandbox)
    answer = kubectl(sandbox, "wait", "--for=condition=Ready", "dgd/qwen", "--timeout=2s")
    assert answer.returncode != 0
    assert "timed out waiting for the condition" in answer.stderr


def test_delete_waits_until_the_dgd_is_really_gone(sandbox):
    applied(sandbox)
    sandbox.advance(120)
    deleting = Running(sandbox, "delete", "dgd", "qwen", "--timeout=60s")
    try:
        assert until(lambda: sandbox.api.watching == 1), deleting.process.stderr
        # The operator's finalizer keeps it while its pods terminate: kubectl still waits.
        assert sandbox.get("dgd", "default", "qwen")["metadata"]["deletionTimestamp"]
        time.sleep(0.5)
        assert deleting.process.poll() is None
        for _ in range(60):
            sandbox.advance(5)
            if until(lambda: deleting.process.poll() is not None, seconds=0.2):
                break
        assert deleting.process.wait(10) == 0, deleting.process.stderr.read()
        assert 'dynamographdeployment.nvidia.com "qwen" deleted' in deleting.lines
        assert sandbox.get("dgd", "default", "qwen") is None
    finally:
        if deleting.process.poll() is None:
            deleting.stop()
