"""Restarting one component from the details page: confirm, watch the progress and new pods."""

import re

import pytest
from playwright.sync_api import expect

from deployments import cluster, mirror
from tests.dashboard.conftest import dgd_manifest

pytestmark = pytest.mark.e2e


@pytest.fixture
def live_page(logged_in_page, cluster_sandbox, settings, monkeypatch):
    """A logged-in page polling every half second."""
    settings.DYNAMOTE_POLL_SECONDS = 0.5
    monkeypatch.setattr(mirror, "STATUS_TTL", 0.5)
    mirror.reset()
    yield logged_in_page
    mirror.reset()


def worker_pods(sandbox) -> set[str]:
    return {
        p["metadata"]["name"]
        for p in sandbox.store.objects("pods")
        if p["metadata"]["labels"].get("nvidia.com/dynamo-component") == "VllmWorker"
    }


def test_restart_a_component_and_watch_its_pods_replaced(live_page, cluster_sandbox, live_server):
    page = live_page
    cluster.dgd_create(manifest=dgd_manifest("llama", workers=2))
    cluster_sandbox.advance(60)
    old = worker_pods(cluster_sandbox)
    page.goto(f"{live_server.url}/deployments/default/llama/")
    expect(page.locator("[data-badge]").first).to_have_text("Ready")
    pods = page.get_by_role("table", name="Pods").get_by_role("row")
    expect(pods).to_have_count(4)  # the header, the frontend, two workers

    page.get_by_role("link", name="Restart").click()
    dialog = page.get_by_role("dialog", name="Restart llama?")
    worker = dialog.get_by_role("radio", name="VllmWorker (worker)")
    expect(worker).to_have_accessible_description(
        "The 2 worker pods restart: one at a time, each new pod ready before an old one stops."
        " Each new pod needs 1 free GPU while the old ones still run."
    )
    worker.check()
    dialog.get_by_role("button", name="Restart").click()
    expect(page.get_by_role("status").filter(has_text="Restarting VllmWorker.")).to_be_visible()

    cluster_sandbox.advance(1)
    progress = page.get_by_role("region", name=re.compile("^Restart"))
    expect(progress).to_contain_text("Restarting VllmWorker.")
    expect(progress).to_contain_text("0 of 2 new pods ready, 2 old pods still running")
    # The new pod comes up beside the two old ones.
    expect(pods).to_have_count(5)
    new = worker_pods(cluster_sandbox) - old
    assert len(new) == 1
    expect(page.get_by_role("row", name=re.compile(next(iter(new))))).to_be_visible()

    cluster_sandbox.advance(20)  # the first new pod is ready: one old pod goes
    expect(progress).to_contain_text("VllmWorker: 1 of 2 new pods ready, 1 old pod still running")

    cluster_sandbox.advance(60)
    expect(progress).to_have_count(0)
    expect(page.get_by_text("Ready: every component is serving.")).to_be_visible()
    expect(pods).to_have_count(4)
    for name in old:
        expect(page.get_by_role("row", name=re.compile(name))).to_have_count(0)
