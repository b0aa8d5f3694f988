"""An open tab follows the cluster: changes made outside Dynamote, and outages in the header."""

import subprocess

import pytest
from playwright.sync_api import expect

from deployments import cluster, mirror
from tests.dashboard.conftest import dgd_manifest

pytestmark = pytest.mark.e2e


@pytest.fixture
def live_page(logged_in_page, cluster_sandbox, settings, monkeypatch):
    """A logged-in page polling every half second (1.5 s once settled)."""
    settings.DYNAMOTE_POLL_SECONDS = 0.5
    monkeypatch.setattr(mirror, "STATUS_TTL", 0.5)
    mirror.reset()
    yield logged_in_page
    mirror.reset()


def test_a_ready_deployment_deleted_with_kubectl_disappears(
    live_page, cluster_sandbox, live_server
):
    page = live_page
    cluster.dgd_create(manifest=dgd_manifest("llama"))
    cluster_sandbox.advance(60)
    page.goto(f"{live_server.url}/deployments/default/llama/")
    expect(page.locator("[data-badge]").first).to_have_text("Ready")
    expect(page.locator("#live")).to_have_attribute("data-poll", "1.5")
    page.evaluate("window.stillTheSamePage = true")
    # Another client, not Dynamote, deletes it.
    subprocess.run(
        [
            "kubectl",
            "--kubeconfig",
            str(cluster_sandbox.kubeconfig_path),
            "delete",
            "dynamographdeployment",
            "llama",
            "-n",
            "default",
            "--wait=false",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    cluster_sandbox.advance(60)  # its pods finish shutting down
    # Within one settled interval (1.5 s) and a margin.
    expect(page.get_by_text('There is no deployment "llama"')).to_be_visible(timeout=4000)
    assert page.evaluate("window.stillTheSamePage") is True


def test_the_header_follows_an_outage_the_table_sees(live_page, cluster_sandbox, live_server):
    page = live_page
    cluster.dgd_create(manifest=dgd_manifest("llama"))
    page.goto(f"{live_server.url}/deployments/")
    expect(page.get_by_label("Cluster: Connected")).to_be_visible()
    cluster_sandbox.stop()
    expect(page.locator("[data-cluster-banner]")).to_contain_text(
        "Cluster unreachable", timeout=8000
    )
    expect(page.get_by_label("Cluster: Unreachable")).to_be_visible()
    cluster_sandbox.restart()
    expect(page.locator("[data-cluster-banner]")).to_have_count(0, timeout=8000)
    expect(page.get_by_label("Cluster: Connected")).to_be_visible(timeout=8000)
