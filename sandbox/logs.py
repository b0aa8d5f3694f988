"""Container logs as the kubelet keeps them and the API server serves them (pods/log).

A container's log is a function of time: the engine's start-up lines, then its periodic
stats lines while it serves, and a last line when it is stopped. A request reads the lines
written so far (`tailLines`, `sinceSeconds`, `sinceTime`, `timestamps`, `previous`);
`follow` keeps the stream open and sends each line as the clock passes it, until the
container's run ends (it exits, or its pod is deleted), the client hangs up or the sandbox
stops.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from .clock import rfc3339
from .engines import Workload, _vllm_time, crash_log, startup_log

# Seconds between an engine's periodic stats lines (vLLM logs its throughput every 10 s).
STATS_INTERVAL = 10.0
# Seconds between a frontend's or a sidecar's periodic lines.
QUIET_INTERVAL = 30.0
# The longest a follow waits, in real time, before it looks at the clock and its client again.
FOLLOW_TICK = 0.2

Lines = list[tuple[float, str]]


class LogError(Exception):
    """A log request the API server refuses, with its HTTP code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class LogOptions:
    """A pods/log request's query, parsed and checked as the API server does."""

    container: str
    follow: bool = False
    previous: bool = False
    timestamps: bool = False
    tail_lines: int | None = None
    since_seconds: int | None = None
    since_time: float | None = None

    @classmethod
    def parse(cls, pod: dict, query: dict) -> LogOptions:
        """Read the query; LogError (400, 422) for what the API server refuses."""
        name = pod["metadata"]["name"]
        tail = _integer(query, "tailLines")
        since = _integer(query, "sinceSeconds")
        since_time = None
        if query.get("sinceTime"):
            text = query["sinceTime"]
            try:
                since_time = datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
            except ValueError as err:
                raise LogError(
                    400, f'parsing time "{text}" as "2006-01-02T15:04:05Z07:00": cannot parse'
                ) from err
        problems = []
        if tail is not None and tail < 0:
            problems.append(f"tailLines: Invalid value: {tail}: must be greater than or equal to 0")
        if since is not None and since < 1:
            problems.append(f"sinceSeconds: Invalid value: {since}: must be greater than 0")
        if since is not None and since_time is not None:
            problems.append("at most one of `sinceTime` or `sinceSeconds` may be specified")
        if problems:
            raise LogError(422, f'PodLogOptions "{name}" is invalid: ' + ", ".join(problems))
        names = [c.get("name", "") for c in (pod.get("spec") or {}).get("containers") or []]
        container = query.get("container") or ""
        if not container:
            if len(names) != 1:
                raise LogError(
                    400,
                    f"a container name must be specified for pod {name}, "
                    f"choose one of: [{' '.join(names)}]",
                )
            container = names[0]
        elif container not in names:
            raise LogError(400, f"container {container} is not valid for pod {name}")
        return cls(
            container=container,
            follow=_flag(query, "follow"),
            previous=_flag(query, "previous"),
            timestamps=_flag(query, "timestamps"),
            tail_lines=tail,
            since_seconds=since,
            since_time=since_time,
        )

    def start(self, now: float) -> float:
        """Lines written before this time are left out."""
        if self.since_seconds is not None:
            return now - self.since_seconds
        if self.since_time is not None:
            return self.since_time
        return -math.inf

    def format(self, lines: Lines) -> bytes:
        """The lines as the kubelet sends them, each prefixed with its time when asked."""
        if self.timestamps:
            return "".join(f"{_nano(at)} {text}\n" for at, text in lines).encode()
        return "".join(f"{text}\n" for _at, text in lines).encode()


def _flag(query: dict, name: str) -> bool:
    return query.get(name, "").lower() in ("true", "1")


def _integer(query: dict, name: str) -> int | None:
    text = query.get(name)
    if text is None or text == "":
        return None
    try:
        return int(text)
    except ValueError as err:
        raise LogError(400, f'strconv.ParseInt: parsing "{text}": invalid syntax') from err


def _nano(at: float) -> str:
    """RFC 3339 with nanoseconds, as the kubelet's timestamps=true prefix."""
    stamp = datetime.fromtimestamp(at, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond:06d}000Z"


@dataclass(frozen=True)
class Run:
    """One run of one container: its lines between two times, and when it ends."""

    lines: Callable[[float, float], Lines]  # the lines written in (after, until]
    ends_at: float | None  # it exits or is stopped then; None while nothing ends it
    started_at: float | None = None  # tells one run of a container from the next


def _periodic(
    first: float, interval: float, after: float, until: float, text: Callable[[float], str]
) -> Lines:
    """A line every `interval` seconds from `first`, those in (after, until]."""
    if until < first:
        return []
    start = max(0, math.floor((after - first) / interval) + 1) if after >= first else 0
    end = math.floor((until - first) / interval)
    return [(first + k * interval, text(first + k * interval)) for k in range(start, end + 1)]


def _between(lines: Lines, after: float, until: float) -> Lines:
    return [(at, text) for at, text in lines if after < at <= until]


def _stats_line(work: Workload, at: float) -> str:
    if work.engine == "vllm":
        return (
            f"INFO {_vllm_time(at)} [loggers.py:123] Engine 000: Avg prompt throughput: "
            "0.0 tokens/s, Avg generation throughput: 0.0 tokens/s, Running: 0 reqs, "
            "Waiting: 0 reqs, GPU KV cache usage: 0.0%, Prefix cache hit rate: 0.0%"
        )
    if work.engine == "sglang":
        return (
            f"[{rfc3339(at)}] Decode batch. #running-req: 0, #token: 0, token usage: 0.00, "
            "gen throughput (token/s): 0.00, #queue-req: 0"
        )
    if work.engine == "trtllm":
        return f"[{rfc3339(at)}] [TRT-LLM] [I] iteration stats: active requests 0, queued 0"
    return f"{rfc3339(at)} INFO dynamo.{work.engine}: healthy"


def engine_run(
    work: Workload,
    started_at: float,
    ready_at: float,
    stopped_at: float | None,
    scale: float,
    served_model: str = "",
) -> Run:
    """A container that starts, loads, serves and (when its pod is deleted) stops."""
    startup = startup_log(work, started_at, ready_at)
    if work.engine == "frontend":
        model = served_model or "the model"
        startup.append((ready_at, f"{rfc3339(ready_at)} INFO dynamo.frontend: added model {model}"))
        interval = QUIET_INTERVAL * scale

        def stats(at: float) -> str:
            return f'{rfc3339(at)} INFO http: "GET /health HTTP/1.1" 200'

    else:
        interval = (QUIET_INTERVAL if work.engine not in ENGINES else STATS_INTERVAL) * scale

        def stats(at: float) -> str:
            return _stats_line(work, at)

    goodbye: Lines = []
    if stopped_at is not None:
        # Written just after the stop, so a follower that already read up to it gets it too.
        stopped_at += 0.001
        goodbye = [(stopped_at, _stop_line(work, stopped_at))]

    def lines(after: float, until: float) -> Lines:
        if stopped_at is not None:
            until = min(until, stopped_at)
        found = _between(startup, after, until)
        last = stopped_at - 0.01 if stopped_at is not None else until
        found += _periodic(ready_at + interval, interval, after, min(until, last), stats)
        return found + _between(goodbye, after, until)

    return Run(lines, stopped_at, started_at)


ENGINES = ("vllm", "sglang", "trtllm")


def _stop_line(work: Workload, at: float) -> str:
    if work.engine == "vllm":
        return f"INFO {_vllm_time(at)} Received SIGTERM, shutting down the engine"
    if work.engine in ("sglang", "trtllm"):
        return f"[{rfc3339(at)}] Received SIGTERM, shutting down dynamo.{work.engine}"
    return f"{rfc3339(at)} INFO dynamo.{work.engine}: received SIGTERM, shutting down"


def crashed_run(work: Workload, started_at: float, exited_at: float) -> Run:
    """A worker's run that rejects its arguments and exits."""
    written = crash_log(work, started_at, exited_at)
    return Run(lambda after, until: _between(written, after, until), exited_at, started_at)


def sidecar_run(container: dict, started_at: float, stopped_at: float | None, scale: float) -> Run:
    """A container of the pod template next to the engine: a start line and a heartbeat."""
    name = container.get("name", "sidecar")
    image = container.get("image", "")
    first = [(started_at, f"{rfc3339(started_at)} {name}: started (image {image})")]
    interval = QUIET_INTERVAL * scale

    def lines(after: float, until: float) -> Lines:
        if stopped_at is not None:
            until = min(until, stopped_at)
        beats = _periodic(
            started_at + interval, interval, after, until, lambda at: f"{rfc3339(at)} {name}: ok"
        )
        return _between(first, after, until) + beats

    return Run(lines, stopped_at, started_at)


def follow(
    read: Callable[[], Run | None],
    options: LogOptions,
    sent_until: float,
    now: Callable[[], float],
    stopped: Callable[[], bool],
    catch_up: Callable[[], None],
    first: Run | None = None,
) -> Iterator[bytes]:
    """The lines after `sent_until` as the clock passes them, until the run ends.

    `read` looks the container's run up again each time (None once its pod is gone); an
    empty chunk only asks the HTTP layer whether the client is still there. Like the
    kubelet's, a followed log is one run's: when the container restarted in the meantime,
    the stream sends the rest of the run it followed and ends.
    """
    while not stopped():
        time.sleep(FOLLOW_TICK)
        catch_up()
        moment = now()
        run = read()
        if run is None:
            return
        first = first or run
        if run.started_at != first.started_at and first.ends_at is not None:
            rest = first.lines(sent_until, first.ends_at)
            if rest:
                yield options.format(rest)
            return
        lines = run.lines(sent_until, moment)
        sent_until = moment
        yield options.format(lines) if lines else b""
        if run.ends_at is not None and moment >= run.ends_at:
            return
