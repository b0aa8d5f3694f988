"""What the simulated kubelet knows about Dynamo workers: engine, model size, start-up logs.

Also the sandbox's simulated container registry (which images can be pulled) and each
engine's command-line flags (an unknown one makes the worker exit, as argparse does).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from functools import lru_cache

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
    # Arguments the engine's parser does not know: the worker exits with code 2 at start.
    unrecognized: tuple[str, ...] = ()

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


def workload(component_type: str, command: list[str], args: list[str], line: str = "1") -> Workload:
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
    unknown = unrecognized_arguments(engine, tuple(words), line) if engine in ENGINE_FLAGS else ()
    return Workload(engine, model, int(tp) if tp.isdigit() else 1, unknown)


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


# --- the simulated registry -------------------------------------------------------------------

DYNAMO_REGISTRY = "nvcr.io/nvidia/ai-dynamo"
RUNTIME_REPOSITORIES = {
    "vllm": f"{DYNAMO_REGISTRY}/vllm-runtime",
    "sglang": f"{DYNAMO_REGISTRY}/sglang-runtime",
    "trtllm": f"{DYNAMO_REGISTRY}/tensorrtllm-runtime",
}
# Dynamo releases whose runtime images the registry holds (0.x serve v1alpha1, 1.x v1beta1).
DYNAMO_RELEASES = (
    "0.5.0",
    "0.5.1",
    "0.6.0",
    "0.6.1",
    "0.7.0",
    "0.7.1",
    "1.0.0",
    "1.1.0",
    "1.2.0",
    "1.3.0",
    "1.4.0",
)
# 1.5.0 is in development: its runtime images are not published, so pulling them fails.
LATEST_RELEASE = DYNAMO_RELEASES[-1]
# Dynamo's published example manifests name a placeholder tag; they deploy as written.
EXAMPLE_TAG = "my-tag"
# A registry on the machine itself (an image you built and pushed there) always has it.
LOCAL_REGISTRIES = ("localhost", "127.0.0.1")


def _split_image(image: str) -> tuple[str, str, str]:
    """(registry host, repository with host, tag or digest) of an image reference."""
    name, _, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = ""
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
    first = name.split("/", 1)[0]
    host = first if "/" in name and ("." in first or ":" in first or first == "localhost") else ""
    return host.split(":", 1)[0], name, digest or tag or "latest"


def image_available(image: str, extra: frozenset[str] | set[str] = frozenset()) -> bool:
    """Whether the simulated registry can serve an image.

    It holds the Dynamo runtime images (vllm, sglang, tensorrtllm) at DYNAMO_RELEASES, the
    placeholder tag of Dynamo's examples, and every image the cluster file lists under
    `images:` (an entry without a tag stands for every tag of that repository); an image from
    a registry on localhost/127.0.0.1 is always there. Anything else is not found.
    """
    host, repository, tag = _split_image(image)
    if host in LOCAL_REGISTRIES or tag == EXAMPLE_TAG:
        return True
    if repository in RUNTIME_REPOSITORIES.values() and tag in DYNAMO_RELEASES:
        return True
    return image in extra or repository in extra


def pull_error(image: str) -> str:
    """containerd's answer for an image the registry does not have."""
    return f'rpc error: code = NotFound desc = failed to pull and unpack image "{image}": not found'


# --- engine flags -----------------------------------------------------------------------------

# Flags every Dynamo worker takes, whatever the engine.
_DYNAMO_FLAGS = (
    "-h",
    "--help",
    "--endpoint",
    "--migration-limit",
    "--dyn-tool-call-parser",
    "--dyn-reasoning-parser",
    "--custom-jinja-template",
    "--store-kv",
    "--request-plane",
    "--disaggregation-mode",
    "--kv-events-config",
)
# Per engine: the flags Dynamote writes (deployments/engines.py and manifests.worker_args,
# copied by name only), then common flags of the engine itself.
ENGINE_FLAGS: dict[str, frozenset[str]] = {
    "vllm": frozenset(
        (
            *_DYNAMO_FLAGS,
            # Dynamote
            "--model",
            "--served-model-name",
            "--tensor-parallel-size",
            "-tp",
            "--max-model-len",
            "--trust-remote-code",
            "--no-trust-remote-code",
            "--enforce-eager",
            "--no-enforce-eager",
            "--enable-prefix-caching",
            "--no-enable-prefix-caching",
            "--is-prefill-worker",
            "--kv-transfer-config",
            # vLLM
            "--gpu-memory-utilization",
            "--max-num-seqs",
            "--max-num-batched-tokens",
            "--dtype",
            "--quantization",
            "-q",
            "--kv-cache-dtype",
            "--block-size",
            "--enable-chunked-prefill",
            "--no-enable-chunked-prefill",
            "--pipeline-parallel-size",
            "-pp",
            "--data-parallel-size",
            "-dp",
            "--enable-expert-parallel",
            "--reasoning-parser",
            "--tool-call-parser",
            "--enable-auto-tool-choice",
            "--chat-template",
            "--seed",
            "--swap-space",
            "--cpu-offload-gb",
            "--load-format",
            "--download-dir",
            "--revision",
            "--tokenizer",
            "--tokenizer-mode",
            "--max-logprobs",
            "--disable-log-requests",
            "--disable-log-stats",
            "--generation-config",
            "--limit-mm-per-prompt",
            "--max-seq-len-to-capture",
            "--compilation-config",
            "-O",
            "--speculative-config",
            "--hf-overrides",
            "--override-generation-config",
            "--async-scheduling",
            "--connector",
        )
    ),
    "sglang": frozenset(
        (
            *_DYNAMO_FLAGS,
            # Dynamote
            "--model-path",
            "--served-model-name",
            "--tp",
            "--tp-size",
            "--tensor-parallel-size",
            "--context-length",
            "--trust-remote-code",
            "--disable-cuda-graph",
            "--disable-radix-cache",
            "--disaggregation-transfer-backend",
            "--disaggregation-bootstrap-port",
            "--host",
            # SGLang
            "--port",
            "--mem-fraction-static",
            "--chunked-prefill-size",
            "--max-running-requests",
            "--max-total-tokens",
            "--max-prefill-tokens",
            "--dtype",
            "--quantization",
            "--kv-cache-dtype",
            "--reasoning-parser",
            "--tool-call-parser",
            "--page-size",
            "--ep-size",
            "--dp-size",
            "--pp-size",
            "--enable-dp-attention",
            "--skip-tokenizer-init",
            "--use-sglang-tokenizer",
            "--schedule-policy",
            "--attention-backend",
            "--cuda-graph-max-bs",
            "--enable-torch-compile",
            "--random-seed",
            "--chat-template",
            "--tokenizer-path",
            "--revision",
            "--load-format",
            "--log-level",
            "--enable-metrics",
            "--stream-interval",
            "--speculative-algorithm",
            "--disaggregation-ib-device",
        )
    ),
    "trtllm": frozenset(
        (
            *_DYNAMO_FLAGS,
            # Dynamote
            "--model",
            "--model-path",
            "--served-model-name",
            "--tensor-parallel-size",
            "--max-seq-len",
            "--publish-kv-events",
            # TensorRT-LLM
            "--extra-engine-args",
            "--override-engine-args",
            "--pipeline-parallel-size",
            "--expert-parallel-size",
            "--max-batch-size",
            "--max-num-tokens",
            "--max-beam-width",
            "--free-gpu-memory-fraction",
            "--kv-block-size",
            "--publish-events-and-metrics",
            "--disaggregation-strategy",
            "--next-endpoint",
            "--encode-endpoint",
            "--modality",
            "--gpus-per-node",
            "--tokenizer",
        )
    ),
}
# What each Dynamo release line changed (from upstream's argument parsers per release):
# 1.x dropped vLLM's --is-prefill-worker for --disaggregation-mode, and TensorRT-LLM took
# --model (keeping --model-path as an obsolete alias) and --publish-kv-events (keeping
# --publish-events-and-metrics as a deprecated alias).
_ONLY_IN = {
    "0": {"vllm": {"--is-prefill-worker"}, "trtllm": set()},
    "1": {"vllm": {"--disaggregation-mode"}, "trtllm": {"--model", "--publish-kv-events"}},
}


def release_line(image: str, api_version: str) -> str:
    """The Dynamo release line ("0" or "1") a runtime image runs: from its tag, else from the
    DGD's version (v1alpha1-only clusters run Dynamo 0.x)."""
    tag = _split_image(image)[2]
    match = re.match(r"v?(\d+)\.\d+", tag)
    if match:
        return "0" if match.group(1) == "0" else "1"
    return "0" if api_version.endswith("v1alpha1") else "1"


def engine_flags(engine: str, line: str) -> frozenset[str]:
    """The flags `python3 -m dynamo.<engine>` of a release line accepts."""
    other = "1" if line == "0" else "0"
    return ENGINE_FLAGS[engine] - _ONLY_IN[other].get(engine, set())


_SHELL_SEPARATORS = {"&&", "||", ";", "|", "&"}
_NUMBER = re.compile(r"-\.?\d")


@lru_cache(maxsize=1024)
def unrecognized_arguments(engine: str, words: tuple[str, ...], line: str = "1") -> tuple[str, ...]:
    """The arguments after `-m dynamo.<engine>` its parser would reject, as argparse lists them.

    A flag is known by its name before any "="; vLLM also reads underscores as dashes.
    Words that do not start with "-" are values: of a known flag they are consumed, after an
    unknown flag argparse cannot place them either, so they are listed with it.
    """
    known = engine_flags(engine, line) if engine in ENGINE_FLAGS else None
    module = f"dynamo.{engine}"
    if known is None or module not in words:
        return ()
    args: list[str] = []
    for word in words[words.index(module) + 1 :]:
        if word in _SHELL_SEPARATORS:
            break
        args.append(word)
    if len(args) == 1 and " " in args[0]:
        try:
            args = shlex.split(args[0])
        except ValueError:
            args = args[0].split()
    unknown: list[str] = []
    after_unknown = False
    for word in args:
        if not word.startswith("-") or word == "-" or _NUMBER.match(word):
            if after_unknown:
                unknown.append(word)
            continue
        name = word.split("=", 1)[0]
        if engine == "vllm" and name.startswith("--"):
            name = "--" + name[2:].replace("_", "-")
        after_unknown = name not in known
        if after_unknown:
            unknown.append(word)
    return tuple(unknown)


_PROGRAM = "__main__.py"


def crash_log(work: Workload, started_at: float, exited_at: float) -> list[tuple[float, str]]:
    """Timed log lines of a worker that rejects its arguments: start-up, then argparse's usage."""
    span = max(exited_at - started_at, 0.1)
    model = work.model or "model"
    if work.engine == "vllm":
        head = [
            (0.0, f"INFO {_vllm_time(started_at)} Automatically detected platform cuda."),
            (0.4, f"INFO {_vllm_time(started_at + 0.4 * span)} dynamo.vllm: parsing arguments"),
        ]
        usage = (
            "[-h] [--model MODEL] [--served-model-name SERVED_MODEL_NAME [...]] "
            "[--tensor-parallel-size TENSOR_PARALLEL_SIZE] [--max-model-len MAX_MODEL_LEN] ..."
        )
    elif work.engine == "sglang":
        head = [
            (0.0, f"[{rfc3339(started_at)}] dynamo.sglang: starting worker for {model}"),
            (0.4, f"[{rfc3339(started_at + 0.4 * span)}] dynamo.sglang: parsing arguments"),
        ]
        usage = (
            "[-h] --model-path MODEL_PATH [--served-model-name SERVED_MODEL_NAME] "
            "[--tp-size TP_SIZE] [--context-length CONTEXT_LENGTH] ..."
        )
    else:
        head = [
            (0.0, f"[{rfc3339(started_at)}] [TensorRT-LLM] TensorRT-LLM version: 1.1.0"),
            (0.4, f"[{rfc3339(started_at + 0.4 * span)}] dynamo.trtllm: parsing arguments"),
        ]
        usage = (
            "[-h] [--model-path MODEL_PATH] [--served-model-name SERVED_MODEL_NAME] "
            "[--tensor-parallel-size TENSOR_PARALLEL_SIZE] [--max-seq-len MAX_SEQ_LEN] ..."
        )
    tail = [
        (1.0, f"usage: {_PROGRAM} {usage}"),
        (1.0, f"{_PROGRAM}: error: unrecognized arguments: {' '.join(work.unrecognized)}"),
    ]
    return [(started_at + f * span, text) for f, text in [*head, *tail]]
