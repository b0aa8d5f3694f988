"""Deploying a model that is not in the catalog, in a real browser."""

import importlib
import re

import pytest
from django.apps import apps
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

SEED = importlib.import_module("catalog.migrations.0002_seed_curated_models")
REPO = "acme-ai/Falcon-Mini-7B"


@pytest.fixture(autouse=True)
def curated_catalog(transactional_db):
    SEED.seed(apps, None)


def test_deploy_another_model_from_the_catalog(logged_in_page: Page, live_server, cluster_sandbox):
    page = logged_in_page
    page.get_by_role("link", name="Deploy another model").click()
    expect(page.get_by_role("heading", name="Deploy a custom model")).to_be_visible()
    # Impossible facts: messages next to their fields, nothing created.
    page.get_by_label("Hugging Face repo id").fill("no-owner")
    page.get_by_label("Parameters (billions)").fill("0")
    page.get_by_label("Model context length (tokens)").fill("20000000")
    page.get_by_role("button", name="Deploy", exact=True).click()
    expect(page.get_by_text("Give a Hugging Face repo id", exact=False).first).to_be_visible()
    expect(page.get_by_text("more than 0", exact=False).first).to_be_visible()
    expect(page.get_by_text("Choose at least one engine", exact=False).first).to_be_visible()
    assert cluster_sandbox.get("dgd", "default", "acme-ai-falcon-mini-7b-vllm") is None

    # Right facts: the preview and the GPU fit follow, then it deploys.
    page.get_by_label("Hugging Face repo id").fill(REPO)
    page.get_by_label("Parameters (billions)").fill("7")
    page.get_by_label("Model context length (tokens)").fill("32768")
    page.get_by_role("checkbox", name="vLLM").check()
    expect(page.get_by_label("Manifest YAML")).to_contain_text(f"- {REPO}")
    expect(
        page.get_by_text("7 B parameters", exact=False).filter(visible=True).first
    ).to_be_visible()
    expect(page.get_by_label("Name", exact=True)).to_have_value("acme-ai-falcon-mini-7b-vllm")
    page.get_by_role("button", name="Deploy", exact=True).click()
    page.wait_for_url(f"{live_server.url}/deployments/default/acme-ai-falcon-mini-7b-vllm/")
    expect(page.get_by_role("status").filter(has_text="created")).to_have_text(
        re.compile("Deployment acme-ai-falcon-mini-7b-vllm created")
    )
    expect(page.get_by_text(REPO).first).to_be_visible()
    assert cluster_sandbox.get("dgd", "default", "acme-ai-falcon-mini-7b-vllm") is not None
