"""Fixtures for the manifest builder: catalog facts, the upstream CRDs and examples."""

import os
from functools import cache
from pathlib import Path

import pytest
import yaml

from deployments.manifests import ModelFacts
from sandbox.schema import load_crd

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "dynamo"

ENGINES = ("vllm", "sglang", "trtllm")
MODES = ("aggregated", "disaggregated")
API_VERSIONS = ("v1alpha1", "v1beta1")
COMBINATIONS = [(e, m, a) for e in ENGINES for m in MODES for a in API_VERSIONS]

# The upstream CRD files and the versions each one is checked for.
UPSTREAM_CRDS = [
    ("dynamo-0.6.1", "v1alpha1"),
    ("dynamo-1.5.0", "v1alpha1"),
    ("dynamo-1.5.0", "v1beta1"),
]


def require_shared() -> Path:
    """The shared Dynamo reference data; its absence fails under CI and skips elsewhere."""
    if not SHARED.is_dir():
        message = f"The Dynamo reference data is missing: expected {SHARED} (../shared/dynamo)."
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return SHARED


def upstream_crd(release: str) -> dict:
    require_shared()
    return _load_upstream_crd(release)


@cache
def _load_upstream_crd(release: str) -> dict:
    return load_crd(require_shared() / "crds" / release / "nvidia.com_dynamographdeployments.yaml")


def upstream_example(version: str, name: str) -> dict:
    path = require_shared() / "examples" / version / name
    return yaml.safe_load(path.read_text())


QWEN3_0_6B = ModelFacts(
    slug="qwen3-0-6b",
    hf_repo_id="Qwen/Qwen3-0.6B",
    name="Qwen3 0.6B",
    context_length=32768,
    supported_engines=("vllm", "sglang", "trtllm"),
    default_tp=1,
    gated=False,
    parameters_billions=0.6,
)
LLAMA_70B = ModelFacts(
    slug="llama-3-3-70b-instruct",
    hf_repo_id="meta-llama/Llama-3.3-70B-Instruct",
    name="Llama 3.3 70B Instruct",
    context_length=131072,
    supported_engines=("vllm", "sglang", "trtllm"),
    default_tp=4,
    gated=True,
    parameters_billions=70.6,
)
QWEN_VL = ModelFacts(
    slug="qwen2-5-vl-7b-instruct",
    hf_repo_id="Qwen/Qwen2.5-VL-7B-Instruct",
    name="Qwen2.5-VL 7B Instruct",
    context_length=32768,
    supported_engines=("vllm", "sglang"),
    default_tp=1,
    gated=False,
    parameters_billions=8.29,
)


@pytest.fixture
def qwen() -> ModelFacts:
    return QWEN3_0_6B


@pytest.fixture
def llama70b() -> ModelFacts:
    return LLAMA_70B


def full_settings(engine: str, mode: str, api_version: str) -> dict:
    """A config with every optional field set that the engine accepts."""
    data = {
        "name": f"full-{engine}",
        "namespace": "team-a",
        "modelId": "qwen3-0-6b",
        "engine": engine,
        "mode": mode,
        "apiVersion": api_version,
        "image": f"registry.example.com:5000/dynamo/{engine}-runtime:custom",
        "replicas": 2,
        "tensorParallelSize": 2,
        "servedModelName": "qwen-small",
        # Not kv: KV-aware routing needs prefix caching, which "every option" turns off.
        "routerMode": "random",
        "hfTokenSecret": "hf-token-secret",
        "contextLength": 8192,
        "engineArgs": ["--gpu-memory-utilization", "0.85"]
        if engine == "vllm"
        else ["--mem-fraction-static", "0.8"]
        if engine == "sglang"
        else ["--extra-engine-args", "/config/engine.yaml"],
        "cpu": "4",
        "memory": "32Gi",
        "sharedMemorySize": "8Gi",
        "modelCache": "model-cache",
        "gpuProduct": "NVIDIA-H100-80GB-HBM3",
        "env": {"DYN_LOG": "debug", "HF_HUB_ENABLE_HF_TRANSFER": "1"},
    }
    if engine != "trtllm":
        data |= {"trustRemoteCode": True, "enforceEager": True, "enablePrefixCaching": False}
    if mode == "disaggregated":
        data |= {
            "prefillReplicas": 1,
            "prefillTensorParallelSize": 1,
            "decodeReplicas": 3,
            "decodeTensorParallelSize": 4,
        }
    return data
