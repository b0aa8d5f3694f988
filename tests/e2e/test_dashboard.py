"""The dashboard in Chromium: live status, pods, delete with confirmation, outages, layouts."""

import re

import pytest
from playwright.sync_api import expect

from deployments import cluster, mirror
from tests.dashboard.conftest import dgd_manifest

pytestmark = pytest.mark.e2e


@pytest.fixture
def dashboard(logged_in_page, cluster_sandbox, settings, monkeypatch, live_server):
    """A logged-in page on a sandbox, polling every half second."""
    settings.DYNAMOTE_POLL_SECONDS = 0.5
    mirror.reset()
    yield logged_in_page
    mirror.reset()


def create(name: str, **kwargs) -> None:
    cluster.dgd_create(manifest=dgd_manifest(name, **kwargs))


def row(page, name: str, namespace: str = "default"):
    return page.locator(f'tr[data-deployment="{namespace}/{name}"]')


def test_deploying_becomes_ready_without_reload(dashboard, cluster_sandbox, live_server):
    page = dashboard
    create("llama")
    cluster_sandbox.advance(3)
    page.goto(f"{live_server.url}/deployments/")
    expect(row(page, "llama").locator("[data-badge]")).to_have_text("Deploying")
    page.evaluate("window.stillTheSamePage = true")
    cluster_sandbox.advance(60)
    expect(row(page, "llama").locator("[data-badge]")).to_have_text("Ready", timeout=8000)
    expect(row(page, "llama").locator("[data-workers]")).to_have_text("1/1")
    assert page.evaluate("window.stillTheSamePage") is True


def test_pods_list_refreshes_until_every_pod_is_ready(dashboard, cluster_sandbox, live_server):
    page = dashboard
    create("llama")
    cluster_sandbox.advance(3)
    page.goto(f"{live_server.url}/deployments/default/llama/")
    pods = page.get_by_role("table", name="Pods").locator("tbody tr")
    expect(pods).to_have_count(2)
    expect(page.locator("#live")).to_have_attribute("data-poll", "0.5")
    expect(page.locator("[data-why-not-ready]")).to_contain_text("pulling the image")
    cluster_sandbox.advance(60)
    expect(pods.filter(has_text="1/1")).to_have_count(2, timeout=8000)
    # Settled: asked three times less often, never never.
    expect(page.locator("#live")).to_have_attribute("data-poll", "1.5")
    expect(
        page.get_by_text("kubectl port-forward svc/llama-frontend 8080:8000 -n default")
    ).to_be_visible()


def test_delete_with_confirmation(dashboard, cluster_sandbox, live_server):
    page = dashboard
    create("llama")
    cluster_sandbox.advance(60)
    page.goto(f"{live_server.url}/deployments/")
    expect(row(page, "llama").locator("[data-badge]")).to_have_text("Ready")

    page.get_by_role("link", name="Delete llama").click()
    dialog = page.get_by_role("dialog", name="Delete llama?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    expect(row(page, "llama")).to_be_visible()
    assert cluster_sandbox.get("dgd", "default", "llama") is not None

    page.get_by_role("link", name="Delete llama").click()
    confirm = dialog.get_by_role("button", name="Delete llama")
    expect(confirm).to_be_disabled()
    dialog.get_by_label("Type llama to confirm").fill("llama")
    expect(confirm).to_be_enabled()
    confirm.click()
    expect(dialog).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text='Deleting "llama"')).to_be_visible()
    expect(row(page, "llama").locator("[data-badge]")).to_have_text("Deleting")
    cluster_sandbox.advance(6)
    expect(row(page, "llama")).to_have_count(0, timeout=8000)
    expect(page.locator("[data-empty]")).to_be_visible()


def test_cluster_down_then_back(dashboard, cluster_sandbox, live_server):
    page = dashboard
    create("llama")
    page.goto(f"{live_server.url}/deployments/")
    expect(row(page, "llama")).to_be_visible()
    cluster_sandbox.stop()
    banner = page.locator("[data-cluster-banner]")
    expect(banner).to_contain_text("Cluster unreachable", timeout=8000)
    expect(banner.locator("[data-stale]")).to_contain_text("Showing the last data, fetched at")
    expect(row(page, "llama")).to_be_visible()
    cluster_sandbox.restart()
    expect(banner).to_have_count(0, timeout=8000)
    expect(row(page, "llama")).to_be_visible()


def test_api_answering_500(dashboard, cluster_sandbox, live_server):
    page = dashboard
    create("llama")
    page.goto(f"{live_server.url}/deployments/")
    expect(row(page, "llama")).to_be_visible()
    # Dynamote's mirror falls behind (its watch hangs while a DGD is added), the cluster
    # forgets the changes since (410 Gone), and its LISTs answer HTTP 500 for a while.
    cluster_sandbox.api.apply_faults({"stallWatches": True})
    create("mistral")
    cluster_sandbox.api.apply_faults(
        {"failLists": {"count": 1000, "code": 500}, "compact": True, "stallWatches": False}
    )
    expect(page.locator("[data-cluster-banner]")).to_contain_text("HTTP 500", timeout=8000)
    expect(row(page, "llama")).to_be_visible()
    cluster_sandbox.clear_faults()
    expect(page.locator("[data-cluster-banner]")).to_have_count(0, timeout=8000)
    expect(row(page, "mistral")).to_be_visible()  # no reload


@pytest.mark.parametrize("width", [375, 768, 1024, 1280, 1440, 1600])
def test_responsive_layout(dashboard, cluster_sandbox, live_server, width):
    page = dashboard
    page.set_viewport_size({"width": width, "height": 800})
    create("deepseek-r1-distill-llama-8b-trtllm", model="meta-llama/Llama-3.1-8B-Instruct")
    create("huge", gpus=16)
    cluster_sandbox.advance(4)
    for path in ("/deployments/", "/deployments/default/huge/"):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways at {width} px"
    # Nor does the table scroll inside its frame: every row's actions are in view.
    table = page.locator("#deployments-table .overflow-x-auto")
    page.goto(f"{live_server.url}/deployments/")
    overflow = table.evaluate("(el) => el.scrollWidth - el.clientWidth")
    assert overflow <= 0, f"the table scrolls sideways by {overflow} px at {width} px"
    page.goto(f"{live_server.url}/deployments/")
    expect(page.get_by_role("link", name="Delete huge")).to_be_visible()
    pending = row(page, "huge").locator("[data-badge]")
    expect(pending).to_contain_text("Pending")
    expect(pending).to_have_attribute("title", re.compile("Insufficient nvidia.com/gpu"))
