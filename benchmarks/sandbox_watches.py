"""What open watches cost the sandbox: 100 watchers, then 100 changes to a DGD.

The sandbox runs in its own process (its thread count read from /proc); the watchers are
the official client's watch.Watch, one thread each, in this process. Printed: the time
until every watcher saw every change, each delivery's delay, and the sandbox's threads.
Run: uv run python benchmarks/sandbox_watches.py [--watchers 100] [--changes 100]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from kubernetes import client, config, watch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox import ManualClock, SandboxCluster
from tests.sandbox.manifests import GROUP, PLURAL, dgd_v1beta1


def serve(kubeconfig: str, ready, stop) -> None:
    """The sandbox, in a process of its own."""
    sandbox = SandboxCluster(clock=ManualClock(), kubeconfig_path=kubeconfig).start()
    ready.set()
    stop.wait()
    sandbox.close()


def threads_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return -1


def wait_threads(pid: int, predicate, seconds: float = 10) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not predicate(threads_of(pid)):
        time.sleep(0.05)
    return threads_of(pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--watchers", type=int, default=100)
    parser.add_argument("--changes", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        kubeconfig = str(Path(directory) / "kubeconfig")
        ready, stop = multiprocessing.Event(), multiprocessing.Event()
        process = multiprocessing.Process(target=serve, args=(kubeconfig, ready, stop))
        process.start()
        try:
            ready.wait(30)
            run(kubeconfig, process.pid, args.watchers, args.changes)
        finally:
            stop.set()
            process.join(10)


def run(kubeconfig: str, pid: int, watchers: int, changes: int) -> None:
    api = client.CustomObjectsApi(config.new_client_from_config(config_file=kubeconfig))
    api.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1())
    start = api.list_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL)["metadata"][
        "resourceVersion"
    ]
    idle = threads_of(pid)
    sent: dict[int, float] = {}
    seen: list[dict[int, float]] = [{} for _ in range(watchers)]
    done = threading.Barrier(watchers + 1)

    def follow(index: int) -> None:
        # Its own ApiClient (connection pool), as separate processes would have.
        own = client.CustomObjectsApi(config.new_client_from_config(config_file=kubeconfig))
        stream = watch.Watch().stream(
            own.list_namespaced_custom_object,
            GROUP,
            "v1beta1",
            "default",
            PLURAL,
            resource_version=start,
            timeout_seconds=120,
        )
        for event in stream:
            label = event["raw_object"]["metadata"].get("labels", {}).get("round")
            if label is not None:
                seen[index][int(label)] = time.perf_counter()
                if int(label) == changes - 1:
                    break
        stream.close()
        done.wait()

    threads = [threading.Thread(target=follow, args=(i,), daemon=True) for i in range(watchers)]
    opened = time.perf_counter()
    for thread in threads:
        thread.start()
    busy = wait_threads(pid, lambda n: n >= idle + watchers)
    print(f"{watchers} watches open in {time.perf_counter() - opened:.2f} s")
    print(f"sandbox threads: {idle} idle, {busy} with {watchers} watches open")
    began = time.perf_counter()
    for number in range(changes):
        sent[number] = time.perf_counter()
        api.patch_namespaced_custom_object(
            GROUP,
            "v1beta1",
            "default",
            PLURAL,
            "qwen",
            {"metadata": {"labels": {"round": str(number)}}},
        )
    written = time.perf_counter() - began
    done.wait(120)
    everyone = max(max(times.values()) for times in seen) - began
    delays = sorted(
        (times[number] - sent[number]) * 1000 for times in seen for number in range(changes)
    )
    missing = sum(changes - len(times) for times in seen)
    print(f"{changes} changes written in {written:.2f} s ({written / changes * 1000:.1f} ms each)")
    print(f"every watcher saw every change {everyone:.2f} s after the first write")
    print(
        f"delivery delay over {len(delays)} deliveries: "
        f"p50 {statistics.median(delays):.1f} ms, p95 {delays[int(len(delays) * 0.95)]:.1f} ms, "
        f"max {delays[-1]:.1f} ms; missing {missing}"
    )
    after = wait_threads(pid, lambda n: n <= idle + 1)
    print(f"sandbox threads after the watchers hung up: {after}")


if __name__ == "__main__":
    main()
