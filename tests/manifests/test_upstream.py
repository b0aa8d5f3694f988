"""Against upstream: each example in ../shared/dynamo/examples, rebuilt by Dynamote, compared
field by field and flag by flag.

A config says what each example is for (engine, mode, router, replicas, and the per-example
tuning that is no Dynamote default, passed as engine args the way a user would). Every
difference between the two manifests is either fixed or listed in DELIBERATE with its reason;
the README's "Upstream parity" section says the same. `pytest -s -k conformance_table` prints
the table.
"""

from dataclasses import dataclass

import pytest

from deployments.manifests import build_manifest, parse_config

from .conftest import QWEN3_0_6B, require_shared, upstream_example
from .views import Component, components

SGLANG_TUNING = ["--page-size", "16", "--skip-tokenizer-init"]
SGLANG = {"engine": "sglang", "trustRemoteCode": True, "engineArgs": SGLANG_TUNING}

EXAMPLES: dict[tuple[str, str], dict] = {
    ("v1alpha1", "vllm-agg.yaml"): {"engine": "vllm", "mode": "aggregated"},
    ("v1alpha1", "vllm-disagg.yaml"): {"engine": "vllm", "mode": "disaggregated"},
    ("v1alpha1", "vllm-disagg_router.yaml"): {
        "engine": "vllm",
        "mode": "disaggregated",
        "routerMode": "kv",
        "prefillReplicas": 1,
        "decodeReplicas": 2,
    },
    ("v1alpha1", "sglang-agg.yaml"): {**SGLANG, "mode": "aggregated"},
    ("v1alpha1", "sglang-agg_router.yaml"): {**SGLANG, "mode": "aggregated", "routerMode": "kv"},
    ("v1alpha1", "sglang-disagg.yaml"): {**SGLANG, "mode": "disaggregated"},
    ("v1alpha1", "trtllm-agg.yaml"): {"engine": "trtllm", "mode": "aggregated"},
    ("v1alpha1", "trtllm-disagg.yaml"): {"engine": "trtllm", "mode": "disaggregated"},
    ("v1beta1", "vllm-agg.yaml"): {"engine": "vllm", "mode": "aggregated"},
    ("v1beta1", "vllm-agg_router.yaml"): {
        "engine": "vllm",
        "mode": "aggregated",
        "routerMode": "kv",
        "replicas": 2,
    },
    ("v1beta1", "vllm-disagg.yaml"): {"engine": "vllm", "mode": "disaggregated"},
    ("v1beta1", "sglang-agg_router.yaml"): {**SGLANG, "mode": "aggregated", "routerMode": "kv"},
    ("v1beta1", "sglang-disagg.yaml"): {**SGLANG, "mode": "disaggregated"},
    ("v1beta1", "trtllm-agg.yaml"): {"engine": "trtllm", "mode": "aggregated"},
    ("v1beta1", "trtllm-agg_router.yaml"): {
        "engine": "trtllm",
        "mode": "aggregated",
        "routerMode": "kv",
        "replicas": 2,
    },
    ("v1beta1", "trtllm-disagg.yaml"): {"engine": "trtllm", "mode": "disaggregated"},
}

# (engine or "*", API version or "*", what differs) -> why Dynamote differs on purpose.
DELIBERATE: dict[tuple[str, str, str], str] = {
    ("*", "*", "name"): (
        "Component names say the role (VllmWorker, SGLangPrefillWorker, …); upstream names vary "
        "(VllmDecodeWorker for an aggregated worker, plain decode/prefill). The type is the same."
    ),
    ("*", "*", "frontend env DYN_ROUTER_MODE"): (
        "The frontend always states its router mode, round-robin when none is chosen."
    ),
    ("*", "*", "frontend secrets"): (
        "The frontend also gets the Hugging Face token Secret: it reads the tokenizer from the hub."
    ),
    ("*", "*", "requests ephemeral-storage"): (
        "Without a model cache each worker requests ephemeral storage for the weights (their "
        "size x 1.2: 2Gi for Qwen3 0.6B, as most of upstream's 1.x examples); 0.6's examples and "
        "1.x's SGLang and TensorRT-LLM disaggregated ones request none."
    ),
    ("*", "*", "--tensor-parallel-size"): (
        "Dynamote always states the tensor-parallel size, so the engine and the GPU limit agree."
    ),
    ("trtllm", "*", "--extra-engine-args"): (
        "Upstream points at an engine YAML inside the image, tuned for Qwen3 0.6B. Dynamote "
        "passes what a deployment needs inline with --override-engine-args (the KV-cache hand-over "
        "of disaggregated graphs) and leaves tuning to the engine's defaults or the user's args."
    ),
    ("trtllm", "*", "--override-engine-args"): (
        "Inline instead of upstream's engine YAML (see --extra-engine-args): "
        "cache_transceiver_config on both halves, no overlap scheduler on prefill."
    ),
    ("trtllm", "v1beta1", "--model"): (
        "TensorRT-LLM of Dynamo 1.x takes --model; upstream's examples still use the obsolete "
        "alias --model-path."
    ),
    ("trtllm", "v1beta1", "--model-path"): "The obsolete alias of --model (see --model).",
    ("trtllm", "v1beta1", "--publish-kv-events"): (
        "Dynamo 1.5's flag; upstream's example uses the deprecated alias "
        "--publish-events-and-metrics."
    ),
    ("trtllm", "v1beta1", "--publish-events-and-metrics"): (
        "The deprecated alias of --publish-kv-events (see it)."
    ),
    ("vllm", "v1alpha1", "subComponentType"): (
        "Disaggregated workers are always marked with subComponentType, as 0.6's vllm-disagg "
        "example does (its disagg_router example leaves it out)."
    ),
}


@dataclass(frozen=True)
class Difference:
    example: str
    role: str
    what: str
    ours: object
    theirs: object
    reason: str  # empty when unexplained


def _flags(args: list[str]) -> dict[str, str | None]:
    """An argument list as {flag: value}, None for switches."""
    parsed: dict[str, str | None] = {}
    index = 0
    while index < len(args):
        flag = args[index]
        assert flag.startswith("-"), f"unexpected positional argument {flag!r}"
        has_value = index + 1 < len(args) and not args[index + 1].startswith("--")
        parsed[flag] = args[index + 1] if has_value else None
        index += 2 if has_value else 1
    return parsed


def _compare(ours: Component, theirs: Component) -> list[tuple[str, object, object]]:
    """What differs between two components: (what, ours, theirs)."""
    found: list[tuple[str, object, object]] = []
    prefix = "frontend " if theirs.role == "frontend" else ""
    for what in ("replicas", "image", "command", "gpus", "working_dir", "shared_memory"):
        if getattr(ours, what) != getattr(theirs, what):
            found.append((what, getattr(ours, what), getattr(theirs, what)))
    if ours.name != theirs.name:
        found.append(("name", ours.name, theirs.name))
    if sorted(ours.secrets) != sorted(theirs.secrets):
        found.append((f"{prefix}secrets", ours.secrets, theirs.secrets))
    for key in sorted(set(ours.env) | set(theirs.env)):
        if ours.env.get(key) != theirs.env.get(key):
            found.append((f"{prefix}env {key}", ours.env.get(key), theirs.env.get(key)))
    for key in sorted(set(ours.requests) | set(theirs.requests)):
        if ours.requests.get(key) != theirs.requests.get(key):
            found.append((f"requests {key}", ours.requests.get(key), theirs.requests.get(key)))
    our_flags, their_flags = _flags(ours.args), _flags(theirs.args)
    for flag in [*our_flags, *(f for f in their_flags if f not in our_flags)]:
        mine, other = our_flags.get(flag, "(absent)"), their_flags.get(flag, "(absent)")
        if mine != other:
            found.append((flag, mine, other))
    return found


def _reason(engine: str, version: str, what: str) -> str:
    for key in (
        (engine, version, what),
        (engine, "*", what),
        ("*", version, what),
        ("*", "*", what),
    ):
        if key in DELIBERATE:
            return DELIBERATE[key]
    return ""


def differences(version: str, example: str) -> list[Difference]:
    upstream = upstream_example(version, example)
    theirs = components(upstream)
    worker_image = next(c.image for c in theirs.values() if c.role != "frontend")
    data = {
        "mode": "aggregated",
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
    found: list[Difference] = []

    def add(role: str, what: str, mine: object, other: object) -> None:
        reason = _reason(config.engine, version, what)
        found.append(Difference(f"{version}/{example}", role, what, mine, other, reason))

    for role, their in theirs.items():
        services = upstream["spec"].get("services", {})
        if role in ("prefill", "decode") and "subComponentType" not in services.get(
            their.name, {"subComponentType": role}
        ):
            add(role, "subComponentType", role, None)
        for what, mine, other in _compare(ours[role], their):
            # Upstream's frontends run the worker image too; only a missing one is skipped.
            if not (role == "frontend" and what == "image" and other is None):
                add(role, what, mine, other)
    return found


def test_every_example_has_a_config():
    root = require_shared() / "examples"
    on_disk = {(path.parent.name, path.name) for path in root.glob("v1*/*.yaml")}
    assert on_disk == set(EXAMPLES)


@pytest.mark.parametrize(
    ("version", "example"), sorted(EXAMPLES), ids=[f"{v}/{e}" for v, e in sorted(EXAMPLES)]
)
def test_same_deployment_as_upstream(version, example):
    unexplained = [d for d in differences(version, example) if not d.reason]
    assert unexplained == []


def test_conformance_table():
    """Prints every difference with its reason (run with -s); each one has a reason."""
    rows = [d for version, example in sorted(EXAMPLES) for d in differences(version, example)]
    width = max(len(d.example) for d in rows)
    print(f"\n{'example':<{width}}  {'role':<8}  {'what':<30}  ours / upstream: why")
    for d in rows:
        print(f"{d.example:<{width}}  {d.role:<8}  {d.what:<30}  {d.ours} / {d.theirs}: {d.reason}")
    assert all(d.reason for d in rows)
    # Every listed reason is still needed: a fixed difference leaves the list.
    used = {(d.what) for d in rows}
    assert {what for (_, _, what) in DELIBERATE} <= used


def test_kv_router_makes_every_worker_publish_kv_events():
    """The frontend's kv mode alone falls back to load-only routing: the workers publish."""
    expected = {
        ("vllm", "v1beta1"): "--kv-events-config",
        ("sglang", "v1beta1"): "--kv-events-config",
        ("trtllm", "v1beta1"): "--publish-kv-events",
        ("trtllm", "v1alpha1"): "--publish-events-and-metrics",
    }
    for (engine, version), flag in expected.items():
        for mode in ("aggregated", "disaggregated"):
            data = {"engine": engine, "mode": mode, "apiVersion": version, "routerMode": "kv"}
            manifest = build_manifest(
                parse_config(data, model=QWEN3_0_6B), QWEN3_0_6B, image_tag="1.4.0"
            )
            workers = [c for c in components(manifest).values() if c.role != "frontend"]
            assert all(flag in worker.args for worker in workers), (engine, version, mode)


def test_trtllm_disaggregated_hands_the_kv_cache_over():
    import json

    for version in ("v1alpha1", "v1beta1"):
        data = {"engine": "trtllm", "mode": "disaggregated", "apiVersion": version,
                "engineArgs": ["--override-engine-args", '{"max_batch_size": 64}']}  # fmt: skip
        manifest = build_manifest(parse_config(data, model=QWEN3_0_6B), QWEN3_0_6B, image_tag="x")
        for role in ("prefill", "decode"):
            args = components(manifest)[role].args
            assert args.count("--override-engine-args") == 1
            overrides = json.loads(args[args.index("--override-engine-args") + 1])
            assert overrides["cache_transceiver_config"] == {"backend": "DEFAULT"}
            assert overrides["max_batch_size"] == 64  # the user's own overrides stay
            assert overrides.get("disable_overlap_scheduler", False) == (role == "prefill")


def test_kv_router_without_prefix_caching_is_refused():
    from deployments.manifests import ConfigError

    with pytest.raises(ConfigError) as caught:
        parse_config({"routerMode": "kv", "enablePrefixCaching": False}, model=QWEN3_0_6B)
    assert "needs prefix caching" in caught.value.errors["enablePrefixCaching"][0]


def test_override_engine_args_must_be_a_json_object():
    from deployments.manifests import ConfigError

    data = {"engine": "trtllm", "engineArgs": ["--override-engine-args", "max_batch_size=64"]}
    with pytest.raises(ConfigError) as caught:
        parse_config(data, model=QWEN3_0_6B)
    assert "JSON object" in caught.value.errors["engineArgs"][0]
