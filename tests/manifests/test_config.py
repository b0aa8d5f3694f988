"""Layer 1: what a person chose, refused with a message naming the field."""

import pytest

from deployments.manifests import ConfigError, DeploymentConfig, parse_config

from .conftest import LLAMA_70B, QWEN3_0_6B, QWEN_VL


def errors_for(data, model=QWEN3_0_6B, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, model=model, **kwargs)
    assert caught.value.errors, "a ConfigError must say what is wrong"
    return caught.value.errors


def test_defaults_are_the_forms_defaults():
    config = parse_config({}, model=LLAMA_70B, default_namespace="models")
    assert config.name == "llama-3-3-70b-instruct-vllm"
    assert config.namespace == "models"
    assert config.model_id == "llama-3-3-70b-instruct"
    assert config.engine == "vllm"
    assert config.mode == "aggregated"
    assert config.api_version == "v1beta1"
    assert config.replicas == 1
    assert config.tensor_parallel_size == 4
    assert config.router_mode == "round-robin"
    assert config.hf_token_secret == "hf-token-secret"
    assert config.enable_prefix_caching is True


def test_camel_case_and_snake_case_both_work():
    by_alias = parse_config({"tensorParallelSize": 2, "apiVersion": "v1alpha1"}, model=QWEN3_0_6B)
    by_name = parse_config({"tensor_parallel_size": 2, "api_version": "v1alpha1"}, model=QWEN3_0_6B)
    assert by_alias == by_name
    assert by_alias.model_dump(by_alias=True)["tensorParallelSize"] == 2


def test_api_version_argument_is_the_default_and_accepts_the_group():
    assert parse_config({}, model=QWEN3_0_6B, api_version="v1alpha1").api_version == "v1alpha1"
    config = parse_config({"apiVersion": "nvidia.com/v1alpha1"}, model=QWEN3_0_6B)
    assert config.api_version == "v1alpha1"


def test_form_strings_are_read():
    config = parse_config(
        {"replicas": "3", "trustRemoteCode": "on", "enforceEager": "false", "name": " my-llm "},
        model=QWEN3_0_6B,
    )
    assert (config.replicas, config.trust_remote_code, config.enforce_eager) == (3, True, False)
    assert config.name == "my-llm"


def test_blank_fields_mean_default():
    config = parse_config(
        {"name": "", "hfTokenSecret": "", "contextLength": None}, model=QWEN3_0_6B
    )
    assert config.name == "qwen3-0-6b-vllm"
    assert config.hf_token_secret == "hf-token-secret"
    assert config.context_length is None


def test_engine_args_from_one_line_are_split_like_a_shell():
    config = parse_config(
        {"engineArgs": "--gpu-memory-utilization 0.8 --override-generation-config '{\"a\": 1}'"},
        model=QWEN3_0_6B,
    )
    assert config.engine_args == [
        "--gpu-memory-utilization",
        "0.8",
        "--override-generation-config",
        '{"a": 1}',
    ]


def test_resources_alias_fills_cpu_and_memory():
    config = parse_config(
        {"resources": {"requests": {"cpu": "8", "memory": "64Gi"}}}, model=QWEN3_0_6B
    )
    assert (config.cpu, config.memory) == ("8", "64Gi")
    config = parse_config({"resources": {"cpu": 2}}, model=QWEN3_0_6B)
    assert config.cpu == "2"


def test_env_in_kubernetes_shape_and_as_assignments():
    config = parse_config({"env": [{"name": "A", "value": "1"}, "B=two=2"]}, model=QWEN3_0_6B)
    assert config.env == {"A": "1", "B": "two=2"}


@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [
        ({"name": "My_Model"}, "name", "lowercase"),
        ({"name": "7b-model"}, "name", "starting with a letter"),
        ({"name": "x" * 64}, "name", "at most"),
        ({"name": "a" * 53}, "name", "at most 52"),  # "<name>-vllmworker" must fit in 63
        ({"namespace": "Team A"}, "namespace", "namespace"),
        ({"namespace": "n" * 64}, "namespace", "at most 63"),
        ({"modelId": "qwen3-8b"}, "modelId", "qwen3-0-6b"),
        ({"engine": "tgi"}, "engine", "vllm"),
        ({"mode": "hybrid"}, "mode", "aggregated"),
        ({"replicas": 0}, "replicas", "between 1 and 10"),
        ({"replicas": 11}, "replicas", "between 1 and 10"),
        ({"replicas": 1.5}, "replicas", "whole number"),
        ({"tensorParallelSize": 3}, "tensorParallelSize", "1, 2, 4 or 8"),
        ({"tensorParallelSize": 16}, "tensorParallelSize", "1, 2, 4 or 8"),
        ({"contextLength": 0}, "contextLength", "positive"),
        ({"contextLength": 40000}, "contextLength", "32768"),
        ({"routerMode": "fastest"}, "routerMode", "round-robin"),
        ({"apiVersion": "v2"}, "apiVersion", "v1beta1"),
        ({"hfTokenSecret": "HF Token"}, "hfTokenSecret", "Secret"),
        ({"image": "not an image"}, "image", "image reference"),
        ({"cpu": "four"}, "cpu", "500m"),
        ({"memory": "-1Gi"}, "memory", "16Gi"),
        ({"sharedMemorySize": "0"}, "sharedMemorySize", "8Gi"),
        ({"servedModelName": "my model"}, "servedModelName", "spaces"),
        ({"env": {"1BAD": "x"}}, "env", "not a valid variable name"),
        ({"env": {"HF_TOKEN": "hf_abc"}}, "env", "Secret"),
        ({"env": {"DYN_ROUTER_MODE": "kv"}}, "env", "Router mode"),
        ({"resources": {"gpu": 2}}, "resources", "tensorParallelSize"),
        ({"resources": {"ephemeral-storage": "1Gi"}}, "resources", "CPU and memory"),
        ({"prefillReplicas": 2}, "prefillReplicas", "disaggregated"),
        ({"mode": "disaggregated", "decodeReplicas": 20}, "decodeReplicas", "between 1 and 10"),
        (
            {"mode": "disaggregated", "prefillTensorParallelSize": 6},
            "prefillTensorParallelSize",
            "1, 2, 4 or 8",
        ),
    ],
)
def test_bad_values_are_refused_on_their_field(data, field, fragment):
    errors = errors_for(data)
    assert field in errors, errors
    assert any(fragment in message for message in errors[field]), errors[field]


def test_the_engine_must_be_one_the_model_supports():
    errors = errors_for({"engine": "trtllm"}, model=QWEN_VL)
    assert errors["engine"] == [
        "Qwen2.5-VL 7B Instruct does not run on TensorRT-LLM; choose vLLM, SGLang."
    ]


def test_router_modes_of_dynamo_1_are_refused_on_v1alpha1():
    parse_config({"routerMode": "least-loaded"}, model=QWEN3_0_6B, api_version="v1beta1")
    errors = errors_for({"routerMode": "least-loaded"}, api_version="v1alpha1")
    assert "round-robin, random, kv" in errors["routerMode"][0]


@pytest.mark.parametrize(
    ("engine", "token", "field"),
    [
        ("vllm", "--model", "modelId"),
        ("vllm", "--model=Qwen/Qwen3-8B", "modelId"),
        ("sglang", "--model-path", "modelId"),
        ("vllm", "--tensor-parallel-size", "tensorParallelSize"),
        ("vllm", "--tensor_parallel_size=2", "tensorParallelSize"),
        ("vllm", "-tp", "tensorParallelSize"),
        ("sglang", "--tp", "tensorParallelSize"),
        ("vllm", "--max-model-len", "contextLength"),
        ("sglang", "--context-length", "contextLength"),
        ("trtllm", "--max-seq-len", "contextLength"),
        ("trtllm", "--served-model-name", "servedModelName"),
        ("vllm", "--trust-remote-code", "trustRemoteCode"),
        ("vllm", "--enforce-eager", "enforceEager"),
        ("sglang", "--disable-cuda-graph", "enforceEager"),
        ("vllm", "--no-enable-prefix-caching", "enablePrefixCaching"),
        ("sglang", "--disable-radix-cache", "enablePrefixCaching"),
        ("vllm", "--disaggregation-mode", "mode"),
        ("vllm", "--is-prefill-worker", "mode"),
        ("vllm", "--kv-transfer-config", "mode"),
    ],
)
def test_engine_args_may_not_override_fields_dynamote_sets(engine, token, field):
    errors = errors_for({"engine": engine, "engineArgs": [token, "x"]})
    assert len(errors["engineArgs"]) == 1
    assert f"({field})" in errors["engineArgs"][0]


@pytest.mark.parametrize("token", ["a\nb", "x\r", "nul\x00", "", "   "])
def test_engine_args_are_single_tokens(token):
    errors = errors_for({"engineArgs": ["--ok", token]})
    assert "Argument 2" in errors["engineArgs"][0]


def test_unbalanced_quotes_are_reported():
    assert "split" in errors_for({"engineArgs": "--chat-template '{{"})["engineArgs"][0]


@pytest.mark.parametrize(
    ("field", "flag"),
    [("trustRemoteCode", True), ("enforceEager", True), ("enablePrefixCaching", False)],
)
def test_trtllm_refuses_options_that_live_in_its_engine_config(field, flag):
    errors = errors_for({"engine": "trtllm", field: flag})
    assert "TensorRT-LLM does not take" in errors[field][0]
    assert "engine config" in errors[field][0]


def test_trtllm_accepts_those_options_at_their_defaults():
    parse_config(
        {
            "engine": "trtllm",
            "trustRemoteCode": False,
            "enforceEager": False,
            "enablePrefixCaching": True,
        },
        model=QWEN3_0_6B,
    )


def test_unknown_settings_are_named():
    errors = errors_for({"gpuCount": 2, "replicas": 0})
    assert errors["__all__"] == ["Dynamote has no setting named 'gpuCount'."]
    assert "replicas" in errors


def test_every_problem_is_reported_at_once():
    errors = errors_for(
        {"name": "Bad", "replicas": "many", "tensorParallelSize": 3, "routerMode": "x"}
    )
    assert {"name", "replicas", "tensorParallelSize", "routerMode"} <= set(errors)


@pytest.mark.parametrize(
    "data", [None, [], "name=x", 3, {1: "x"}, {"env": 5}, {"engineArgs": {"a": 1}}]
)
def test_nonsense_input_is_a_config_error(data):
    with pytest.raises(ConfigError):
        parse_config(data, model=QWEN3_0_6B)


def test_config_error_message_lists_fields():
    error = ConfigError({"name": ["Too long."], "replicas": []})
    assert error.errors == {"name": ["Too long."]}
    assert str(error) == "name: Too long."


def test_deployment_config_builds_from_python_names():
    config = DeploymentConfig(name="x", model_id="m", engine="sglang", hf_token_secret="s")
    assert config.model_dump(by_alias=True)["hfTokenSecret"] == "s"
