"""The simulated frontend and workers behind the sandbox's proxies: answers and metrics.

A frontend answers the OpenAI chat API with deterministic text derived from the prompt, after
a time to first token and with an inter-token delay that grow with the model's size per GPU
and depend on the engine (scaled by `Traffic.scale`, so tests and demos stay quick). Every
answer moves the Prometheus metrics the frontend serves on :8000/metrics (`dynamo_frontend_*`)
and the metrics its worker serves on :9090/metrics (`dynamo_component_*`), with the names and
labels Dynamo uses.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from .engines import Workload

# Dynamo's exporters send no *_created series.
disable_created_metrics()

DEFAULT_CONTEXT = 32768  # what the engine reads from the model's config when no flag says
ENGINE_SPEED = {"vllm": 1.0, "sglang": 0.9, "trtllm": 0.8, "mocker": 0.5}
BLOCK_SIZE = 16  # tokens per KV-cache block
GPU_MEMORY_GB = 80.0
_TEXT = (
    "the model streams tokens from the frontend through the router to a worker and back "
    "each answer is derived from your prompt so the same question gets the same reply "
    "dynamo serves this deployment with its engine on the cluster's gpus while the "
    "sandbox simulates latency throughput and the cache of every request"
)
WORDS = _TEXT.split()
TIME_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
TOKEN_BUCKETS = (0, 16, 64, 256, 1024, 4096, 16384, 65536, 262144)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class BadRequest(Exception):
    """A body the frontend refuses (400), with its message."""


@dataclass(frozen=True)
class Served:
    """What a deployment's workers serve: the model id, engine, size and context."""

    model: str
    work: Workload
    context: int

    @property
    def params_per_gpu(self) -> float:
        return self.work.params_b / max(self.work.tensor_parallel, 1)

    @property
    def speed(self) -> float:
        return ENGINE_SPEED.get(self.work.engine, 1.0)

    def ttft(self, prompt_tokens: int) -> float:
        """Seconds to the first token: scheduling plus a prefill that grows with the prompt."""
        return self.speed * (0.03 + 0.004 * self.params_per_gpu) * (1 + prompt_tokens / 2048)

    def itl(self) -> float:
        """Seconds between two tokens: decode reads the weights once per token."""
        return self.speed * (0.008 + 0.0006 * self.params_per_gpu)

    def total_blocks(self) -> int:
        """KV-cache blocks a worker has: the GPUs' memory left after the weights."""
        free = max(
            GPU_MEMORY_GB * 0.9 * max(self.work.tensor_parallel, 1) - 2 * self.work.params_b, 4
        )
        per_token = 128 * 1024 * max(self.work.params_b / 8, 0.05) ** 0.4
        return int(free * 1e9 / per_token / BLOCK_SIZE)


def served(args: list[str], work: Workload) -> Served:
    """The model a worker's arguments serve: --served-model-name, else the model path."""
    words = " ".join(str(a) for a in args).split()

    def flag(*names: str) -> str:
        for index, word in enumerate(words):
            for name in names:
                if word == name and index + 1 < len(words):
                    return words[index + 1]
                if word.startswith(name + "="):
                    return word.split("=", 1)[1]
        return ""

    name = flag("--served-model-name") or flag("--model", "--model-path") or work.model
    context = flag("--max-model-len", "--context-length", "--max-seq-len")
    return Served(name, work, int(context) if context.isdigit() else DEFAULT_CONTEXT)


def count_tokens(text: str) -> int:
    """Tokens of a text, as the simulated tokenizer counts them (words and punctuation)."""
    return len(re.findall(r"\w+|[^\w\s]", text))


@dataclass
class Chat:
    """One checked chat-completions request."""

    model: str
    messages: list[dict]
    max_tokens: int | None
    temperature: float
    stream: bool
    include_usage: bool

    @property
    def prompt(self) -> str:
        return "\n".join(str(m.get("content") or "") for m in self.messages)

    @property
    def prompt_tokens(self) -> int:
        return sum(count_tokens(str(m.get("content") or "")) + 4 for m in self.messages)

    def answer(self) -> tuple[list[str], str]:
        """The answer's tokens (deterministic for the prompt) and the finish reason."""
        users = [m for m in self.messages if m.get("role") == "user"]
        question = str((users[-1] if users else {}).get("content") or "").strip()
        if not question:
            return [], "stop"  # nothing asked: the model ends at once
        seed = hashlib.sha256(
            json.dumps([self.messages, round(self.temperature, 2)], sort_keys=True).encode()
        ).digest()
        echo = " ".join(question.split()[:6])
        words = [f'You said "{echo}".', *(WORDS[b % len(WORDS)] for b in seed)]
        natural = 12 + seed[0] % 20
        tokens = [f" {w}" if i else w for i, w in enumerate(words)][:natural]
        tokens[-1] += "."
        if self.max_tokens is not None and len(tokens) > self.max_tokens:
            return tokens[: self.max_tokens], "length"
        return tokens, "stop"


def parse_chat(body: bytes, served_model: Served) -> Chat:
    """A chat request as the frontend reads it; BadRequest with the frontend's message."""
    try:
        data = json.loads(body or b"")
    except ValueError as err:
        raise BadRequest(f"Failed to parse the request body as JSON: {err}") from err
    if not isinstance(data, dict):
        raise BadRequest("invalid type: expected a JSON object for the request body")
    if "model" not in data:
        raise BadRequest("missing field `model`")
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("missing field `messages`" if messages is None else "messages: empty")
    if not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages):
        raise BadRequest("messages: each message needs a string `role`")
    max_tokens = data.get("max_completion_tokens", data.get("max_tokens"))
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        raise BadRequest("max_tokens must be at least 1")
    temperature = data.get("temperature", 1.0)
    if not isinstance(temperature, int | float) or not 0 <= temperature <= 2:
        raise BadRequest("temperature must be between 0 and 2")
    options = data.get("stream_options") or {}
    chat = Chat(
        model=str(data["model"]),
        messages=messages,
        max_tokens=max_tokens,
        temperature=float(temperature),
        stream=bool(data.get("stream")),
        include_usage=bool(isinstance(options, dict) and options.get("include_usage")),
    )
    wanted = chat.prompt_tokens + (max_tokens or 0)
    if wanted > served_model.context:
        raise BadRequest(
            f"This model's maximum context length is {served_model.context} tokens. However, "
            f"you requested {wanted} tokens ({chat.prompt_tokens} in the messages, "
            f"{max_tokens} in the completion). Please reduce the length of the messages or "
            "completion."
        )
    return chat


def error_body(code: int, message: str) -> bytes:
    """The frontend's error answer."""
    kind = {400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}.get(code, "Error")
    return json.dumps({"message": message, "type": kind, "code": code}).encode()


class FrontendMetrics:
    """One frontend pod's `dynamo_frontend_*` metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "dynamo_frontend_requests",
            "Total number of LLM requests processed",
            ["model", "endpoint", "request_type", "status"],
            registry=r,
        )
        self.inflight = Gauge(
            "dynamo_frontend_inflight_requests",
            "Number of requests currently being processed",
            ["model"],
            registry=r,
        )
        self.queued = Gauge(
            "dynamo_frontend_queued_requests",
            "Number of requests waiting for their first token",
            ["model"],
            registry=r,
        )
        self.disconnected = Counter(
            "dynamo_frontend_disconnected_clients",
            "Clients that went away before the answer ended",
            ["model"],
            registry=r,
        )
        self.ttft = Histogram(
            "dynamo_frontend_time_to_first_token_seconds",
            "Time to first token in seconds",
            ["model"],
            buckets=TIME_BUCKETS,
            registry=r,
        )
        self.itl = Histogram(
            "dynamo_frontend_inter_token_latency_seconds",
            "Inter-token latency in seconds",
            ["model"],
            buckets=TIME_BUCKETS,
            registry=r,
        )
        self.duration = Histogram(
            "dynamo_frontend_request_duration_seconds",
            "Duration of LLM requests",
            ["model"],
            buckets=TIME_BUCKETS,
            registry=r,
        )
        self.input_tokens = Histogram(
            "dynamo_frontend_input_sequence_tokens",
            "Input sequence length in tokens",
            ["model"],
            buckets=TOKEN_BUCKETS,
            registry=r,
        )
        self.output_tokens = Histogram(
            "dynamo_frontend_output_sequence_tokens",
            "Output sequence length in tokens",
            ["model"],
            buckets=TOKEN_BUCKETS,
            registry=r,
        )
        self.output_total = Counter(
            "dynamo_frontend_output_tokens", "Total output tokens", ["model"], registry=r
        )
        self.context = Gauge(
            "dynamo_frontend_model_context_length",
            "Maximum context length of the model",
            ["model"],
            registry=r,
        )


class WorkerMetrics:
    """One worker pod's `dynamo_component_*` metrics (its system port, 9090)."""

    def __init__(self, labels: dict[str, str], total_blocks: int) -> None:
        self.registry = CollectorRegistry()
        self.labels = labels
        names = list(labels)
        r = self.registry
        self.requests = Counter(
            "dynamo_component_requests", "Requests processed", names, registry=r
        )
        self.inflight = Gauge(
            "dynamo_component_inflight_requests", "Requests in flight", names, registry=r
        )
        self.duration = Histogram(
            "dynamo_component_request_duration_seconds",
            "Time spent processing requests",
            names,
            buckets=TIME_BUCKETS,
            registry=r,
        )
        self.cache_usage = Gauge(
            "dynamo_component_gpu_cache_usage_percent",
            "KV-cache use as a fraction of its blocks (0 to 1)",
            names,
            registry=r,
        )
        self.blocks = Gauge(
            "dynamo_component_total_blocks", "KV-cache blocks of the worker", names, registry=r
        )
        self.blocks.labels(**labels).set(total_blocks)
        self.cache_usage.labels(**labels).set(0)
        self.inflight.labels(**labels).set(0)
        self.total_blocks = total_blocks
        self.active_tokens = 0
        self.cached_tokens = 0  # prefix cache: prompts of finished requests, up to 30 %

    def update_cache(self) -> None:
        capacity = self.total_blocks * BLOCK_SIZE
        used = min(self.active_tokens + self.cached_tokens, capacity)
        self.cache_usage.labels(**self.labels).set(round(used / capacity, 6) if capacity else 0)


@dataclass
class Traffic:
    """Every frontend's and worker's metrics, and the pacing of answers."""

    scale: float = 1.0  # multiplies every delay: 0.1 answers ten times faster
    lock: threading.Lock = field(default_factory=threading.Lock)
    frontends: dict[tuple[str, str], FrontendMetrics] = field(default_factory=dict)
    workers: dict[tuple[str, str], WorkerMetrics] = field(default_factory=dict)

    def frontend(self, namespace: str, pod: str) -> FrontendMetrics:
        with self.lock:
            key = (namespace, pod)
            if key not in self.frontends:
                self.frontends[key] = FrontendMetrics()
            return self.frontends[key]

    def worker(self, namespace: str, pod: str, labels: dict, total_blocks: int) -> WorkerMetrics:
        with self.lock:
            key = (namespace, pod)
            if key not in self.workers:
                self.workers[key] = WorkerMetrics(labels, total_blocks)
            return self.workers[key]

    def forget(self, live: set[tuple[str, str]]) -> None:
        """Drop the metrics of pods that are gone (a new pod starts from zero)."""
        with self.lock:
            for table in (self.frontends, self.workers):
                for key in [k for k in table if k not in live]:
                    del table[key]

    def _sleep(self, seconds: float) -> None:
        if seconds * self.scale > 0:
            time.sleep(seconds * self.scale)

    def complete(
        self,
        chat: Chat,
        model: Served,
        front: FrontendMetrics,
        worker: WorkerMetrics | None,
    ) -> Iterator[bytes]:
        """The answer's chunks (SSE lines when streamed; one JSON body when not).

        Metrics move as the answer goes: queued until the first token, in flight until the
        end; a client that goes away mid-answer counts as disconnected.
        """
        tokens, finish = chat.answer()
        name = chat.model
        request_type = "stream" if chat.stream else "unary"
        started = time.monotonic()
        created = int(time.time())
        ident = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        front.inflight.labels(name).inc()
        front.queued.labels(name).inc()
        front.context.labels(name).set(model.context)
        front.input_tokens.labels(name).observe(chat.prompt_tokens)
        if worker is not None:
            worker.inflight.labels(**worker.labels).inc()
            worker.requests.labels(**worker.labels).inc()
            with self.lock:
                worker.active_tokens += chat.prompt_tokens
                worker.update_cache()
        queued, finished, sent = True, False, 0
        try:
            # Yielding b"" lets the server notice a client that hung up while we wait.
            yield b""
            self._sleep(model.ttft(chat.prompt_tokens))
            front.queued.labels(name).dec()
            queued = False
            front.ttft.labels(name).observe(time.monotonic() - started)
            base = {"id": ident, "created": created, "model": name}
            if chat.stream:
                yield _sse(
                    {
                        **base,
                        "object": "chat.completion.chunk",
                        "choices": [
                            {
                                "index": 0,
                                "delta": {"role": "assistant", "content": ""},
                                "finish_reason": None,
                            }
                        ],
                    }
                )
            last = time.monotonic()
            for index, token in enumerate(tokens):
                if index:
                    self._sleep(model.itl())
                    now = time.monotonic()
                    front.itl.labels(name).observe(now - last)
                    last = now
                sent += 1
                front.output_total.labels(name).inc()
                if worker is not None:
                    with self.lock:
                        worker.active_tokens += 1
                        worker.update_cache()
                if chat.stream:
                    yield _sse(
                        {
                            **base,
                            "object": "chat.completion.chunk",
                            "choices": [
                                {"index": 0, "delta": {"content": token}, "finish_reason": None}
                            ],
                        }
                    )
                else:
                    yield b""
            usage = {
                "prompt_tokens": chat.prompt_tokens,
                "completion_tokens": len(tokens),
                "total_tokens": chat.prompt_tokens + len(tokens),
            }
            if chat.stream:
                final = {
                    **base,
                    "object": "chat.completion.chunk",
                    "choices": [{"index": 0, "delta": {}, "finish_reason": finish}],
                }
                if chat.include_usage:
                    final["usage"] = usage
                yield _sse(final)
                yield b"data: [DONE]\n\n"
            else:
                yield json.dumps(
                    {
                        **base,
                        "object": "chat.completion",
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": "".join(tokens)},
                                "finish_reason": finish,
                            }
                        ],
                        "usage": usage,
                    }
                ).encode()
            finished = True
        finally:
            elapsed = time.monotonic() - started
            if queued:
                front.queued.labels(name).dec()
            front.inflight.labels(name).dec()
            front.duration.labels(name).observe(elapsed)
            front.output_tokens.labels(name).observe(sent)
            status = "success" if finished else "error"
            front.requests.labels(name, "chat_completions", request_type, status).inc()
            if not finished:
                front.disconnected.labels(name).inc()
            if worker is not None:
                worker.inflight.labels(**worker.labels).dec()
                worker.duration.labels(**worker.labels).observe(elapsed)
                with self.lock:
                    worker.active_tokens -= chat.prompt_tokens + sent
                    capacity = worker.total_blocks * BLOCK_SIZE
                    worker.cached_tokens = min(
                        worker.cached_tokens + chat.prompt_tokens, int(capacity * 0.3)
                    )
                    worker.update_cache()


def _sse(data: dict) -> bytes:
    return b"data: " + json.dumps(data).encode() + b"\n\n"


def exposition(registry: CollectorRegistry) -> bytes:
    """The registry in Prometheus' text format."""
    return generate_latest(registry)
