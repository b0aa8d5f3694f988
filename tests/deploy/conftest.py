"""Fixtures for the deploy form, its services and the cluster module."""

import pytest

from catalog.selectors import catalog_get
from deployments.manifests import ModelFacts

NEW_URL = "/deployments/new/"


def form_data(model: str = "qwen3-8b", **overrides) -> dict:
    """What the deploy form posts for a model with its defaults, changed where asked."""
    data = {
        "model": model,
        "engine": "vllm",
        "name": "",
        "namespace": "default",
        "mode": "aggregated",
        "replicas": "1",
        "tensor_parallel_size": "1",
        "router_mode": "round-robin",
        "hf_token_secret": "hf-token-secret",
        "enable_prefix_caching": "on",
    }
    data.update({key: str(value) for key, value in overrides.items() if value is not None})
    return {key: value for key, value in data.items() if value != "<drop>"}


@pytest.fixture
def qwen(db) -> ModelFacts:
    return ModelFacts.from_catalog(catalog_get(slug="qwen3-8b"))
