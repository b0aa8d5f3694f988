"""Deploying a model in a real browser, against a sandbox cluster in the test process."""

import importlib
import re
from pathlib import Path

import pytest
from django.apps import apps
from playwright.sync_api import Page, expect

from deployments.models import DeploymentSubmission

pytestmark = pytest.mark.e2e

SEED = importlib.import_module("catalog.migrations.0002_seed_curated_models")
SCREENSHOTS = Path("test-results")


@pytest.fixture(autouse=True)
def curated_catalog(transactional_db):
    """The curated models; the live server's database is flushed after every test."""
    SEED.seed(apps, None)


@pytest.fixture
def deploy_page(logged_in_page: Page, live_server, cluster_sandbox) -> Page:
    """The deploy form for Qwen3 8B, reached from its catalog card."""
    page = logged_in_page
    page.get_by_role("link", name="Deploy Qwen3 8B").click()
    expect(page.get_by_role("heading", name="Deploy Qwen3 8B")).to_be_visible()
    return page


def manifest(page: Page):
    return page.get_by_label("Manifest YAML")


def deploy(page: Page) -> None:
    page.get_by_role("button", name="Deploy", exact=True).click()


@pytest.mark.parametrize(
    ("engine", "label"), [("vllm", "vLLM"), ("sglang", "SGLang"), ("trtllm", "TensorRT-LLM")]
)
def test_deploy_with_each_engine(deploy_page: Page, live_server, cluster_sandbox, engine, label):
    page = deploy_page
    page.get_by_role("radio", name=label).check()
    expect(page.get_by_label("Name", exact=True)).to_have_value(f"qwen3-8b-{engine}")
    expect(manifest(page)).to_contain_text(f"backendFramework: {engine}")
    deploy(page)
    page.wait_for_url(f"{live_server.url}/deployments/default/qwen3-8b-{engine}/")
    expect(page.get_by_role("status").filter(has_text="created")).to_have_text(
        re.compile(f"Deployment qwen3-8b-{engine} created")
    )
    assert cluster_sandbox.get("dgd", "default", f"qwen3-8b-{engine}") is not None


def test_disaggregated_with_the_kv_router(deploy_page: Page, live_server, cluster_sandbox):
    page = deploy_page
    expect(page.get_by_label("Prefill replicas")).to_be_hidden()
    page.get_by_role("radio", name="Disaggregated").check()
    page.get_by_label("Prefill replicas").fill("2")
    page.get_by_label("Decode GPUs per worker (TP)").select_option("2")
    page.get_by_label("Router mode").select_option("kv")
    expect(manifest(page)).to_contain_text("--disaggregation-mode")
    expect(manifest(page)).to_contain_text("value: kv")
    fit = page.locator("#fit-wide [data-gpu-fit]")
    expect(fit).to_contain_text("prefill: Fits:")
    expect(fit).to_contain_text("decode: Fits: 2 nodes have 8 free H100 80GB")
    expect(page.locator("#fit-wide [data-fit-verdict]")).to_have_text(
        "Fits: all 4 GPUs of the workers are free now."
    )
    deploy(page)
    page.wait_for_url(f"{live_server.url}/deployments/default/qwen3-8b-vllm/")
    created = cluster_sandbox.get("dgd", "default", "qwen3-8b-vllm")
    types = {c["name"]: (c["type"], c["replicas"]) for c in created["spec"]["components"]}
    assert types["VllmPrefillWorker"] == ("prefill", 2)
    assert types["VllmDecodeWorker"] == ("decode", 1)


def test_inline_validation_and_the_preview_following_fields(deploy_page: Page):
    page = deploy_page
    page.get_by_label("Replicas", exact=True).fill("3")
    expect(manifest(page)).to_contain_text("replicas: 3")
    page.get_by_label("Name", exact=True).fill("Bad_Name")
    expect(page.get_by_text("Use lowercase letters, digits and hyphens")).to_be_visible()
    page.get_by_label("Replicas", exact=True).fill("11")
    expect(page.get_by_text("Choose between 1 and 10 replicas.")).to_be_visible()
    expect(page.get_by_text("Fix the highlighted fields to see the manifest.")).to_be_visible()
    deploy(page)
    expect(page.get_by_text("Choose between 1 and 10 replicas.")).to_be_visible()
    assert not DeploymentSubmission.objects.exists()


def test_a_missing_secret_is_a_warning_with_the_fix(deploy_page: Page):
    page = deploy_page
    expect(page.get_by_text("Secret hf-token-secret exists in default.")).to_be_visible()
    page.get_by_label("Hugging Face token secret").fill("my-hf-token")
    expect(
        page.get_by_text("Secret my-hf-token does not exist in namespace default")
    ).to_be_visible()
    expect(page.locator("#secret-command")).to_have_text(
        "kubectl create secret generic my-hf-token "
        "'--from-literal=HF_TOKEN=<your Hugging Face token>' -n default"
    )


def test_a_forbidden_namespace_shows_an_error_toast_and_keeps_the_form(
    deploy_page: Page, cluster_sandbox
):
    page = deploy_page
    cluster_sandbox.forbid_dgd_create("dynamo")
    page.get_by_label("Namespace").select_option("dynamo")
    page.get_by_label("Replicas", exact=True).fill("2")
    deploy(page)
    toast = page.get_by_role("alert").filter(has_text="was not created")
    expect(toast).to_contain_text(
        'Forbidden: Dynamote may not create dynamographdeployments in namespace "dynamo"'
    )
    expect(page.get_by_label("Replicas", exact=True)).to_have_value("2")
    expect(page.get_by_label("Namespace")).to_have_value("dynamo")
    assert DeploymentSubmission.objects.get().outcome == "failed"


def test_a_double_click_creates_one_deployment(deploy_page: Page, live_server, cluster_sandbox):
    page = deploy_page
    page.get_by_role("button", name="Deploy", exact=True).dblclick()
    page.wait_for_url(f"{live_server.url}/deployments/default/qwen3-8b-vllm/")
    assert DeploymentSubmission.objects.count() == 1


@pytest.mark.parametrize("width", [375, 1440])
def test_the_form_on_a_phone_and_a_wide_screen(deploy_page: Page, width):
    page = deploy_page
    page.set_viewport_size({"width": width, "height": 900})
    page.get_by_role("radio", name="Disaggregated").check()
    expect(manifest(page)).to_contain_text("--disaggregation-mode")
    # Nothing sticks out sideways.
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"deploy-{width}.png", full_page=True)
