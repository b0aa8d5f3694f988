"""Against upstream: a config describing each example builds the same deployment.

Where Dynamote deliberately differs, the difference is spelled out here:

- Dynamote always passes the tensor-parallel size (vLLM's examples leave it at its default
  of 1), so the engine and the GPU limit visibly agree.
- The frontend always carries DYN_ROUTER_MODE (round-robin when not chosen), and the Hugging
  Face Secret whenever one is set, since the frontend also reads the tokenizer from the hub.
- Component names say the role: upstream names the aggregated vLLM worker
  VllmDecodeWorker and SGLang's workers plain `decode`/`prefill`; Dynamote uses VllmWorker,
  SGLangWorker, SGLangPrefillWorker and so on (the type fields are the same).
- Upstream's per-example tuning (SGLang's --page-size and --skip-tokenizer-init, KV events)
  is not a Dynamote default; the configs below pass it as engine args.
- TensorRT-LLM's example points each role at its own engine config file inside the image;
  Dynamote gives both roles the same engine args, so those per-role paths are not compared.
- On v1alpha1 Dynamote always marks disaggregated workers with subComponentType, as 0.6's
  vllm-disagg example does (its disagg_router example leaves it out).
- Upstream's 2Gi ephemeral-storage request is not set: Dynamote requests only CPU and memory.
"""

import pytest

from deployments.manifests import build_manifest, parse_config

from .conftest import QWEN3_0_6B, upstream_example
from .views import components

SGLANG_TUNING = ["--page-size", "16", "--skip-tokenizer-init"]

EXAMPLES = {
    ("v1alpha1", "vllm-agg.yaml"): {"engine": "vllm", "mode": "aggregated"},
    ("v1alpha1", "vllm-disagg.yaml"): {"engine": "vllm", "mode": "disaggregated"},
    ("v1alpha1", "vllm-disagg_router.yaml"): {
        "engine": "vllm",
        "mode": "disaggregated",
        "routerMode": "kv",
        "prefillReplicas": 1,
        "decodeReplicas": 2,
    },
    ("v1alpha1", "sglang-agg.yaml"): {
        "engine": "sglang",
        "mode": "aggregated",
        "trustRemoteCode": True,
        "engineArgs": SGLANG_TUNING,
    },
    ("v1alpha1", "sglang-disagg.yaml"): {
        "engine": "sglang",
        "mode": "disaggregated",
        "trustRemoteCode": True,
        "engineArgs": SGLANG_TUNING,
    },
    ("v1beta1", "vllm-agg.yaml"): {"engine": "vllm", "mode": "aggregated"},
    ("v1beta1", "vllm-disagg.yaml"): {"engine": "vllm", "mode": "disaggregated"},
    ("v1beta1", "sglang-agg_router.yaml"): {
        "engine": "sglang",
        "mode": "aggregated",
        "routerMode": "kv",
        "trustRemoteCode": True,
        "engineArgs": [
            *SGLANG_TUNING,
            "--kv-events-config",
            '{"publisher":"zmq","topic":"kv-events","endpoint":"tcp://*:5557"}',
        ],
    },
    ("v1beta1", "trtllm-disagg.yaml"): {"engine": "trtllm", "mode": "disaggregated"},
}

# Flags whose values are per-role file paths inside the image (see the module docstring).
NOT_COMPARED = {"--extra-engine-args"}
TP_FLAGS = {"--tensor-parallel-size", "--tp"}


def flags(args: list[str]) -> dict[str, str | None]:
    """An argument list as {flag: value}, None for switches."""
    parsed: dict[str, str | None] = {}
    index = 0
    while index < len(args):
        flag = args[index]
        assert flag.startswith("-"), f"unexpected positional argument {flag!r}"
        has_value = index + 1 < len(args) and not args[index + 1].startswith("--")
        parsed[flag] = args[index + 1] if has_value else None
        index += 2 if has_value else 1
    return {flag: value for flag, value in parsed.items() if flag not in NOT_COMPARED}


def test_every_example_has_a_config():
    from .conftest import require_shared

    root = require_shared() / "examples"
    on_disk = {(path.parent.name, path.name) for path in root.glob("*/*.yaml")}
    assert on_disk == set(EXAMPLES)


@pytest.mark.parametrize(
    ("version", "example"), sorted(EXAMPLES), ids=[f"{v}/{e}" for v, e in sorted(EXAMPLES)]
)
def test_same_deployment_as_upstream(version, example):
    upstream = upstream_example(version, example)
    theirs = components(upstream)
    worker_image = next(c.image for c in theirs.values() if c.role != "frontend")
    data = {
        **EXAMPLES[(version, example)],
        "apiVersion": version,
        "name": upstream["metadata"]["name"],
        "hfTokenSecret": "hf-token-secret",
        "image": worker_image,
    }
    config = parse_config(data, model=QWEN3_0_6B)
    manifest = build_manifest(config, QWEN3_0_6B, image_tag="unused")
    ours = components(manifest)

    assert manifest["apiVersion"] == upstream["apiVersion"]
    assert set(ours) == set(theirs), "component types"
    for role, their in theirs.items():
        our = ours[role]
        assert our.replicas == their.replicas, role
        assert our.image == their.image, role
        assert our.command == their.command, role
        assert our.gpus == their.gpus, role
        if role == "frontend":
            assert set(their.secrets) <= set(our.secrets)
            assert our.env["DYN_ROUTER_MODE"] == their.env.get("DYN_ROUTER_MODE", "round-robin")
            continue
        assert our.secrets == their.secrets, role
        our_flags, their_flags = flags(our.args), flags(their.args)
        for flag in TP_FLAGS - set(their_flags):
            # Upstream leaves TP at the engine default; Dynamote states it, equal to the GPUs.
            assert our_flags.pop(flag, their.gpus) == their.gpus
        assert our_flags == their_flags, role


def test_working_dirs_follow_upstream():
    upstream = upstream_example("v1beta1", "trtllm-disagg.yaml")
    config = parse_config({"engine": "trtllm", "mode": "disaggregated"}, model=QWEN3_0_6B)
    ours = build_manifest(config, QWEN3_0_6B, image_tag="1.5.0")
    theirs = {c["type"]: c for c in upstream["spec"]["components"]}
    for component in ours["spec"]["components"][1:]:
        our_main = component["podTemplate"]["spec"]["containers"][0]
        their_main = theirs[component["type"]]["podTemplate"]["spec"]["containers"][0]
        assert our_main["workingDir"] == their_main["workingDir"]
