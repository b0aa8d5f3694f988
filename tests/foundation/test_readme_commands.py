"""The README's runnable shell blocks work as written, top to bottom, against a live Dynamote
connected to a sandbox cluster (as `make run` serves it)."""

import importlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- runnable:"
SEED = importlib.import_module("catalog.migrations.0002_seed_curated_models")
# `curl -s` exits 0 on an HTTP error; here every answer must be a success.
PRELUDE = 'set -euo pipefail\ncurl() { command curl --fail-with-body --show-error "$@"; }\n'


def runnable_commands() -> list[str]:
    """The commands of the README's blocks marked runnable, in order, continuations joined."""
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"^" + re.escape(MARKER) + r"[^\n]*\n```sh\n(.*?)^```", readme, re.M | re.S)
    commands = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                commands.append(line)
    return commands


def test_the_readme_marks_its_api_walkthrough_runnable():
    commands = runnable_commands()
    assert any("/login/" in c for c in commands)
    assert any("-X POST" in c and "/api/deployments" in c for c in commands)
    assert any("-X DELETE" in c for c in commands)
    assert not any("uuidgen" in c for c in commands)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_every_runnable_command_succeeds_in_order(
    transactional_db, live_server, cluster_sandbox, tmp_path
):
    SEED.seed(apps, None)
    get_user_model().objects.create_superuser("demo", password="readme-demo-password-1")
    work = tmp_path / "checkout"
    (work / "var").mkdir(parents=True)
    (work / "var" / "demo_password").write_text("readme-demo-password-1")
    address = live_server.url.removeprefix("http://")
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path)}

    for command in runnable_commands():
        command = command.replace("127.0.0.1:8000", address)
        result = subprocess.run(
            ["bash", "-c", PRELUDE + command],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"

    # Whatever the commands wrote stays in var/, which git ignores.
    assert [p.name for p in work.iterdir()] == ["var"]
    # The create and the delete reached the cluster.
    assert cluster_sandbox.request_count("create", "dynamographdeployments", "default") >= 1
    deletes = [e for e in cluster_sandbox.request_log if e["verb"] == "delete"]
    assert [e["name"] for e in deletes] == ["qwen3-8b-vllm"]
