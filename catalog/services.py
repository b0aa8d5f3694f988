"""Writes to the catalog."""

from __future__ import annotations

from django.utils.text import slugify

from catalog.custom import CustomModel
from catalog.models import CatalogModel, Task, min_gpu_memory_for


def catalog_add_custom(*, custom: CustomModel) -> tuple[CatalogModel, bool]:
    """A catalog entry for a custom model, or the entry that already has its repo id."""
    existing = CatalogModel.objects.filter(hf_repo_id__iexact=custom.hf_repo_id).first()
    if existing is not None:
        return existing, False
    base = slugify(custom.name)[:60].strip("-") or "model"
    slug, number = base, 2
    while CatalogModel.objects.filter(slug=slug).exists():
        slug, number = f"{base}-{number}", number + 1
    model = CatalogModel.objects.create(
        slug=slug,
        hf_repo_id=custom.hf_repo_id,
        name=custom.name,
        description=f"Added from a custom deployment of {custom.hf_repo_id}.",
        size_label=custom.size_label,
        task=Task.TEXT_GENERATION,
        context_length=custom.context_length,
        supported_engines=list(custom.engines),
        min_gpu_memory_gb=max(1, min_gpu_memory_for(custom.parameters, custom.weight_format)),
        parameters_billions=custom.parameters,
        weight_format=custom.weight_format,
        license="See the model card",
    )
    return model, True
