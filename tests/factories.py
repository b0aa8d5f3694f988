"""Factories for the project's models."""

from itertools import count

from catalog.models import CatalogModel

_numbers = count(1)


def catalog_model(**overrides) -> CatalogModel:
    number = next(_numbers)
    fields = {
        "slug": f"test-model-{number}",
        "hf_repo_id": f"example/test-model-{number}",
        "name": f"Test Model {number}",
        "description": "A model made for a test.",
        "size_label": "1B",
        "task": "chat",
        "context_length": 8192,
        "supported_engines": ["vllm"],
        "min_gpu_memory_gb": 3,
        "parameters_billions": 1.0,
        "license": "Apache-2.0",
        "gated": False,
        "default_tp": 1,
        "published": True,
    }
    fields.update(overrides)
    return CatalogModel.objects.create(**fields)


def grant_role(user, role: str, namespace: str = "") -> None:
    """Gives the user a role in a namespace ("" = all), replacing the role they had there."""
    from access.models import Grant

    Grant.objects.update_or_create(user=user, namespace=namespace, defaults={"role": role})
    user.__dict__.pop("_dynamote_roles", None)  # the roles this object read before
