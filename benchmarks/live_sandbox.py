"""A seeded sandbox cluster in its own process, for `manage.py bench_live`.

Run: python benchmarks/live_sandbox.py KUBECONFIG [--deployments 500] [--workers 9]
Prints "ready" once it serves; stops when its standard input closes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox import ManualClock, SandboxCluster


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kubeconfig")
    parser.add_argument("--deployments", type=int, default=500)
    parser.add_argument("--workers", type=int, default=9)
    args = parser.parse_args()
    # A clock that moves only when asked (POST /sandbox/clock): the seeded cluster stays
    # steady, so the operator's simulation does not compete with the LISTs being measured.
    sandbox = SandboxCluster(kubeconfig_path=args.kubeconfig, clock=ManualClock())
    sandbox.seed_deployments(args.deployments, workers=args.workers)
    sandbox.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()  # until the benchmark closes it (or ends)
    finally:
        sandbox.close()


if __name__ == "__main__":
    main()
