"""Clocks for the sandbox: real time (optionally sped up) and a manual clock tests drive."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class Clock:
    """Real time since start, multiplied by speed, plus any manual advance."""

    def __init__(self, speed: float = 1.0, start: float | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._start = time.time() if start is None else start
        self._origin = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Seconds since the epoch in the sandbox's time."""
        with self._lock:
            return self._start + (time.monotonic() - self._origin) * self.speed + self._offset

    def advance(self, seconds: float) -> None:
        """Jump forward; the simulation catches up on its next reconcile."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        with self._lock:
            self._offset += seconds


class ManualClock(Clock):
    """A clock that stands still until advanced, for deterministic tests."""

    def __init__(self, start: float | None = None) -> None:
        super().__init__(speed=1.0, start=start)

    def now(self) -> float:
        """Seconds since the epoch in the sandbox's time."""
        with self._lock:
            return self._start + self._offset


def rfc3339(seconds: float) -> str:
    """Kubernetes timestamp (second precision, UTC, trailing Z)."""
    return datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
