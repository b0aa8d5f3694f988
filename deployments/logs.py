"""A deployment's pod logs: what a request may read, and the lines, one pod or several.

Bad input (a number that is not one, a pod that is not the deployment's, a container the pod
does not have) is refused before anything is sent to the cluster. Several pods' logs are
interleaved like stern: each line carries its pod, ordered by time when read at once, in
arrival order when followed. A followed log is read by one thread per pod, so a blocking read
never holds a request's event loop; closing the reader hangs up on the cluster. Following all
pods of a component watches the mirror's pods (no request of its own): pods that appear join,
pods that are gone leave, a restarted container goes on with its new run, and a stream the
cluster cut is read again after the last line shown.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from deployments import cluster, feed, selectors
from deployments.cluster import ClusterError

COMPONENT_LABEL = "nvidia.com/dynamo-component"
MAX_TAIL_LINES = 100_000
MAX_NUMBER = 10**9  # larger numbers are refused, not passed on to the cluster
# How often a followed log is asked again after the cluster cut it or did not answer.
RETRY_SECONDS = 2.0
# The longest a followed pod waits for news of its container (the mirror announces each
# change of the pod at once; this is the fallback).
WAIT_SECONDS = 10.0
# The longest a component's follow waits before it looks at the mirror's pods again.
WATCH_SECONDS = 5.0
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
    change: str = ""  # "joined" or "ended": the pod joined or left the followed pods


@dataclass(frozen=True)
class LogRequest:
    """What to read, checked: the pods are the deployment's, the container theirs."""

    namespace: str
    name: str
    pods: tuple[str, ...]
    container: str
    component: str = ""  # all pods of this component, those to come included (when following)
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
        component="" if pod_name else component,
        container=container,
        tail_lines=tail,
        since_seconds=since,
        **options,
    )


def refusal_status(error: ClusterError) -> int:
    """The cluster refuses a log it has not got (a container not started yet, no previous
    run) with 400: that is the request's problem, not the cluster's."""
    return 400 if error.message.startswith("The cluster answered HTTP 400") else error.status


def _open(
    request: LogRequest, pod: str, *, timestamps: bool, whole: bool = False
) -> cluster.LogStream:
    return cluster.pod_log_stream(
        namespace=request.namespace,
        name=pod,
        container=request.container,
        follow=request.follow,
        tail_lines=None if whole else request.tail_lines,
        since_seconds=None if whole else request.since_seconds,
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


class _Position:
    """Where a pod's followed log got to (the kubelet's time of the last line shown, and how
    many lines carried that time), so that reading it again after a cut or a restart shows
    no line twice."""

    def __init__(self) -> None:
        self.at: tuple[int, int] | None = None
        self.count = 0
        self._again = 0  # lines at `at` seen since the log was opened again

    def reopened(self) -> None:
        self._again = 0

    def fresh(self, at: tuple[int, int] | None) -> bool:
        """Whether a line with this time is one not shown yet (and counts it as shown)."""
        if at is None:
            return True
        if self.at is not None and at < self.at:
            return False
        if self.at is not None and at == self.at:
            self._again += 1
            if self._again <= self.count:
                return False
            self.count += 1
            return True
        self.at, self.count, self._again = at, 1, 1
        return True


def _instant(line: str) -> tuple[tuple[int, int] | None, str]:
    """The kubelet's RFC 3339 time of a line, exact to the nanosecond, and the rest."""
    head, _, rest = line.partition(" ")
    whole, _, fraction = head.rstrip("Z").partition(".")
    try:
        seconds = int(datetime.fromisoformat(whole + "+00:00").timestamp())
        nanos = int((fraction or "0")[:9].ljust(9, "0"))
    except ValueError:
        return None, line
    return (seconds, nanos), rest


def _cut(error: ClusterError) -> bool:
    """The cluster did not answer (or failed): following again later may work."""
    return isinstance(error, cluster.Unreachable) or error.message.startswith(
        "The cluster answered HTTP 5"
    )


def _container_status(pod: dict, container: str) -> dict:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return next((s for s in statuses if s.get("name") == container), {})


def _running(pod: dict, container: str) -> bool:
    return bool((_container_status(pod, container).get("state") or {}).get("running"))


def _restarts(pod: dict | None, container: str) -> int | None:
    return None if pod is None else _container_status(pod, container).get("restartCount")


@dataclass
class _Followed:
    """One followed pod: where its log got to, and what was said of it."""

    pod: str
    joined: bool  # it joined after the follow started: its whole log is new
    seq: int  # the change notices read so far
    position: _Position = field(default_factory=lambda: _Position())
    said: str = ""  # the last "waiting to start" notice
    restarts: int | None = None  # its container's restart count when last opened


class Follower:
    """Follows the pods' logs, one thread per pod, handing lines to `deliver`.

    A container that has not started yet is asked again when the mirror announces a change
    of its pod (or every few seconds), so following a pod that is being created shows its
    lines once it starts. A log read again after the cluster cut the stream, or after the
    container restarted, goes on after the last line shown (nothing lost, nothing twice).
    Following all pods of a component watches the mirror: each new pod joins the stream
    (its whole log) and a pod that is gone leaves it. `close` hangs up on every open
    stream; `deliver(None)` is called once nothing is left to follow (never for a component,
    whose next pod may come any time).
    """

    def __init__(self, request: LogRequest, deliver: Callable[[LogLine | None], None]) -> None:
        self.request = request
        self.deliver = deliver
        self._lock = threading.Lock()
        self._streams: set[cluster.LogStream] = set()
        self._closed = threading.Event()
        self._running = 0
        self._followed: set[str] = set()  # pods with a reading thread
        self._left: set[str] = set()  # pods whose reading ended: never joined again
        self._lost = False  # the cluster stopped answering (said once for all pods)

    @property
    def pods(self) -> list[str]:
        with self._lock:
            return sorted(self._followed)

    def start(self) -> Follower:
        with self._lock:
            self._running = len(self.request.pods) + (1 if self.request.component else 0)
            self._followed.update(self.request.pods)
        for pod in self.request.pods:
            self._thread(self._pump, pod, False)
        if self.request.component:
            self._thread(self._watch)
        return self

    def _thread(self, target: Callable, *args) -> None:
        threading.Thread(target=target, args=args, daemon=True, name="dynamote-log").start()

    def _done(self) -> None:
        with self._lock:
            self._running -= 1
            last = self._running == 0
        if last and not self._closed.is_set():
            self.deliver(None)

    # ----- the pods, from the mirror

    def _pods(self) -> dict[str, dict] | None:
        """The deployment's pods by name as the mirror has them; None when it cannot tell."""
        try:
            found = selectors.deployment_pods(
                namespace=self.request.namespace, name=self.request.name
            )
        except (ClusterError, selectors.Missing):
            return None
        return {(p.get("metadata") or {}).get("name", ""): p for p in found}

    def _wait_for_change(self, seq: int, timeout: float, match: Callable) -> int:
        """Waits until the feed announces a matching change (or `timeout` passes, or the
        follow is closed); the feed's number to wait from next."""
        end = time.monotonic() + timeout
        while not self._closed.is_set():
            left = end - time.monotonic()
            if left <= 0:
                break
            latest = feed.feed.wait(seq, min(left, 0.5))
            if latest == seq:
                continue
            notices = feed.feed.since(seq)
            seq = latest
            if notices is None or any(match(n) for n in notices):
                break
        return seq

    def _about_pod(self, pod: str) -> Callable:
        ns = self.request.namespace
        return lambda n: (
            n.kind == "cluster" or (n.kind == "pod" and n.namespace == ns and n.name == pod)
        )

    def _watch(self) -> None:
        """Starts a reading thread for each new pod of the component."""
        ns, name, component = self.request.namespace, self.request.name, self.request.component

        def about_deployment(n: feed.Notice) -> bool:
            return n.kind == "cluster" or (
                n.kind == "pod" and n.namespace == ns and n.deployment == name
            )

        try:
            seq = feed.feed.latest()
            while not self._closed.is_set():
                pods = self._pods()
                for pod_name, pod in sorted((pods or {}).items()):
                    meta = pod.get("metadata") or {}
                    labels = meta.get("labels") or {}
                    if labels.get(COMPONENT_LABEL) != component or meta.get("deletionTimestamp"):
                        continue
                    with self._lock:
                        if pod_name in self._followed | self._left or self._closed.is_set():
                            continue
                        self._followed.add(pod_name)
                        self._running += 1
                    self.deliver(
                        LogLine(pod_name, f"+ pod {pod_name} joined", notice=True, change="joined")
                    )
                    self._thread(self._pump, pod_name, True)
                seq = self._wait_for_change(seq, WATCH_SECONDS, about_deployment)
        finally:
            self._done()

    # ----- one pod

    def _pump(self, pod: str, joined: bool) -> None:
        followed = _Followed(pod, joined, feed.feed.latest())
        try:
            while not self._closed.is_set():
                stream = self._open_run(followed)
                if stream is None:
                    return
                if not self._read_run(followed, stream) or self._closed.is_set():
                    continue  # cut off: read again after the last line shown
                if self.request.previous:
                    return
                # The run ended: the pod is gone, being deleted, or its container restarts
                # (or the cluster ended the stream while the container runs on).
                if not self._after_run(followed):
                    if not self._closed.is_set():
                        self._ended(pod)
                    return
        finally:
            with self._lock:
                self._followed.discard(pod)
                self._left.add(pod)
            self._done()

    def _open_run(self, followed: _Followed) -> cluster.LogStream | None:
        """The pod's log stream once it can be read; None when there is nothing to follow."""
        pod = followed.pod
        while not self._closed.is_set():
            # A pod that joined shows its whole log; so does a log read again (after the
            # last line shown); else what the request asked for.
            whole = followed.joined or followed.position.at is not None
            try:
                with cluster.deadline():
                    stream = _open(self.request, pod, timestamps=True, whole=whole)
            except ClusterError as error:
                if _cut(error):
                    self._say_lost(error)
                    self._closed.wait(RETRY_SECONDS)
                    continue
                self._say_back()
                if isinstance(error, cluster.NotFound):
                    self._ended(pod)
                    return None
                message = no_log_message(error)
                if "is waiting to start" not in message:
                    self.deliver(LogLine(pod, message, notice=True))
                    return None
                if message != followed.said:
                    self.deliver(LogLine(pod, message, notice=True))
                    followed.said = message
                followed.seq = self._wait_for_change(
                    followed.seq, WAIT_SECONDS, self._about_pod(pod)
                )
                if (pods := self._pods()) is not None and pod not in pods:
                    self._ended(pod)
                    return None
                continue
            self._say_back()
            restarts = _restarts((self._pods() or {}).get(pod), self.request.container)
            if None not in (followed.restarts, restarts) and restarts > followed.restarts:
                said = f"pod {pod} restarted its container (restart {restarts})"
                self.deliver(LogLine(pod, said, notice=True))
            followed.restarts = restarts if restarts is not None else followed.restarts
            with self._lock:
                if not self._closed.is_set():
                    self._streams.add(stream)
                    return stream
            stream.close()
        return None

    def _read_run(self, followed: _Followed, stream: cluster.LogStream) -> bool:
        """Hands on the lines not shown yet until the stream ends; False when it was cut."""
        followed.position.reopened()
        try:
            for text in stream.lines():
                if self._closed.is_set():
                    return True
                at, rest = _instant(text)
                if followed.position.fresh(at):
                    shown = text if self.request.timestamps or at is None else rest
                    self.deliver(LogLine(followed.pod, shown))
        except ClusterError as error:
            self._say_lost(error)
            self._closed.wait(RETRY_SECONDS)
            return False
        finally:
            with self._lock:
                self._streams.discard(stream)
            stream.close()
        return True

    def _after_run(self, followed: _Followed) -> bool:
        """Waits until the pod's log may grow again; False once the pod is gone."""
        while not self._closed.is_set():
            pods = self._pods()
            if pods is not None and followed.pod not in pods:
                return False
            found = (pods or {}).get(followed.pod) or {}
            deleting = bool((found.get("metadata") or {}).get("deletionTimestamp"))
            finished = (found.get("status") or {}).get("phase") in ("Succeeded", "Failed")
            running = pods is None or _running(found, self.request.container)
            # Running as far as the mirror knows (or it cannot tell): the cluster ended the
            # stream, read on soon; else wait for the container to start again.
            wait = RETRY_SECONDS if running and not deleting else WAIT_SECONDS
            followed.seq = self._wait_for_change(followed.seq, wait, self._about_pod(followed.pod))
            if not deleting and not finished:
                return True
        return False

    def _ended(self, pod: str) -> None:
        self.deliver(LogLine(pod, f"- pod {pod} ended", notice=True, change="ended"))

    def _say_lost(self, error: ClusterError) -> None:
        with self._lock:
            said, self._lost = self._lost, True
        if not said and not self._closed.is_set():
            self.deliver(
                LogLine(
                    "",
                    f"Lost the cluster: {error.message} Following again as soon as it "
                    f"answers (asking every {RETRY_SECONDS:g} s).",
                    notice=True,
                )
            )

    def _say_back(self) -> None:
        with self._lock:
            said, self._lost = self._lost, False
        if said and not self._closed.is_set():
            self.deliver(LogLine("", "The cluster answers again: following on.", notice=True))

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
