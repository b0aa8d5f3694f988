"""What the simulated kubelet knows about Dynamo workers: engine, model size, start-up logs."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .clock import rfc3339

_SIZE_RE = re.compile(r"(?<![A-Za-z0-9.])(\d+(?:\.\d+)?)\s*[bB](?![A-Za-z])")
_EXPERTS_RE = re.compile(r"(\d+)x(\d+(?:\.\d+)?)[bB]")
DEFAULT_PARAMS_B = 8.0


@dataclass(frozen=True)
class Workload:
    """The engine and model one container runs, read from its command and args."""

    engine: str  # vllm | sglang | trtllm | frontend | planner | mocker | generic
    model: str
    tensor_parallel: int

    @property
    def params_b(self) -> float:
        """Model size in billions of parameters, from the model id (8B, 70B, 8x7B), else 8."""
        experts = _EXPERTS_RE.search(self.model)
        if experts:
            return int(experts.group(1)) * float(experts.group(2))
        found = _SIZE_RE.search(self.model.rsplit("/", 1)[-1])
        return float(found.group(1)) if found else DEFAULT_PARAMS_B

    @property
    def load_seconds(self) -> float:
        """Time from container start to Ready: grows with the weights to load."""
        if self.engine in ("frontend", "planner", "generic"):
            return 3.0
        if self.engine == "mocker":
            return 2.0
        return round(8.0 + 2.0 * self.params_b, 1)


def _flag(args: list[str], *names: str) -> str | None:
    for index, arg in enumerate(args):
        for name in names:
            if arg == name and index + 1 < len(args):
                return args[index + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def workload(component_type: str, command: list[str], args: list[str]) -> Workload:
    """Identify the engine and model of a container."""
    words = [*command, *args]
    # Container args are often one shell string ("python3 -m dynamo.vllm --model ...").
    if len(words) <= 3:
        words = " ".join(words).split()
    joined = " ".join(words)
    engine = "generic"
    for name in ("vllm", "sglang", "trtllm", "frontend", "planner", "mocker"):
        if f"dynamo.{name}" in joined:
            engine = name
            break
    if engine == "generic" and component_type == "frontend":
        engine = "frontend"
    model = _flag(words, "--model", "--model-path", "--served-model-name") or ""
    tp = _flag(words, "--tensor-parallel-size", "--tp", "--tp-size") or "1"
    return Workload(engine, model, int(tp) if tp.isdigit() else 1)


def startup_log(work: Workload, started_at: float, ready_at: float) -> list[tuple[float, str]]:
    """Timed start-up log lines of a container started at started_at, ready at ready_at."""
    span = max(ready_at - started_at, 0.5)
    model = work.model or "model"
    gib = round(work.params_b * 2 / max(work.tensor_parallel, 1), 2)
    steps: list[tuple[float, str]]
    if work.engine == "vllm":
        steps = [
            (0.0, "Automatically detected platform cuda."),
            (0.05, f"dynamo.vllm: starting worker for {model}"),
            (
                0.1,
                f"Initializing a V1 LLM engine with config: model='{model}', "
                f"tensor_parallel_size={work.tensor_parallel}, dtype=torch.bfloat16",
            ),
            (0.2, f"Starting to load model {model}..."),
            (0.3, "Loading safetensors checkpoint shards:   0% Completed"),
            (0.7, "Loading safetensors checkpoint shards: 100% Completed"),
            (0.72, f"Model loading took {gib} GiB and {span * 0.5:.1f} seconds"),
            (0.8, "Available KV cache memory: 58.31 GiB"),
            (0.9, "Capturing CUDA graphs (mixed prefill-decode, PIECEWISE): 100%"),
            (0.98, "Graph capturing finished in 4 secs"),
            (1.0, f"Registered endpoint 'generate' for model {model}; worker ready"),
        ]
        return [
            (started_at + f * span, f"INFO {_vllm_time(started_at + f * span)} {t}")
            for f, t in steps
        ]
    if work.engine == "sglang":
        steps = [
            (0.0, f"server_args=ServerArgs(model_path='{model}', tp_size={work.tensor_parallel})"),
            (0.1, "Init torch distributed begin."),
            (0.2, "Load weight begin. avail mem=78.52 GB"),
            (0.7, f"Load weight end. type=Qwen3ForCausalLM, mem usage={gib} GB."),
            (0.8, "KV Cache is allocated. #tokens: 512000"),
            (0.9, "Capture cuda graph begin. This can take up to several minutes."),
            (0.97, "Capture cuda graph end."),
            (1.0, "The server is fired up and ready to roll!"),
        ]
        return [
            (started_at + f * span, f"[{rfc3339(started_at + f * span)}] {t}") for f, t in steps
        ]
    if work.engine == "trtllm":
        steps = [
            (0.0, "[TensorRT-LLM] TensorRT-LLM version: 1.1.0"),
            (0.1, f"Loading model {model} (tp_size={work.tensor_parallel})"),
            (0.6, f"Loaded weights: {gib} GiB"),
            (0.8, "[TRT-LLM] [I] max_num_tokens=8192, max_batch_size=2048"),
            (0.95, "Executor instance created"),
            (1.0, f"dynamo.trtllm: worker ready, serving {model}"),
        ]
        return [
            (started_at + f * span, f"[{rfc3339(started_at + f * span)}] {t}") for f, t in steps
        ]
    if work.engine == "frontend":
        steps = [
            (0.0, "dynamo.frontend: starting OpenAI-compatible HTTP service"),
            (0.5, "Router mode: round-robin"),
            (1.0, "HTTP service listening on 0.0.0.0:8000"),
        ]
    else:
        steps = [(0.0, f"dynamo.{work.engine}: starting"), (1.0, f"dynamo.{work.engine}: ready")]
    return [(started_at + f * span, f"{rfc3339(started_at + f * span)} INFO {t}") for f, t in steps]


def _vllm_time(seconds: float) -> str:
    stamp = rfc3339(seconds)  # 2026-11-26T08:52:37Z -> 11-26 08:52:37
    return f"{stamp[5:10]} {stamp[11:19]}"
