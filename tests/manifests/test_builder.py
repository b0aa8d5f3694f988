"""The builder, for each engine x mode x API version: what the manifest means."""

import pytest
import yaml

from deployments.engines import VLLM_KV_TRANSFER_CONFIG
from deployments.manifests import (
    ConfigError,
    build_manifest,
    default_image_tag,
    default_name,
    parse_config,
    render_yaml,
)

from .conftest import COMBINATIONS, QWEN3_0_6B, full_settings
from .views import components, flag_value

MODULES = {"vllm": "dynamo.vllm", "sglang": "dynamo.sglang", "trtllm": "dynamo.trtllm"}
IMAGES = {"vllm": "vllm-runtime", "sglang": "sglang-runtime", "trtllm": "tensorrtllm-runtime"}
TP_FLAGS = {"vllm": "--tensor-parallel-size", "sglang": "--tp", "trtllm": "--tensor-parallel-size"}
CONTEXT_FLAGS = {"vllm": "--max-model-len", "sglang": "--context-length", "trtllm": "--max-seq-len"}
NAMES = {
    "vllm": ("VllmWorker", "VllmPrefillWorker", "VllmDecodeWorker"),
    "sglang": ("SGLangWorker", "SGLangPrefillWorker", "SGLangDecodeWorker"),
    "trtllm": ("TRTLLMWorker", "TRTLLMPrefillWorker", "TRTLLMDecodeWorker"),
}


def build(data: dict, model=QWEN3_0_6B, tag: str = "1.5.0") -> dict:
    config = parse_config(data, model=model)
    return build_manifest(config, model, image_tag=tag)


@pytest.mark.parametrize(("engine", "mode", "api_version"), COMBINATIONS)
def test_defaults_build_a_working_graph(engine, mode, api_version):
    tag = default_image_tag(api_version)
    manifest = build(
        {"engine": engine, "mode": mode, "apiVersion": api_version, "hfTokenSecret": "hf-token"},
        tag=tag,
    )

    assert manifest["apiVersion"] == f"nvidia.com/{api_version}"
    assert manifest["kind"] == "DynamoGraphDeployment"
    assert manifest["metadata"]["name"] == f"qwen3-0-6b-{engine}"
    assert manifest["metadata"]["namespace"] == "default"
    assert manifest["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "dynamote"
    assert manifest["metadata"]["labels"]["dynamote.io/model-id"] == "qwen3-0-6b"
    assert manifest["spec"]["backendFramework"] == engine

    parts = components(manifest)
    roles = ["prefill", "decode"] if mode == "disaggregated" else ["worker"]
    assert set(parts) == {"frontend", *roles}
    image = f"nvcr.io/nvidia/ai-dynamo/{IMAGES[engine]}:{tag}"

    frontend = parts["frontend"]
    assert frontend.name == "Frontend"
    assert frontend.replicas == 1
    assert frontend.image == image
    assert frontend.gpus is None
    assert frontend.env["DYN_ROUTER_MODE"] == "round-robin"
    assert frontend.secrets == ["hf-token"]

    for role in roles:
        worker = parts[role]
        index = {"worker": 0, "prefill": 1, "decode": 2}[role]
        assert worker.name == NAMES[engine][index]
        assert worker.replicas == 1
        assert worker.image == image
        assert worker.command == ["python3", "-m", MODULES[engine]]
        assert worker.gpus == "1"
        assert worker.secrets == ["hf-token"]
        if engine == "vllm":
            assert flag_value(worker.args, "--model") == "Qwen/Qwen3-0.6B"
            assert "--served-model-name" not in worker.args
        else:
            # TensorRT-LLM of Dynamo 1.x takes --model (--model-path is an obsolete alias).
            model_flag = (
                "--model" if (engine, api_version) == ("trtllm", "v1beta1") else "--model-path"
            )
            assert flag_value(worker.args, model_flag) == "Qwen/Qwen3-0.6B"
            assert flag_value(worker.args, "--served-model-name") == "Qwen/Qwen3-0.6B"
        assert flag_value(worker.args, TP_FLAGS[engine]) == "1"
        for flag in ("--trust-remote-code", "--enforce-eager", "--disable-cuda-graph"):
            assert flag not in worker.args
        if role == "worker":
            assert "--disaggregation-mode" not in worker.args
            assert "--is-prefill-worker" not in worker.args


@pytest.mark.parametrize(("engine", "mode", "api_version"), COMBINATIONS)
def test_every_option_reaches_the_manifest(engine, mode, api_version):
    data = full_settings(engine, mode, api_version)
    parts = components(build(data))

    frontend = parts["frontend"]
    assert frontend.image == data["image"]
    assert frontend.env == {
        "DYN_ROUTER_MODE": "random",
        "DYN_LOG": "debug",
        "HF_HUB_ENABLE_HF_TRANSFER": "1",
        "HF_HOME": "/opt/models",
    }
    assert frontend.secrets == ["hf-token-secret"]
    assert frontend.mounts == {"model-cache": "/opt/models"}
    assert frontend.node_selector == {}

    expected = (
        {"prefill": (1, "1"), "decode": (3, "4")}
        if mode == "disaggregated"
        else {"worker": (2, "2")}
    )
    for role, (replicas, tp) in expected.items():
        worker = parts[role]
        # GPUs per worker equal its tensor-parallel size.
        assert (worker.replicas, worker.gpus) == (replicas, tp)
        assert flag_value(worker.args, TP_FLAGS[engine]) == tp
        assert flag_value(worker.args, CONTEXT_FLAGS[engine]) == "8192"
        assert flag_value(worker.args, "--served-model-name") == "qwen-small"
        assert worker.requests == {"cpu": "4", "memory": "32Gi"}
        assert worker.shared_memory == "8Gi"
        assert worker.env == {
            "DYN_LOG": "debug",
            "HF_HUB_ENABLE_HF_TRANSFER": "1",
            "HF_HOME": "/opt/models",
        }
        assert worker.mounts == {"model-cache": "/opt/models"}
        assert worker.node_selector == {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}
        assert worker.args[-2:] == data["engineArgs"]
        if engine == "vllm":
            assert {"--trust-remote-code", "--enforce-eager", "--no-enable-prefix-caching"} <= set(
                worker.args
            )
        elif engine == "sglang":
            assert {"--trust-remote-code", "--disable-cuda-graph", "--disable-radix-cache"} <= set(
                worker.args
            )


@pytest.mark.parametrize("engine", ["vllm", "sglang", "trtllm"])
@pytest.mark.parametrize("role", ["prefill", "decode"])
def test_disaggregation_flags_on_dynamo_1(engine, role):
    parts = components(build({"engine": engine, "mode": "disaggregated", "apiVersion": "v1beta1"}))
    args = parts[role].args
    assert flag_value(args, "--disaggregation-mode") == role
    if engine == "vllm":
        # NIXL moves the KV cache between the two roles; both need the connector.
        assert flag_value(args, "--kv-transfer-config") == VLLM_KV_TRANSFER_CONFIG
    else:
        assert "--kv-transfer-config" not in args
    assert "--is-prefill-worker" not in args


def test_vllm_on_dynamo_0_6_marks_only_the_prefill_worker():
    parts = components(build({"engine": "vllm", "mode": "disaggregated", "apiVersion": "v1alpha1"}))
    assert parts["prefill"].args[-1] == "--is-prefill-worker"
    assert "--is-prefill-worker" not in parts["decode"].args
    for role in ("prefill", "decode"):
        assert "--disaggregation-mode" not in parts[role].args
        assert "--kv-transfer-config" not in parts[role].args


def test_sglang_on_dynamo_0_6_uses_nixl_and_listens_on_all_addresses():
    parts = components(
        build({"engine": "sglang", "mode": "disaggregated", "apiVersion": "v1alpha1"})
    )
    for role in ("prefill", "decode"):
        args = parts[role].args
        assert flag_value(args, "--disaggregation-mode") == role
        assert flag_value(args, "--disaggregation-transfer-backend") == "nixl"
        assert flag_value(args, "--host") == "0.0.0.0"


def test_v1alpha1_services_carry_dynamo_0_6_fields():
    manifest = build(
        {"engine": "vllm", "mode": "disaggregated", "apiVersion": "v1alpha1", "hfTokenSecret": "s"}
    )
    services = manifest["spec"]["services"]
    assert list(services) == ["Frontend", "VllmPrefillWorker", "VllmDecodeWorker"]
    for service in services.values():
        assert service["dynamoNamespace"] == manifest["metadata"]["name"]
        assert service["envFromSecret"] == "s"
    assert services["VllmPrefillWorker"]["componentType"] == "worker"
    assert services["VllmPrefillWorker"]["subComponentType"] == "prefill"
    assert services["VllmDecodeWorker"]["subComponentType"] == "decode"
    # v1alpha1 spells GPU counts as strings.
    assert services["VllmDecodeWorker"]["resources"]["limits"] == {"gpu": "1"}


def test_v1beta1_main_container_is_named_main():
    manifest = build({"engine": "sglang", "hfTokenSecret": "hf"})
    for component in manifest["spec"]["components"]:
        (container,) = component["podTemplate"]["spec"]["containers"]
        assert container["name"] == "main"
    worker = manifest["spec"]["components"][1]["podTemplate"]["spec"]["containers"][0]
    assert worker["envFrom"] == [{"secretRef": {"name": "hf"}}]
    assert worker["resources"]["limits"] == {"nvidia.com/gpu": "1"}


def test_default_tp_comes_from_the_catalog(llama70b):
    parts = components(build({"engine": "vllm"}, model=llama70b))
    assert parts["worker"].gpus == "4"
    assert flag_value(parts["worker"].args, "--tensor-parallel-size") == "4"


def test_every_model_gets_the_conventional_token_secret_like_the_form(llama70b, qwen):
    assert components(build({}, model=llama70b))["worker"].secrets == ["hf-token-secret"]
    # The deploy form requires a Secret and proposes this one, for open models too.
    assert components(build({}, model=qwen))["worker"].secrets == ["hf-token-secret"]


def test_vllm_served_model_name_only_when_asked():
    parts = components(build({"engine": "vllm", "servedModelName": "small"}))
    assert flag_value(parts["worker"].args, "--served-model-name") == "small"


def test_router_mode_reaches_the_frontend_env():
    parts = components(build({"routerMode": "least-loaded"}))
    assert parts["frontend"].env["DYN_ROUTER_MODE"] == "least-loaded"
    assert "DYN_ROUTER_MODE" not in parts["worker"].env


def test_labels_let_dynamote_find_its_own(qwen):
    manifest = build({"engine": "trtllm"})
    assert manifest["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "dynamote",
        "dynamote.io/engine": "trtllm",
        "dynamote.io/model-id": "qwen3-0-6b",
    }
    assert manifest["metadata"]["annotations"]["dynamote.io/model-id"] == "qwen3-0-6b"


def test_the_builder_is_deterministic(qwen):
    config = parse_config(full_settings("vllm", "disaggregated", "v1beta1"), model=qwen)
    first = build_manifest(config, qwen, image_tag="1.5.0")
    assert first == build_manifest(config, qwen, image_tag="1.5.0")
    assert render_yaml(first) == render_yaml(build_manifest(config, qwen, image_tag="1.5.0"))


def test_default_name_fits_every_mode():
    long = QWEN3_0_6B.model_copy(update={"slug": "a-very-long-model-slug-" * 3})
    for engine in ("vllm", "sglang", "trtllm"):
        name = default_name(long, engine)
        prefill = {"vllm": "vllmprefillworker", "sglang": "sglangprefillworker"}.get(
            engine, "trtllmprefillworker"
        )
        assert len(f"{name}-{prefill}") <= 63
        assert not name.endswith("-")
        parse_config({"engine": engine, "mode": "disaggregated"}, model=long)
    assert default_name(QWEN3_0_6B, "vllm") == "qwen3-0-6b-vllm"


def test_default_image_tag_matches_the_api_generation():
    assert default_image_tag("v1beta1", "1.3.0") == "1.3.0"
    # A release newer than the newest published one has no runtime images yet.
    assert default_image_tag("v1beta1", "1.5.0") == "1.4.0"
    assert default_image_tag("v1beta1", "1.6.2") == "1.4.0"
    # Unconfigured: the newest published release of the generation (1.5.0 has no image yet).
    assert default_image_tag("v1beta1") == "1.4.0"
    # A cluster serving only v1alpha1 runs Dynamo 0.x, whose runtime takes 0.6's flags.
    assert default_image_tag("v1alpha1", "1.4.0") == "0.6.1"
    assert default_image_tag("v1alpha1", "0.6.0") == "0.6.0"
    assert default_image_tag("v1beta1", "0.7.0") == "1.4.0"


def test_render_yaml_is_kubectl_shaped(qwen):
    text = render_yaml(build({"engine": "vllm"}))
    assert text.startswith(
        "---\napiVersion: nvidia.com/v1beta1\nkind: DynamoGraphDeployment\nmetadata:\n"
    )
    assert "{" not in text.split("args:")[0]  # block style, no flow mappings
    assert "&id" not in text and "*id" not in text  # no YAML anchors
    assert list(yaml.safe_load(text)) == ["apiVersion", "kind", "metadata", "spec"]


def test_render_yaml_orders_foreign_manifests():
    text = render_yaml({"spec": {}, "metadata": {"name": "x"}, "kind": "K", "apiVersion": "v"})
    assert text.splitlines()[:4] == ["---", "apiVersion: v", "kind: K", "metadata:"]


def test_render_yaml_round_trips(qwen):
    manifest = build(full_settings("vllm", "disaggregated", "v1beta1"))
    assert yaml.safe_load(render_yaml(manifest)) == manifest


def test_parse_config_rejects_then_builder_is_not_reached(qwen):
    with pytest.raises(ConfigError):
        parse_config({"engine": "trtllm", "enforceEager": True}, model=qwen)


@pytest.mark.parametrize("api_version", ["v1alpha1", "v1beta1"])
def test_multi_gpu_workers_get_a_larger_dev_shm(api_version):
    """16 Gi per GPU (at most 80 Gi) for NCCL between ranks; one GPU keeps the 8 Gi default."""
    data = {
        "mode": "disaggregated",
        "apiVersion": api_version,
        "prefillTensorParallelSize": 1,
        "decodeTensorParallelSize": 4,
    }
    parts = components(build(data))
    assert parts["prefill"].shared_memory is None
    assert parts["decode"].shared_memory == "64Gi"
    eight = components(build({"apiVersion": api_version, "tensorParallelSize": 8}))
    assert eight["worker"].shared_memory == "80Gi"
    mine = components(
        build({"apiVersion": api_version, "tensorParallelSize": 8, "sharedMemorySize": "20Gi"})
    )
    assert mine["worker"].shared_memory == "20Gi"
