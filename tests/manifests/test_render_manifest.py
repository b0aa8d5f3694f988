"""The render_manifest command: the manifest on stdout, field messages and status 2 on error."""

import io
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from catalog.models import CatalogModel
from deployments.manifests import ModelFacts

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def catalog(db):
    """The seed migration's Qwen3 0.6B, or an equal row if the seed is not there."""
    CatalogModel.objects.get_or_create(
        slug="qwen3-0-6b",
        defaults={
            "hf_repo_id": "Qwen/Qwen3-0.6B",
            "name": "Qwen3 0.6B",
            "description": "A small Qwen3 model.",
            "size_label": "0.6B",
            "task": "chat",
            "context_length": 32768,
            "supported_engines": ["vllm", "sglang", "trtllm"],
            "min_gpu_memory_gb": 2,
            "parameters_billions": 0.6,
            "license": "Apache-2.0",
        },
    )


def render(*args: str) -> tuple[str, str, int]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("render_manifest", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), exc.returncode
    return out.getvalue(), err.getvalue(), 0


def test_prints_the_manifest(catalog, settings):
    settings.DYNAMOTE_DEFAULT_NAMESPACE = "models"
    settings.DYNAMOTE_DYNAMO_VERSION = "1.3.0"
    out, err, status = render("--model", "qwen3-0-6b", "--engine", "sglang", "--tp", "2")
    assert (status, err) == (0, "")
    assert out.startswith("---\napiVersion: nvidia.com/v1beta1\nkind: DynamoGraphDeployment\n")
    manifest = yaml.safe_load(out)
    assert manifest["metadata"]["name"] == "qwen3-0-6b-sglang"
    assert manifest["metadata"]["namespace"] == "models"
    worker = manifest["spec"]["components"][1]["podTemplate"]["spec"]["containers"][0]
    assert worker["image"] == "nvcr.io/nvidia/ai-dynamo/sglang-runtime:1.3.0"
    assert worker["resources"]["limits"]["nvidia.com/gpu"] == "2"


def test_every_option(catalog):
    out, err, status = render(
        "--model", "qwen3-0-6b", "--engine", "vllm", "--mode", "disaggregated",
        "--api-version", "v1alpha1", "--name", "small", "--namespace", "ml",
        "--replicas", "2", "--tp", "1", "--decode-replicas", "3", "--router-mode", "random",
        "--hf-token-secret", "hf", "--context-length", "4096", "--image", "r.example/vllm:1",
        "--engine-arg=--gpu-memory-utilization", "--engine-arg", "0.8",
        "--env", "DYN_LOG=debug", "--cpu", "4", "--memory", "16Gi",
        "--shared-memory-size", "4Gi", "--trust-remote-code", "--no-prefix-caching",
    )  # fmt: skip
    assert (status, err) == (0, "")
    services = yaml.safe_load(out)["spec"]["services"]
    assert services["VllmDecodeWorker"]["replicas"] == 3
    assert services["VllmPrefillWorker"]["replicas"] == 2
    assert services["Frontend"]["envs"][0] == {"name": "DYN_ROUTER_MODE", "value": "random"}
    args = services["VllmPrefillWorker"]["extraPodSpec"]["mainContainer"]["args"]
    assert args[-3:] == ["--is-prefill-worker", "--gpu-memory-utilization", "0.8"]
    assert "--no-enable-prefix-caching" in args and "--trust-remote-code" in args


def test_model_cache_and_gpu_product(catalog):
    out, err, status = render(
        "--model", "qwen3-0-6b", "--model-cache", "model-cache",
        "--gpu-product", "NVIDIA-H100-80GB-HBM3",
    )  # fmt: skip
    assert (status, err) == (0, "")
    worker = yaml.safe_load(out)["spec"]["components"][1]["podTemplate"]["spec"]
    assert worker["volumes"] == [
        {"name": "model-cache", "persistentVolumeClaim": {"claimName": "model-cache"}}
    ]
    assert worker["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}
    _, err, status = render("--model", "qwen3-0-6b", "--model-cache", "Bad_Name")
    assert status == 2 and err.startswith("modelCache: Name a PersistentVolumeClaim")


def test_a_v1alpha1_target_gets_a_dynamo_0_runtime(catalog, settings):
    settings.DYNAMOTE_DYNAMO_VERSION = "1.5.0"
    out, _, _ = render("--model", "qwen3-0-6b", "--api-version", "v1alpha1")
    image = yaml.safe_load(out)["spec"]["services"]["Frontend"]["extraPodSpec"]["mainContainer"]
    assert image == {"image": "nvcr.io/nvidia/ai-dynamo/vllm-runtime:0.6.1"}


def test_bad_input_prints_field_messages_and_exits_2(catalog):
    out, err, status = render(
        "--model", "qwen3-0-6b", "--engine", "trtllm", "--replicas", "20", "--tp", "3",
        "--enforce-eager", "--engine-arg=--model=other",
    )  # fmt: skip
    assert (out, status) == ("", 2)
    lines = err.splitlines()
    assert any(line.startswith("replicas: Choose between 1 and 10") for line in lines)
    assert any(line.startswith("tensorParallelSize: ") for line in lines)
    assert any(line.startswith("enforceEager: TensorRT-LLM does not take") for line in lines)
    assert any(line.startswith("engineArgs: Remove --model") for line in lines)


def test_unknown_model(catalog):
    out, err, status = render("--model", "gpt-5")
    assert (out, status) == ("", 2)
    assert err.startswith("modelId: No catalog model has the id 'gpt-5'; use one of ")
    assert "qwen3-0-6b" in err


def test_model_facts_from_the_catalog(catalog):
    facts = ModelFacts.from_catalog(CatalogModel.objects.get(slug="qwen3-0-6b"))
    assert facts.hf_repo_id == "Qwen/Qwen3-0.6B"
    assert facts.supported_engines == ("vllm", "sglang", "trtllm")


def test_the_shell_sees_status_2(tmp_path):
    # Run as people and scripts do; a fresh database with the seed migration applied.
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DYNAMOTE_VAR_DIR": str(tmp_path),
    }
    run = [sys.executable, "manage.py"]
    subprocess.run([*run, "migrate", "-v0"], cwd=ROOT, env=env | _base_env(), check=True)
    result = subprocess.run(
        [*run, "render_manifest", "--model", "qwen3-0-6b", "--replicas", "0"],
        cwd=ROOT, env=env | _base_env(), capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stdout == ""
    assert "replicas: Choose between 1 and 10 replicas." in result.stderr


def _base_env() -> dict[str, str]:
    import os

    keep = ("PATH", "HOME", "VIRTUAL_ENV", "PYTHONPATH", "LANG")
    return {key: os.environ[key] for key in keep if key in os.environ}
