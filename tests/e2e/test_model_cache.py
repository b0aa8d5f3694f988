"""The model cache and the GPU type in Chromium: the claims follow the namespace, and the
choice reaches the live manifest."""

import pytest
from playwright.sync_api import Page, expect

from deployments import mirror

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("curated_catalog")]


def test_the_cache_choice_follows_the_namespace_and_reaches_the_manifest(
    logged_in_page: Page, live_server, cluster_sandbox
):
    cluster_sandbox.create_pvc("dynamo", "team-weights")
    mirror.reset()
    page = logged_in_page
    page.goto(f"{live_server.url}/deployments/new/?model=qwen3-8b")
    manifest = page.get_by_label("Manifest YAML")
    cache = page.get_by_label("Model cache")

    expect(page.get_by_text("No model cache: every worker downloads the weights")).to_be_visible()
    cache.select_option("model-cache")
    expect(manifest).to_contain_text("claimName: model-cache")
    expect(manifest).to_contain_text("mountPath: /opt/models")
    expect(page.get_by_text("is mounted at /opt/models on all 2 pods")).to_be_visible()

    # Another namespace lists its own claims; the old choice is not there.
    page.get_by_label("Namespace").select_option("dynamo")
    expect(
        page.get_by_text("No PersistentVolumeClaim model-cache in namespace dynamo")
    ).to_be_visible()
    page.get_by_label("Model cache").select_option("team-weights")
    expect(manifest).to_contain_text("claimName: team-weights")

    page.get_by_label("GPU type").select_option("NVIDIA-L40S")
    expect(manifest).to_contain_text("nvidia.com/gpu.product: NVIDIA-L40S")
    mirror.reset()
