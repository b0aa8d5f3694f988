"""How fast /api/health answers while Dynamote is busy (target: every probe within 100 ms).

Starts Dynamote as its image does (gunicorn with dynamote/gunicorn.py, DEBUG off, a fresh
SQLite database) against a sandbox cluster, then probes /api/health every 0.2 s while:
  1. 12 clients loop on bad logins (each one a password hash), and
  2. 12 signed-in users load the deploy form from a cluster that answers after 12 s.
Run: uv run python benchmarks/health_under_load.py [--clients 12] [--seconds 10]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.served import Dynamote, gunicorn  # noqa: E402
from sandbox import SandboxCluster  # noqa: E402

TARGET_MS = 100.0
PROBE_EVERY = 0.2
DEPLOY_FORM = "/deployments/new/?model=qwen3-8b"


@dataclass
class Probes:
    """Health latencies in milliseconds; a probe that failed or timed out counts as None."""

    latencies: list[float | None] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(1 for ms in self.latencies if ms is None)

    @property
    def answered(self) -> list[float]:
        return sorted(ms for ms in self.latencies if ms is not None)

    @property
    def worst(self) -> float:
        return float("inf") if self.failed else max(self.answered, default=0.0)

    def summary(self) -> str:
        answered = self.answered
        if not answered:
            return f"{len(self.latencies)} probes, all failed"
        p95 = answered[min(len(answered) - 1, int(len(answered) * 0.95))]
        return (
            f"{len(self.latencies)} probes, {self.failed} failed; median "
            f"{statistics.median(answered):.1f} ms, p95 {p95:.1f} ms, max {max(answered):.1f} ms"
        )


@contextmanager
def served(latency: float = 0.0) -> Iterator[tuple[Dynamote, SandboxCluster]]:
    """Dynamote under gunicorn with the project's config, on a sandbox cluster."""
    with tempfile.TemporaryDirectory(prefix="dynamote-health-") as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        sandbox = SandboxCluster(port=0, kubeconfig_path=kubeconfig).start()
        try:
            with gunicorn(kubeconfig) as app:
                sandbox.set_latency(latency)
                try:
                    yield app, sandbox
                finally:
                    sandbox.set_latency(0)
        finally:
            sandbox.close()


def under_load(
    app: Dynamote, work: Callable[[], None], *, clients: int, seconds: float
) -> tuple[Probes, int]:
    """Health probes while `clients` threads loop on `work`; also how many loads finished."""
    stop = threading.Event()
    done = [0]

    def loop() -> None:
        while not stop.is_set():
            try:
                work()
                done[0] += 1
            except OSError:
                pass

    workers = [threading.Thread(target=loop, daemon=True) for _ in range(clients)]
    for worker in workers:
        worker.start()
    time.sleep(0.5)  # let the load build up
    probes = Probes()
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        probes.latencies.append(app.health_ms())
        time.sleep(PROBE_EVERY)
    stop.set()
    return probes, done[0]


def bad_logins(app: Dynamote, *, clients: int, seconds: float) -> tuple[Probes, int]:
    """Wrong passwords for ever new usernames: lockouts per username never stop these."""
    return under_load(
        app,
        lambda: app.login(username=f"guess-{secrets.token_hex(4)}", password="wrong-password"),
        clients=clients,
        seconds=seconds,
    )


def slow_deploy_forms(app: Dynamote, *, clients: int, seconds: float) -> tuple[Probes, int]:
    session = app.login()
    if "sessionid" not in session:
        raise RuntimeError("could not log in")
    return under_load(
        app,
        lambda: app.request("GET", DEPLOY_FORM, cookies=session, timeout=60),
        clients=clients,
        seconds=seconds,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--latency", type=float, default=12.0, help="the slow cluster's")
    args = parser.parse_args()
    with served() as (app, sandbox):
        idle, _ = under_load(app, lambda: time.sleep(0.1), clients=1, seconds=2)
        print(f"Idle:                                   {idle.summary()}")
        probes, done = bad_logins(app, clients=args.clients, seconds=args.seconds)
        print(
            f"{args.clients} clients looping on bad logins:      {probes.summary()} "
            f"({done} logins refused)"
        )
        sandbox.set_latency(args.latency)
        probes, done = slow_deploy_forms(app, clients=args.clients, seconds=args.seconds)
        print(
            f"{args.clients} users on the deploy form, {args.latency:g} s cluster: "
            f"{probes.summary()} ({done} forms served)"
        )
    print(f"Target: every probe within {TARGET_MS:.0f} ms.")


if __name__ == "__main__":
    main()
