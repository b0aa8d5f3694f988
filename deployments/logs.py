"""A deployment's pod logs: what a request may read, and the lines, one pod or several.

Bad input (a number that is not one, a pod that is not the deployment's, a container the pod
does not have) is refused before anything is sent to the cluster. Several pods' logs are
interleaved like stern: each line carries its pod, ordered by time when read at once, in
arrival order when followed. A followed log is read by one thread per pod, so a blocking read
never holds a request's event loop; closing the reader hangs up on the cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from deployments import cluster, selectors
from deployments.cluster import ClusterError

COMPONENT_LABEL = "nvidia.com/dynamo-component"
MAX_TAIL_LINES = 100_000
MAX_NUMBER = 10**9  # larger numbers are refused, not passed on to the cluster
# How often a followed pod whose container has not started yet is asked again.
RETRY_SECONDS = 2.0
_FALSE, _TRUE = ("", "0", "false", "no"), ("1", "true", "yes", "on")


class BadLogRequest(ValueError):
    """A log request refused before any cluster call, with a message per field."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self.fields = fields
        self.message = next(iter(fields.values()))[0]
        super().__init__(self.message)


@dataclass(frozen=True)
class LogLine:
    pod: str
    text: str
    notice: bool = False  # Dynamote's word about the stream, not a line of the container's


@dataclass(frozen=True)
class LogRequest:
    """What to read, checked: the pods are the deployment's, the container theirs."""

    namespace: str
    name: str
    pods: tuple[str, ...]
    container: str
    follow: bool = False
    tail_lines: int | None = None
    since_seconds: int | None = None
    timestamps: bool = False
    previous: bool = False


@dataclass(frozen=True)
class PodChoice:
    name: str
    component: str
    containers: tuple[str, ...]


@dataclass
class Choices:
    """The deployment's components, pods and containers, for the Logs tab's pickers."""

    pods: list[PodChoice] = field(default_factory=list)

    @property
    def components(self) -> list[str]:
        return sorted({p.component for p in self.pods})

    def as_json(self) -> dict:
        return {
            "components": self.components,
            "pods": [
                {"name": p.name, "component": p.component, "containers": list(p.containers)}
                for p in self.pods
            ],
        }


def choices(*, namespace: str, name: str) -> Choices:
    """The pods of the deployment with their component and containers (shared cache)."""
    pods = []
    for pod in selectors.deployment_pods(namespace=namespace, name=name):
        meta = pod.get("metadata") or {}
        containers = tuple(
            c.get("name", "") for c in (pod.get("spec") or {}).get("containers") or []
        )
        component = (meta.get("labels") or {}).get(COMPONENT_LABEL, "")
        pods.append(PodChoice(meta.get("name", ""), component, containers))
    return Choices(sorted(pods, key=lambda p: (p.component, p.name)))


def _number(params: Mapping[str, str], key: str, low: int, errors: dict) -> int | None:
    text = (params.get(key) or "").strip()
    if not text:
        return None
    if not text.isdigit() or not low <= int(text) <= MAX_NUMBER:
        errors[key] = [f"{key} must be a whole number of at least {low}, got {text!r}."]
        return None
    return int(text)


def _flag(params: Mapping[str, str], key: str, errors: dict) -> bool:
    text = (params.get(key) or "").strip().lower()
    if text in _FALSE:
        return False
    if text in _TRUE:
        return True
    errors[key] = [f"{key} must be true or false, got {text!r}."]
    return False


def log_request(*, namespace: str, name: str, params: Mapping[str, str]) -> LogRequest:
    """The checked request; BadLogRequest names each field in error (no cluster call made
    for a malformed number, and never a log read for a pod that is not the deployment's)."""
    errors: dict[str, list[str]] = {}
    tail = _number(params, "tailLines", 0, errors)
    if tail is not None and tail > MAX_TAIL_LINES:
        errors["tailLines"] = [f"tailLines may be at most {MAX_TAIL_LINES:,}."]
    since = _number(params, "sinceSeconds", 1, errors)
    options = {key: _flag(params, key, errors) for key in ("follow", "timestamps", "previous")}
    if errors:
        raise BadLogRequest(errors)
    pod_name = (params.get("pod") or "").strip()
    component = (params.get("component") or "").strip()
    if not pod_name and not component:
        raise BadLogRequest({"pod": ["Choose a pod, or a component to read all its pods."]})
    found = choices(namespace=namespace, name=name)
    if pod_name:
        picked = [p for p in found.pods if p.name == pod_name]
        if not picked:
            raise BadLogRequest(
                {"pod": [f"Pod {pod_name} is not one of deployment {name}'s pods."]}
            )
    else:
        picked = [p for p in found.pods if p.component == component]
        if not picked:
            known = ", ".join(found.components) or "none yet"
            raise BadLogRequest(
                {
                    "component": [
                        f"Deployment {name} has no pods of component {component} "
                        f"(its components with pods: {known})."
                    ]
                }
            )
    container = (params.get("container") or "").strip()
    if container:
        for pod in picked:
            if container not in pod.containers:
                raise BadLogRequest(
                    {
                        "container": [
                            f"Pod {pod.name} has no container {container}; "
                            f"its containers: {', '.join(pod.containers)}."
                        ]
                    }
                )
    else:
        containers = picked[0].containers
        container = "main" if "main" in containers else (containers[0] if containers else "")
    return LogRequest(
        namespace=namespace,
        name=name,
        pods=tuple(p.name for p in picked),
        container=container,
        tail_lines=tail,
        since_seconds=since,
        **options,
    )


def refusal_status(error: ClusterError) -> int:
    """The cluster refuses a log it has not got (a container not started yet, no previous
    run) with 400: that is the request's problem, not the cluster's."""
    return 400 if error.message.startswith("The cluster answered HTTP 400") else error.status


def _open(request: LogRequest, pod: str, *, timestamps: bool) -> cluster.LogStream:
    return cluster.pod_log_stream(
        namespace=request.namespace,
        name=pod,
        container=request.container,
        follow=request.follow,
        tail_lines=request.tail_lines,
        since_seconds=request.since_seconds,
        timestamps=timestamps,
        previous=request.previous,
    )


def _stamp(line: str) -> tuple[float, str]:
    """Splits the kubelet's RFC 3339 prefix off a line: (seconds, the rest)."""
    head, _, rest = line.partition(" ")
    try:
        whole, _, fraction = head.rstrip("Z").partition(".")
        at = datetime.fromisoformat(whole + "+00:00").timestamp() + float(f"0.{fraction or 0}")
    except ValueError:
        return 0.0, line
    return at, rest


def read(request: LogRequest) -> Iterator[LogLine]:
    """The lines written so far; several pods are merged in time order.

    A single pod's refusal raises ClusterError; with several pods it becomes a notice line.
    """
    if len(request.pods) == 1:
        stream = _open(request, request.pods[0], timestamps=request.timestamps)
        try:
            for text in stream.lines():
                yield LogLine(request.pods[0], text)
        finally:
            stream.close()
        return
    runs: list[list[tuple[float, int, LogLine]]] = []
    for index, pod in enumerate(request.pods):
        try:
            stream = _open(request, pod, timestamps=True)
            try:
                lines = list(stream.lines())
            finally:
                stream.close()
        except ClusterError as error:
            runs.append([(0.0, index, LogLine(pod, no_log_message(error), notice=True))])
            continue
        run = []
        for line in lines:
            at, text = _stamp(line)
            run.append((at, index, LogLine(pod, line if request.timestamps else text)))
        runs.append(run)
    for _at, _index, line in heapq.merge(*runs, key=lambda item: (item[0], item[1])):
        yield line


def no_log_message(error: ClusterError) -> str:
    return f"No log: {error.message.removeprefix('The cluster answered HTTP 400: ')}"


class Follower:
    """Follows the pods' logs, one thread per pod, handing lines to `deliver`.

    A container that has not started yet is asked again every few seconds (with a notice),
    so following a pod that is being created shows its lines once it starts. `close` hangs
    up on every open stream; `deliver(None)` is called once all the pods' streams ended.
    """

    def __init__(self, request: LogRequest, deliver: Callable[[LogLine | None], None]) -> None:
        self.request = request
        self.deliver = deliver
        self._lock = threading.Lock()
        self._streams: set[cluster.LogStream] = set()
        self._closed = threading.Event()
        self._running = len(request.pods)

    def start(self) -> Follower:
        for pod in self.request.pods:
            threading.Thread(target=self._pump, args=(pod,), daemon=True).start()
        return self

    def _pump(self, pod: str) -> None:
        waiting_said = ""
        try:
            while not self._closed.is_set():
                try:
                    stream = _open(self.request, pod, timestamps=self.request.timestamps)
                except ClusterError as error:
                    said = no_log_message(error)
                    waiting = "is waiting to start" in said
                    if said != waiting_said:
                        self.deliver(LogLine(pod, said, notice=True))
                        waiting_said = said
                    if not waiting:
                        return
                    self._closed.wait(RETRY_SECONDS)
                    continue
                with self._lock:
                    if self._closed.is_set():
                        stream.close()
                        return
                    self._streams.add(stream)
                try:
                    for text in stream.lines():
                        if self._closed.is_set():
                            return
                        self.deliver(LogLine(pod, text))
                except ClusterError as error:
                    self.deliver(LogLine(pod, error.message, notice=True))
                finally:
                    with self._lock:
                        self._streams.discard(stream)
                    stream.close()
                return
        finally:
            with self._lock:
                self._running -= 1
                last = self._running == 0
            if last and not self._closed.is_set():
                self.deliver(None)

    def close(self) -> None:
        """Hang up on every stream; the threads end at once."""
        self._closed.set()
        with self._lock:
            streams = list(self._streams)
            self._streams.clear()
        for stream in streams:
            stream.close()


def follow(request: LogRequest) -> Iterator[LogLine]:
    """The lines as the pods write them, until every followed container ended."""
    lines: queue.Queue[LogLine | None] = queue.Queue()
    follower = Follower(request, lines.put).start()
    try:
        while (line := lines.get()) is not None:
            yield line
    finally:
        follower.close()


async def follow_async(request: LogRequest) -> AsyncIterator[LogLine]:
    """`follow` for an async view: the reading threads hand lines to the event loop."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[LogLine | None] = asyncio.Queue()

    def deliver(line: LogLine | None) -> None:
        # Once the request is over its event loop is closed: nobody reads any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(lines.put_nowait, line)

    follower = Follower(request, deliver).start()
    try:
        while (line := await lines.get()) is not None:
            yield line
    finally:
        follower.close()
