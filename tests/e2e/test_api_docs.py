"""The API's interactive documentation works in Chromium with nothing from outside."""

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_csp import CspWatch

pytestmark = pytest.mark.e2e


def test_the_api_docs_page_works_from_dynamotes_own_files(
    logged_in_page: Page, live_server, sandbox, use_cluster
):
    use_cluster(sandbox)
    page = logged_in_page
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith((live_server.url, "data:"))
            else outside.append(request.url)
        ),
    )
    watch = CspWatch(page, live_server.url)
    watch.goto("/api/docs")

    expect(page.get_by_role("heading", name="Dynamote")).to_be_visible()
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    operation = page.get_by_role("button", name="POST /api/deployments/{name}/adopt Adopt")
    operation.click()
    expect(page.get_by_text("Label a DGD created outside Dynamote").first).to_be_visible()

    # Try it out with the session: the page sends the CSRF token, so the write reaches the
    # view, which answers that there is no such deployment (not a CSRF refusal).
    page.get_by_role("button", name="Try it out").click()
    page.get_by_placeholder("name", exact=True).fill("nope")
    with page.expect_response(lambda r: "/api/deployments/nope/adopt" in r.url) as answer:
        page.get_by_role("button", name="Execute").click()
    assert answer.value.status == 404
    assert "There is no deployment" in answer.value.json()["error"]
    watch.collect()

    assert outside == []
    assert not watch.problems, "\n".join(watch.problems)
