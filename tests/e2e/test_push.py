"""Open pages follow the cluster over server-sent events, and poll only without a stream."""

import pytest
from playwright.sync_api import expect

from deployments import cluster, mirror
from deployments.views import live
from tests.dashboard.conftest import dgd_manifest

pytestmark = pytest.mark.e2e


@pytest.fixture
def push_page(logged_in_page, cluster_sandbox, settings, monkeypatch):
    """A logged-in page whose polling (were it on) would ask every half second."""
    settings.DYNAMOTE_POLL_SECONDS = 0.5
    monkeypatch.setattr(mirror, "LIST_TTL", 0.2)
    monkeypatch.setattr(live, "REREAD_SECONDS", 0.3)
    mirror.shared_cache.clear()
    polls: list[str] = []
    logged_in_page.on(
        "request",
        lambda request: polls.append(request.url) if request.headers.get("hx-request") else None,
    )
    logged_in_page.polls = polls
    yield logged_in_page
    mirror.shared_cache.clear()


def test_a_status_change_reaches_the_dashboard_and_details_without_polling(
    push_page, cluster_sandbox, live_server
):
    page = push_page
    cluster.dgd_create(manifest=dgd_manifest("llama"))
    page.goto(f"{live_server.url}/deployments/?namespace=default")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="llama", exact=True))
    expect(row.locator("[data-badge]")).not_to_have_text("Ready")
    expect(page.locator("#deployments-table")).to_have_attribute("data-streaming", "")
    page.evaluate("window.stillTheSamePage = true")
    page.polls.clear()
    cluster_sandbox.advance(120)  # the operator brings it up
    expect(row.locator("[data-badge]")).to_have_text("Ready")
    assert page.polls == []
    assert page.evaluate("window.stillTheSamePage") is True

    page.goto(f"{live_server.url}/deployments/default/llama/")
    expect(page.locator("[data-streaming]")).to_have_count(1)
    page.evaluate("window.stillTheSamePage = true")
    page.polls.clear()
    cluster.dgd_delete(namespace="default", name="llama")
    cluster_sandbox.advance(120)
    expect(page.get_by_text('There is no deployment "llama"')).to_be_visible()
    assert page.polls == []
    assert page.evaluate("window.stillTheSamePage") is True


def test_a_refused_stream_leaves_the_page_polling(push_page, cluster_sandbox, live_server):
    page = push_page
    page.route("**/stream/**", lambda route: route.fulfill(status=503, body=""))
    cluster.dgd_create(manifest=dgd_manifest("llama"))
    page.goto(f"{live_server.url}/deployments/?namespace=default")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="llama", exact=True))
    expect(row.locator("[data-badge]")).not_to_have_text("Ready")
    cluster_sandbox.advance(120)
    expect(row.locator("[data-badge]")).to_have_text("Ready")
    assert page.polls  # the table asked for itself
    expect(page.locator("[data-streaming]")).to_have_count(0)
