"""Fixtures for the security tests: a connected sandbox with deployments in it."""

import pytest

from deployments import cluster
from deployments.mirror import shared_cache
from tests.dashboard.conftest import dgd_manifest


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts with an empty shared cache (it is process-wide)."""
    shared_cache.clear()
    yield
    shared_cache.clear()


@pytest.fixture
def two_deployments(cluster_sandbox):
    """Two DGDs in namespace default; returns the sandbox."""
    for name in ("llama", "qwen"):
        cluster.dgd_create(manifest=dgd_manifest(name))
    return cluster_sandbox
