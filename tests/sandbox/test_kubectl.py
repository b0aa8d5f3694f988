"""What a user types with the real kubectl against the sandbox keeps working."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from .manifests import dgd_v1beta1


@pytest.fixture(autouse=True)
def _kubectl_installed():
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl is not installed: these tests drive the real kubectl")


def kubectl(sandbox, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["kubectl", "--kubeconfig", str(sandbox.kubeconfig_path), "-n", "default", *args],
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
