"""Reads of the catalog."""

from django.db.models import Q, QuerySet

from catalog.models import ENGINES, CatalogModel


def catalog_search(*, query: str = "", engines: list[str] | None = None) -> QuerySet[CatalogModel]:
    """Published models matching every word of `query` and supporting every engine given."""
    models = CatalogModel.objects.published()
    for word in query.split():
        models = models.filter(
            Q(name__icontains=word)
            | Q(hf_repo_id__icontains=word)
            | Q(description__icontains=word)
            | Q(task__icontains=word)
        )
    for engine in engines or []:
        if engine in ENGINES:
            # JSON containment is not portable to SQLite; the quoted token is exact enough.
            models = models.filter(supported_engines__icontains=f'"{engine}"')
    return models


def catalog_get(*, slug: str) -> CatalogModel | None:
    return CatalogModel.objects.published().filter(slug=slug).first()


def catalog_model_json(model: CatalogModel) -> dict:
    """The JSON shape of a catalog model, with the seed's camelCase field names."""
    return {
        "id": model.slug,
        "name": model.name,
        "description": model.description,
        "size": model.size_label,
        "task": model.task,
        "contextLength": model.context_length,
        "supportedEngines": model.supported_engines,
        "minGpuMemory": model.min_gpu_memory_gb,
        "parameters": model.parameters_billions,
        "weightFormat": model.weight_format,
        "license": model.license,
        "hfRepoId": model.hf_repo_id,
        "gated": model.gated,
        "defaultTensorParallelSize": model.default_tp,
    }


def catalog_names() -> dict[str, str]:
    """Model names by catalog id and by Hugging Face repo id (lowercased), in one query."""
    names: dict[str, str] = {}
    for slug, repo, name in CatalogModel.objects.values_list("slug", "hf_repo_id", "name"):
        names[slug] = name
        names.setdefault(repo.lower(), name)
    return names
