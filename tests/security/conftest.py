"""Fixtures for the security tests: a connected sandbox with deployments in it."""

import pytest

from deployments import cluster, mirror
from tests.dashboard.conftest import dgd_manifest


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts with an empty mirror (it is process-wide)."""
    mirror.reset()
    yield
    mirror.reset()


@pytest.fixture
def two_deployments(cluster_sandbox):
    """Two DGDs in namespace default; returns the sandbox."""
    for name in ("llama", "qwen"):
        cluster.dgd_create(manifest=dgd_manifest(name))
    return cluster_sandbox
