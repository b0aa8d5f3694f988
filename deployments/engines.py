"""What Dynamote knows about each inference engine and each Dynamo API version (pure data)."""

from __future__ import annotations

import re
from dataclasses import dataclass

API_VERSIONS = ("v1beta1", "v1alpha1")
DEFAULT_API_VERSION = "v1beta1"
GROUP = "nvidia.com"
KIND = "DynamoGraphDeployment"


ROUTER_MODES: dict[str, list[str]] = {
    "v1beta1": [
        "round-robin",
        "random",
        "power-of-two",
        "kv",
        "direct",
        "least-loaded",
        "device-aware-weighted",
    ],
    "v1alpha1": ["round-robin", "random", "kv"],
}
DEFAULT_ROUTER_MODE = "round-robin"


@dataclass(frozen=True)
class ReleaseLine:
    """One Dynamo release line: the DGD version it is built for, its flags, its runtime images."""

    key: str
    # Releases from `first` up to (not including) `until`, as (major, minor).
    first: tuple[int, int]
    until: tuple[int, int]
    # The DGD version Dynamote writes for it; the engines' flags follow it (0.6's or 1.x's).
    api_version: str
    # Runtime image tags published on nvcr.io, oldest first; empty while in development.
    published: tuple[str, ...]
    note: str = ""

    def holds(self, release: tuple[int, int, int]) -> bool:
        return self.first <= release[:2] < self.until


# The release table: every line Dynamote knows. A cluster that serves only v1alpha1 runs
# Dynamo 0.x, whose runtime images take 0.6's flags; v1beta1 appeared in Dynamo 1.x.
DYNAMO_RELEASES: dict[str, ReleaseLine] = {
    line.key: line
    for line in (
        ReleaseLine(
            "0.6",
            (0, 0),
            (1, 0),
            "v1alpha1",
            ("0.6.0", "0.6.1"),
            "vLLM marks the prefill worker with --is-prefill-worker; TensorRT-LLM takes "
            "--model-path; router modes round-robin, random, kv.",
        ),
        ReleaseLine(
            "1.0-1.4",
            (1, 0),
            (1, 5),
            "v1beta1",
            ("1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0"),
            "--disaggregation-mode on both halves; TensorRT-LLM takes --model.",
        ),
        ReleaseLine(
            "1.5",
            (1, 5),
            (99, 0),
            "v1beta1",
            (),
            "In development: no runtime images are published yet.",
        ),
    )
}


def newest_published(api_version: str) -> str:
    """The newest published release Dynamote knows for a DGD version: the default image tag."""
    tags = [
        tag
        for line in DYNAMO_RELEASES.values()
        if line.api_version == api_version
        for tag in line.published
    ]
    return max(tags, key=parse_release) if tags else newest_published(DEFAULT_API_VERSION)


def parse_release(text: str) -> tuple[int, int, int]:
    """(major, minor, patch) of a release tag such as 1.4.0, v1.4.0 or 1.4.0-cuda13; or ()."""
    found = _RELEASE.match(text.strip())
    if not found:
        return ()  # type: ignore[return-value]
    major, minor, patch = found.groups()
    return int(major), int(minor), int(patch or 0)


def release_line(text: str) -> ReleaseLine | None:
    """The release line a tag belongs to."""
    release = parse_release(text)
    if not release:
        return None
    return next((line for line in DYNAMO_RELEASES.values() if line.holds(release)), None)


_RELEASE = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+][0-9A-Za-z.-]*)?$")


@dataclass(frozen=True)
class Release:
    """The Dynamo release new deployments are built for, and why."""

    line: ReleaseLine
    # The runtime image tag new deployments get.
    image_tag: str
    # Where it came from: "operator", "setting", "api-version" or "offline".
    source: str
    reason: str

    @property
    def summary(self) -> str:
        return f"Dynamo {self.line.key} line, runtime images {self.image_tag}"


def resolve_release(
    *, api_version: str, operator_image: str = "", configured: str | None = None, why_not: str = ""
) -> Release:
    """The release: the operator's image tag, else DYNAMOTE_DYNAMO_VERSION, else the API version.

    The setting counts only when it is of the generation the served DGD versions show (0.x
    for a v1alpha1-only cluster, 1.x otherwise); a release newer than the newest published
    one Dynamote knows keeps its line's flags but the newest published runtime images.
    """
    newest = newest_published(api_version)
    if configured == newest:
        configured = None  # the setting's default says nothing about the cluster
    tag = operator_image.rpartition(":")[2] if ":" in operator_image.rsplit("/", 1)[-1] else ""
    line = release_line(tag) if tag else None
    if line is not None and line.api_version == api_version:
        image_tag, reason = _image_tag(tag, line, newest, operator_image)
        return Release(line, image_tag, "operator", reason)
    lead = f"{why_not} " if why_not else ""
    if operator_image and line is None:
        lead = f"The operator image {operator_image} names no release Dynamote knows. "
    line = release_line(configured or "")
    if configured and line is not None and line.api_version == api_version:
        image_tag, reason = _image_tag(configured, line, newest, "")
        return Release(line, image_tag, "setting", lead + reason)
    line = release_line(newest) or DYNAMO_RELEASES["1.0-1.4"]
    ignored = (
        f"; DYNAMOTE_DYNAMO_VERSION {configured} is of another generation" if configured else ""
    )
    generation = line.key.split(".", 1)[0]
    return Release(
        line,
        newest,
        "api-version",
        f"{lead}Runtime images {newest}, the newest published Dynamo {generation}.x release "
        f"Dynamote knows (served API version {api_version} → {newest}{ignored}); set "
        "DYNAMOTE_DYNAMO_VERSION to the release your cluster's platform runs.",
    )


def _image_tag(tag: str, line: ReleaseLine, newest: str, operator: str) -> tuple[str, str]:
    """The runtime tag for a release (from the operator image, else the setting), and why."""
    source = f"operator image {operator}" if operator else "DYNAMOTE_DYNAMO_VERSION"
    if parse_release(tag) > parse_release(newest):
        return newest, (
            f"Dynamo {tag} ({source}) takes the {line.key} line's flags; its runtime images are "
            f"not published, so they stay at {newest}, the newest published release "
            "Dynamote knows."
        )
    if operator:
        return tag, f"Runtime images {tag}, as the operator image {operator} says."
    return tag, f"Runtime images {tag}, as DYNAMOTE_DYNAMO_VERSION says."


MODES = {"aggregated": "Aggregated", "disaggregated": "Disaggregated (prefill + decode)"}

# vLLM's NIXL connector, set on both roles of a disaggregated vLLM graph in Dynamo 1.x.
VLLM_KV_TRANSFER_CONFIG = '{"kv_connector":"NixlConnector","kv_role":"kv_both"}'

# Upstream's SGLang examples (0.6 and 1.x) wire the KV transfer this way; SGLang's defaults
# (mooncake, and a bootstrap server bound to localhost) do not work across pods.
SGLANG_DISAGG_ARGS = (
    "--disaggregation-transfer-backend",
    "nixl",
    "--disaggregation-bootstrap-port",
    "12345",
    "--host",
    "0.0.0.0",
)

# KV-aware routing needs every worker to publish its KV-cache events (Dynamo 1.x flags; on
# 0.6, vLLM and SGLang publish by default, as its KV-router examples show).
VLLM_KV_EVENTS_CONFIG = (
    '{"publisher":"zmq","topic":"kv-events","endpoint":"tcp://*:20080",'
    '"enable_kv_cache_events":true}'
)
SGLANG_KV_EVENTS_CONFIG = '{"publisher":"zmq","topic":"kv-events","endpoint":"tcp://*:5557"}'
# SGLang's KV events are per page; upstream's KV-router examples use pages of 16 tokens.
SGLANG_KV_PAGE_SIZE = "16"

# TensorRT-LLM hands the KV cache from prefill to decode only when the engine configuration
# sets cache_transceiver_config; upstream's prefill config also turns the overlap scheduler
# off, which prefill-only workers do not support. Dynamote passes these inline.
TRTLLM_DISAGG_ENGINE_ARGS: dict[str, dict] = {
    "prefill": {
        "cache_transceiver_config": {"backend": "DEFAULT"},
        "disable_overlap_scheduler": True,
    },
    "decode": {"cache_transceiver_config": {"backend": "DEFAULT"}},
}


@dataclass(frozen=True)
class EngineFacts:
    """How one engine's Dynamo worker is started, from the per-engine table."""

    key: str
    label: str
    image_repository: str
    module: str
    working_dir: str
    component_prefix: str
    # The model flag per API version (TensorRT-LLM renamed --model-path to --model in 1.x).
    model_flags: dict[str, str]
    # SGLang and TensorRT-LLM need the served name spelled out; vLLM defaults it to --model.
    always_served_model_name: bool
    tp_flag: str
    context_length_flag: str
    trust_remote_code_flag: str | None
    enforce_eager_flag: str | None
    no_prefix_caching_flag: str | None

    @property
    def command(self) -> list[str]:
        return ["python3", "-m", self.module]

    def model_flag(self, api_version: str) -> str:
        return self.model_flags[api_version]

    def image(self, tag: str) -> str:
        return f"{self.image_repository}:{tag}"

    @property
    def options(self) -> dict[str, bool]:
        """Which of the config's engine options this engine takes on its command line."""
        return {
            "trustRemoteCode": self.trust_remote_code_flag is not None,
            "enforceEager": self.enforce_eager_flag is not None,
            "enablePrefixCaching": self.no_prefix_caching_flag is not None,
        }

    def component_name(self, role: str) -> str:
        """Upstream-style component names: VllmWorker, VllmPrefillWorker, VllmDecodeWorker."""
        infix = {"worker": "", "prefill": "Prefill", "decode": "Decode"}[role]
        return f"{self.component_prefix}{infix}Worker"

    def disaggregation_args(self, role: str, api_version: str) -> list[str]:
        """The flags that make a worker the prefill or the decode half of a graph."""
        if self.key == "vllm":
            if api_version == "v1alpha1":
                # Dynamo 0.6 vLLM: only the prefill worker is marked; NIXL is its default.
                return ["--is-prefill-worker"] if role == "prefill" else []
            return ["--disaggregation-mode", role, "--kv-transfer-config", VLLM_KV_TRANSFER_CONFIG]
        args = ["--disaggregation-mode", role]
        if self.key == "sglang":
            args.extend(SGLANG_DISAGG_ARGS)
        if self.key == "trtllm" and api_version == "v1alpha1":
            # Dynamo 0.6's example: the request goes to decode first, which asks prefill.
            args.extend(["--disaggregation-strategy", "decode_first"])
        return args

    def kv_events_args(self, api_version: str) -> list[str]:
        """The flags that make a worker publish KV-cache events, for KV-aware routing."""
        if self.key == "trtllm":
            flag = (
                "--publish-events-and-metrics"
                if api_version == "v1alpha1"
                else "--publish-kv-events"
            )
            return [flag]
        if api_version == "v1alpha1":
            return ["--page-size", SGLANG_KV_PAGE_SIZE] if self.key == "sglang" else []
        if self.key == "sglang":
            return [
                "--page-size",
                SGLANG_KV_PAGE_SIZE,
                "--kv-events-config",
                SGLANG_KV_EVENTS_CONFIG,
            ]
        return ["--kv-events-config", VLLM_KV_EVENTS_CONFIG]


ENGINES: dict[str, EngineFacts] = {
    "vllm": EngineFacts(
        key="vllm",
        label="vLLM",
        image_repository="nvcr.io/nvidia/ai-dynamo/vllm-runtime",
        module="dynamo.vllm",
        working_dir="/workspace/examples/backends/vllm",
        component_prefix="Vllm",
        model_flags={"v1alpha1": "--model", "v1beta1": "--model"},
        always_served_model_name=False,
        tp_flag="--tensor-parallel-size",
        context_length_flag="--max-model-len",
        trust_remote_code_flag="--trust-remote-code",
        enforce_eager_flag="--enforce-eager",
        no_prefix_caching_flag="--no-enable-prefix-caching",
    ),
    "sglang": EngineFacts(
        key="sglang",
        label="SGLang",
        image_repository="nvcr.io/nvidia/ai-dynamo/sglang-runtime",
        module="dynamo.sglang",
        working_dir="/workspace/examples/backends/sglang",
        component_prefix="SGLang",
        model_flags={"v1alpha1": "--model-path", "v1beta1": "--model-path"},
        always_served_model_name=True,
        tp_flag="--tp",
        context_length_flag="--context-length",
        trust_remote_code_flag="--trust-remote-code",
        enforce_eager_flag="--disable-cuda-graph",
        no_prefix_caching_flag="--disable-radix-cache",
    ),
    "trtllm": EngineFacts(
        key="trtllm",
        label="TensorRT-LLM",
        image_repository="nvcr.io/nvidia/ai-dynamo/tensorrtllm-runtime",
        module="dynamo.trtllm",
        working_dir="/workspace/",
        component_prefix="TRTLLM",
        model_flags={"v1alpha1": "--model-path", "v1beta1": "--model"},
        always_served_model_name=True,
        tp_flag="--tensor-parallel-size",
        context_length_flag="--max-seq-len",
        # TensorRT-LLM takes these through its engine config YAML, not the command line.
        trust_remote_code_flag=None,
        enforce_eager_flag=None,
        no_prefix_caching_flag=None,
    ),
}

# Flags Dynamote sets itself, on any engine, and the config field that controls each one.
# Compared after folding underscores into dashes, as the engines' argument parsers do.
MANAGED_FLAGS: dict[str, str] = {
    "--model": "modelId",
    "--model-path": "modelId",
    "--served-model-name": "servedModelName",
    "--tensor-parallel-size": "tensorParallelSize",
    "-tp": "tensorParallelSize",
    "--tp": "tensorParallelSize",
    "--tp-size": "tensorParallelSize",
    "--max-model-len": "contextLength",
    "--context-length": "contextLength",
    "--max-seq-len": "contextLength",
    "--trust-remote-code": "trustRemoteCode",
    "--no-trust-remote-code": "trustRemoteCode",
    "--enforce-eager": "enforceEager",
    "--no-enforce-eager": "enforceEager",
    "--disable-cuda-graph": "enforceEager",
    "--enable-prefix-caching": "enablePrefixCaching",
    "--no-enable-prefix-caching": "enablePrefixCaching",
    "--disable-radix-cache": "enablePrefixCaching",
    "--disaggregation-mode": "mode",
    "--is-prefill-worker": "mode",
    "--kv-transfer-config": "mode",
    "--disaggregation-strategy": "mode",
    "--kv-events-config": "routerMode",
    "--publish-kv-events": "routerMode",
    "--publish-events-and-metrics": "routerMode",
}

# Environment variables Dynamote sets itself.
MANAGED_ENV: dict[str, str] = {"DYN_ROUTER_MODE": "routerMode"}
