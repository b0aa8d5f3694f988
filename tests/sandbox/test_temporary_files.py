"""The sandbox and the dashboard benchmark leave no temporary files behind."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

START_AND_CLOSE = """
import urllib.request
from sandbox import SandboxCluster

sandbox = SandboxCluster().start()
assert sandbox.tls and sandbox.kubeconfig_path.is_file()
request = urllib.request.Request(
    f"{sandbox.url}/api/v1/namespaces", headers={"Authorization": f"Bearer {sandbox.token}"}
)
urllib.request.urlopen(request, context=sandbox.ssl_context()).close()
print(sandbox.kubeconfig_path)
sandbox.close()
assert not sandbox.kubeconfig_path.parent.exists()
"""


def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    """Runs a Python process whose temporary folder is tmp_path/tmp."""
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    env = {**os.environ, "TMPDIR": str(tmp), "DYNAMOTE_VAR_DIR": str(tmp_path / "var")}
    # Its own SQLite file in var/, also when the suite runs against PostgreSQL.
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_a_started_and_closed_sandbox_leaves_no_temporary_folder(tmp_path):
    result = _run(["-c", START_AND_CLOSE], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(str(tmp_path / "tmp"))
    assert list((tmp_path / "tmp").iterdir()) == []


def test_the_dashboard_benchmark_leaves_no_temporary_folder(tmp_path):
    assert _run(["manage.py", "migrate", "--verbosity", "0"], tmp_path).returncode == 0
    args = ["manage.py", "bench_dashboard", "--deployments", "2", "--workers", "1", "--runs", "5"]
    result = _run(args, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Table partial: 2 rows" in result.stdout
    assert list((tmp_path / "tmp").iterdir()) == []
