"""What Dynamote knows about each inference engine and each Dynamo API version (pure data)."""

from __future__ import annotations

from dataclasses import dataclass

API_VERSIONS = ("v1beta1", "v1alpha1")
DEFAULT_API_VERSION = "v1beta1"
GROUP = "nvidia.com"
KIND = "DynamoGraphDeployment"

# The Dynamo release each API version stands for: v1beta1 appeared in Dynamo 1.x, and a
# cluster that serves only v1alpha1 runs Dynamo 0.x, whose runtime images take 0.6's flags.
DYNAMO_RELEASES = {"v1beta1": "1.5.0", "v1alpha1": "0.6.1"}

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

MODES = {"aggregated": "Aggregated", "disaggregated": "Disaggregated (prefill + decode)"}

# vLLM's NIXL connector, set on both roles of a disaggregated vLLM graph in Dynamo 1.x.
VLLM_KV_TRANSFER_CONFIG = '{"kv_connector":"NixlConnector","kv_role":"kv_both"}'

# Dynamo 0.6's SGLang example wires the KV transfer this way; its defaults (mooncake, and a
# bootstrap server bound to localhost) do not work across pods.
SGLANG_V0_DISAGG_ARGS = (
    "--disaggregation-transfer-backend",
    "nixl",
    "--disaggregation-bootstrap-port",
    "12345",
    "--host",
    "0.0.0.0",
)


@dataclass(frozen=True)
class EngineFacts:
    """How one engine's Dynamo worker is started, from the per-engine table."""

    key: str
    label: str
    image_repository: str
    module: str
    working_dir: str
    component_prefix: str
    model_flag: str
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
        if api_version == "v1alpha1":
            if self.key == "vllm":
                # Dynamo 0.6 vLLM: only the prefill worker is marked; NIXL is its default.
                return ["--is-prefill-worker"] if role == "prefill" else []
            args = ["--disaggregation-mode", role]
            if self.key == "sglang":
                args.extend(SGLANG_V0_DISAGG_ARGS)
            return args
        args = ["--disaggregation-mode", role]
        if self.key == "vllm":
            args.extend(["--kv-transfer-config", VLLM_KV_TRANSFER_CONFIG])
        return args


ENGINES: dict[str, EngineFacts] = {
    "vllm": EngineFacts(
        key="vllm",
        label="vLLM",
        image_repository="nvcr.io/nvidia/ai-dynamo/vllm-runtime",
        module="dynamo.vllm",
        working_dir="/workspace/examples/backends/vllm",
        component_prefix="Vllm",
        model_flag="--model",
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
        model_flag="--model-path",
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
        model_flag="--model-path",
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
}

# Environment variables Dynamote sets itself.
MANAGED_ENV: dict[str, str] = {"DYN_ROUTER_MODE": "routerMode"}
