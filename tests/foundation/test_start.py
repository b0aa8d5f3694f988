"""`manage.py start` (what `make run` runs): a second instance never breaks the first."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dynamote.management.commands.start import parse_addrport

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(tmp_path: Path) -> dict:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    keep = {key: os.environ[key] for key in ("PATH", "LANG") if key in os.environ}
    # No kubeconfig anywhere: each instance starts its sandbox cluster.
    return {**keep, "HOME": str(home), "DYNAMOTE_VAR_DIR": str(tmp_path / "var")}


def start(tmp_path: Path, addrport: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "start", addrport],
        cwd=ROOT,
        env=environment(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_healthy(server: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail(f"Dynamote did not start:\n{server.stdout.read()}")
            time.sleep(0.3)


def cluster_answers(kubeconfig: Path) -> bool:
    """Whether the cluster the kubeconfig names answers another client (kubectl)."""
    result = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), "get", "dynamographdeployments", "-A"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return result.returncode == 0


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def test_a_second_instance_on_the_same_port_refuses_and_leaves_the_first_alone(tmp_path):
    port = free_port()
    first = start(tmp_path, f"127.0.0.1:{port}")
    try:
        wait_healthy(first, port)
        kubeconfig = tmp_path / "var" / "sandbox" / f"kubeconfig-{port}"
        before = kubeconfig.read_bytes()
        assert cluster_answers(kubeconfig)

        second = subprocess.run(
            [sys.executable, "manage.py", "start", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=environment(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode != 0
        assert f"Another Dynamote is already running at http://127.0.0.1:{port}/" in second.stderr
        assert f"make run PORT={port + 1}" in second.stderr
        # The first instance still serves, on the cluster its kubeconfig names.
        assert kubeconfig.read_bytes() == before
        assert cluster_answers(kubeconfig)

        # Another port works, with a cluster and kubeconfig of its own.
        other_port = free_port()
        other = start(tmp_path, str(other_port))
        try:
            wait_healthy(other, other_port)
            mine = tmp_path / "var" / "sandbox" / f"kubeconfig-{other_port}"
            assert mine.read_bytes() != before and cluster_answers(mine)
            assert kubeconfig.read_bytes() == before and cluster_answers(kubeconfig)
        finally:
            stop(other)
    finally:
        stop(first)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8001", ("127.0.0.1", 8001)),
        ("0.0.0.0:8001", ("0.0.0.0", 8001)),
        ("[::1]:8002", ("::1", 8002)),
        ("localhost:9000", ("localhost", 9000)),
    ],
)
def test_ports_and_addresses(text, expected):
    assert parse_addrport(text) == expected
