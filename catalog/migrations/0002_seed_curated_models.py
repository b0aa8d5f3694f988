"""Seed the curated catalog: facts from each model's Hugging Face model card."""

import math

from django.db import migrations


# The catalog's sizing rule (catalog.models.min_gpu_memory_for), repeated here because a
# migration must not depend on code that may change later.
def _min_gpu_memory(parameters_billions: float) -> int:
    return math.ceil(parameters_billions * 2 * 1.2)


MODELS = [
    {
        "slug": "qwen3-0-6b",
        "hf_repo_id": "Qwen/Qwen3-0.6B",
        "name": "Qwen3 0.6B",
        "description": "Tiny dense Qwen3 model with switchable thinking mode; "
        "ideal for smoke tests and rehearsing a deployment.",
        "size_label": "0.6B",
        "task": "chat",
        "context_length": 32768,
        "supported_engines": ["vllm", "sglang", "trtllm"],
        "parameters_billions": 0.6,
        "license": "Apache-2.0",
        "gated": False,
        "default_tp": 1,
    },
    {
        "slug": "llama-3-1-8b-instruct",
        "hf_repo_id": "meta-llama/Llama-3.1-8B-Instruct",
        "name": "Llama 3.1 8B Instruct",
        "description": "Meta's multilingual instruction-tuned Llama 3.1 with a 128K context "
        "window and tool use.",
        "size_label": "8B",
        "task": "chat",
        "context_length": 131072,
        "supported_engines": ["vllm", "sglang", "trtllm"],
        "parameters_billions": 8.03,
        "license": "Llama 3.1 Community License",
        "gated": True,
        "default_tp": 1,
    },
    {
        "slug": "qwen3-8b",
        "hf_repo_id": "Qwen/Qwen3-8B",
        "name": "Qwen3 8B",
        "description": "Dense Qwen3 model that switches between thinking and fast chat "
        "modes; strong at reasoning, code and agents.",
        "size_label": "8B",
        "task": "chat",
        "context_length": 32768,
        "supported_engines": ["vllm", "sglang", "trtllm"],
        "parameters_billions": 8.2,
        "license": "Apache-2.0",
        "gated": False,
        "default_tp": 1,
    },
    {
        "slug": "deepseek-r1-distill-llama-8b",
        "hf_repo_id": "deepseek-ai/DeepSeek-R1-Distill-Llama-8B",
        "name": "DeepSeek R1 Distill Llama 8B",
        "description": "Llama 3.1 8B distilled from DeepSeek-R1's reasoning traces: "
        "step-by-step maths and logic on a single GPU.",
        "size_label": "8B",
        "task": "reasoning",
        "context_length": 131072,
        "supported_engines": ["vllm", "sglang", "trtllm"],
        "parameters_billions": 8.03,
        "license": "MIT",
        "gated": False,
        "default_tp": 1,
    },
    {
        "slug": "qwen2-5-vl-7b-instruct",
        "hf_repo_id": "Qwen/Qwen2.5-VL-7B-Instruct",
        "name": "Qwen2.5 VL 7B Instruct",
        "description": "Vision-language Qwen2.5 model that reads images, charts and "
        "documents and answers about them.",
        "size_label": "7B",
        "task": "vision-language",
        "context_length": 32768,
        "supported_engines": ["vllm", "sglang"],
        "parameters_billions": 8.29,
        "license": "Apache-2.0",
        "gated": False,
        "default_tp": 1,
    },
    {
        "slug": "gpt-oss-20b",
        "hf_repo_id": "openai/gpt-oss-20b",
        "name": "gpt-oss 20B",
        "description": "OpenAI's open-weight mixture-of-experts reasoning model "
        "(21B parameters, 3.6B active) with adjustable reasoning effort.",
        "size_label": "21B-A3.6B",
        "task": "reasoning",
        "context_length": 131072,
        "supported_engines": ["vllm", "sglang", "trtllm"],
        "parameters_billions": 21.0,
        "license": "Apache-2.0",
        "gated": False,
        "default_tp": 1,
    },
    {
        "slug": "qwen2-5-coder-32b-instruct",
        "hf_repo_id": "Qwen/Qwen2.5-Coder-32B-Instruct",
        "name": "Qwen2.5 Coder 32B Instruct",
        "description": "Code-specialised Qwen2.5 for generation, repair and reasoning "
        "over code, with a 128K context window.",
        "size_label": "32B",
        "task": "code",
        "context_length": 131072,
        "supported_engines": ["vllm", "sglang", "trtllm"],
        "parameters_billions": 32.8,
        "license": "Apache-2.0",
        "gated": False,
        "default_tp": 2,
    },
    {
        "slug": "llama-3-3-70b-instruct",
        "hf_repo_id": "meta-llama/Llama-3.3-70B-Instruct",
        "name": "Llama 3.3 70B Instruct",
        "description": "Meta's 70B instruction-tuned Llama 3.3: near 405B quality on "
        "text tasks, multilingual, 128K context.",
        "size_label": "70B",
        "task": "chat",
        "context_length": 131072,
        "supported_engines": ["vllm", "sglang", "trtllm"],
        "parameters_billions": 70.6,
        "license": "Llama 3.3 Community License",
        "gated": True,
        "default_tp": 4,
    },
]


def seed(apps, schema_editor):
    CatalogModel = apps.get_model("catalog", "CatalogModel")
    for facts in MODELS:
        CatalogModel.objects.update_or_create(
            slug=facts["slug"],
            defaults={**facts, "min_gpu_memory_gb": _min_gpu_memory(facts["parameters_billions"])},
        )


def unseed(apps, schema_editor):
    CatalogModel = apps.get_model("catalog", "CatalogModel")
    CatalogModel.objects.filter(slug__in=[facts["slug"] for facts in MODELS]).delete()


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
