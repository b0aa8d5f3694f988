"""`make screenshots` is repeatable: Dynamote runs on a frozen clock and the sandbox is seeded."""

import os
import runpy
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = runpy.run_path(str(ROOT / "scripts" / "screenshots.py"), run_name="screenshots")


def test_dynamote_runs_on_the_frozen_clock(tmp_path):
    code = "from django.utils import timezone; print(timezone.now().isoformat())"
    env = {**os.environ, "DYNAMOTE_VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        SCRIPT["manage_command"]("shell", "--command", code),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == SCRIPT["NOW"].isoformat()


def test_the_sandbox_is_seeded_and_starts_from_the_fixed_moment():
    source = (ROOT / "scripts" / "screenshots.py").read_text()
    assert "seed=SEED" in source
    assert "ManualClock(start=NOW.timestamp()" in source
