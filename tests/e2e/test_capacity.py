"""The Cluster page: a node's GPUs held by a deployment, readable on a phone."""

import pytest
from playwright.sync_api import expect

from deployments import cluster, mirror
from tests.dashboard.conftest import dgd_manifest

pytestmark = pytest.mark.e2e


@pytest.fixture
def big(cluster_sandbox):
    mirror.reset()
    cluster.dgd_create(manifest=dgd_manifest("big", gpus=8, workers=3))
    cluster_sandbox.advance(60)
    yield cluster_sandbox
    mirror.reset()


def test_the_cluster_page_shows_a_nodes_gpus_held_by_a_deployment(logged_in_page, big, live_server):
    page = logged_in_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/models/")
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("link", name="Cluster").click()
    expect(page.get_by_role("heading", name="Cluster", exact=True)).to_be_visible()
    nodes = page.get_by_role("list", name="GPU nodes")
    node_items = nodes.get_by_role("listitem").filter(has=page.get_by_role("heading", level=3))
    held = node_items.filter(has_text="default/big")
    expect(held).to_have_count(2)
    first = held.first
    expect(first).to_contain_text("8 GPUs, 1 pod")
    expect(first).to_contain_text("Pending")
    expect(first.get_by_role("definition").nth(2)).to_have_text("0")  # free
    stuck = page.get_by_role("region", name="Holding GPUs while not Ready")
    expect(stuck).to_contain_text("holds 16 GPUs while Pending: its pending pods need 8 more.")
    # Nothing is cut on a phone: the page is no wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
