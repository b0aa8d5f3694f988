"""The catalog model refuses bad facts, and the seeded catalog matches its rule."""

import pytest
from django.core.exceptions import ValidationError

from catalog.models import CatalogModel, min_gpu_memory_for
from tests.factories import catalog_model

pytestmark = pytest.mark.django_db


def _errors(**overrides) -> dict:
    model = CatalogModel(
        slug="x",
        hf_repo_id="a/b",
        name="X",
        description="d",
        size_label="1B",
        task="chat",
        context_length=1024,
        supported_engines=["vllm"],
        min_gpu_memory_gb=3,
        parameters_billions=1,
        license="MIT",
        default_tp=1,
    )
    for field, value in overrides.items():
        setattr(model, field, value)
    with pytest.raises(ValidationError) as info:
        model.full_clean()
    return info.value.message_dict


def test_an_empty_engine_set_is_refused():
    assert _errors(supported_engines=[]) == {"supported_engines": ["Choose at least one engine."]}


def test_an_unknown_engine_is_refused():
    assert (
        "Unknown engine tgi" in _errors(supported_engines=["vllm", "tgi"])["supported_engines"][0]
    )


@pytest.mark.parametrize(
    "field", ["context_length", "min_gpu_memory_gb", "parameters_billions", "default_tp"]
)
def test_non_positive_numbers_are_refused(field):
    assert field in _errors(**{field: 0})


def test_tensor_parallel_size_must_be_a_power_of_two():
    assert _errors(default_tp=3) == {"default_tp": ["Use a power of two: 1, 2, 4 or 8."]}


def test_seeded_catalog_spans_sizes_and_kinds():
    models = list(CatalogModel.objects.published())
    assert len(models) == 8
    sizes = [model.parameters_billions for model in models]
    assert min(sizes) < 1 and max(sizes) >= 70
    assert any(model.task == "reasoning" for model in models)
    assert any("mixture-of-experts" in model.description for model in models)
    for model in models:
        model.full_clean()
        assert model.min_gpu_memory_gb == min_gpu_memory_for(
            model.parameters_billions, model.weight_format
        )


def test_gpt_oss_is_sized_by_its_4_bit_weights():
    """gpt-oss-20b ships MXFP4 weights (about 13 GB), not 42 GB of BF16."""
    from deployments import sizing
    from deployments.manifests import ModelFacts

    gpt_oss = CatalogModel.objects.get(slug="gpt-oss-20b")
    assert gpt_oss.weight_format == "mxfp4"
    assert gpt_oss.min_gpu_memory_gb == 16
    facts = ModelFacts.from_catalog(gpt_oss)
    estimate = sizing.estimate(
        parameters_billions=facts.parameters_billions,
        context_length=8192,
        tensor_parallel_size=1,
        dtype=facts.weight_format,
    )
    assert 12e9 < estimate.weights < 14e9
    assert estimate.per_gpu_gb < 24  # fits one 24 GB GPU at 8k context, not 77 GB


def test_seeded_facts_match_the_model_cards():
    llama = CatalogModel.objects.get(hf_repo_id="meta-llama/Llama-3.3-70B-Instruct")
    assert (llama.context_length, llama.gated, llama.default_tp) == (131072, True, 4)
    qwen = CatalogModel.objects.get(hf_repo_id="Qwen/Qwen3-0.6B")
    assert (qwen.context_length, qwen.gated, qwen.license) == (32768, False, "Apache-2.0")


def test_unpublished_models_are_hidden():
    catalog_model(name="Hidden", published=False)
    assert not CatalogModel.objects.published().filter(name="Hidden").exists()
