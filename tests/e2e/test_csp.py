"""Every page keeps to Dynamote's Content-Security-Policy in Chromium, with HTMX at work."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, Response, expect

from catalog.models import CatalogModel
from deployments import cluster, mirror
from dynamote.middleware import CONTENT_SECURITY_POLICY
from tests.dashboard.conftest import dgd_manifest
from tests.e2e.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("curated_catalog")]

NOTHING_ALLOWED = "default-src 'none'"

# Runs before any script of each document; records what the browser refused.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push({
    directive: event.violatedDirective,
    blocked: event.blockedURI,
    source: `${event.sourceFile}:${event.lineNumber}`,
    sample: event.sample,
  });
});
"""


@pytest.fixture
def staff(db):
    """A superuser, so the admin pages can be visited too."""
    return get_user_model().objects.create_superuser("ada", password=PASSWORD)


class CspWatch:
    """Collects CSP violations and console complaints per page, and responses without CSP."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.problems: list[str] = []
        self.checked = 0
        page.add_init_script(RECORD_VIOLATIONS)
        page.on("console", self._console)
        page.on("response", self._response)

    def _console(self, message) -> None:
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.problems.append(f"{self.page.url}: console {message.type}: {text}")

    def _response(self, response: Response) -> None:
        # Pages and HTMX partials carry the policy; static files come from the test
        # server's own handler, outside the middleware.
        if not response.url.startswith(self.base_url):
            return
        if response.request.resource_type not in ("document", "xhr", "fetch"):
            return
        self.checked += 1
        header = response.headers.get("content-security-policy")
        # An unchanged poll is an empty 204 with the strictest, shortest policy.
        allowed = {CONTENT_SECURITY_POLICY}
        if response.status == 204:
            allowed.add(NOTHING_ALLOWED)
        if header not in allowed:
            self.problems.append(
                f"{response.request.method} {response.url} ({response.status}): "
                f"Content-Security-Policy is {header!r}"
            )

    def goto(self, path: str) -> None:
        """Leaves the current page (collecting its violations) and opens another."""
        self.collect()
        response = self.page.goto(f"{self.base_url}{path}")
        assert response is not None and response.ok, f"{path} did not load"
        assert response.headers.get("content-security-policy") == CONTENT_SECURITY_POLICY

    def collect(self) -> None:
        """Moves the violations the current document recorded into the problems."""
        if self.page.url.startswith("about:"):
            return
        found = self.page.evaluate("(window.__cspViolations || []).splice(0)")
        for violation in found:
            self.problems.append(
                f"{self.page.url}: {violation['directive']} blocked {violation['blocked']!r} "
                f"at {violation['source']} {violation['sample']!r}"
            )


def is_poll(response: Response) -> bool:
    return response.request.headers.get("hx-request") == "true" and "/deployments/" in response.url


def test_every_page_keeps_to_the_content_security_policy(
    page: Page, live_server, staff, sandbox, use_cluster, settings, monkeypatch
):
    use_cluster(sandbox)
    settings.DYNAMOTE_POLL_SECONDS = 0.5
    mirror.reset()
    cluster.dgd_create(manifest=dgd_manifest("llama"))
    sandbox.advance(3)
    page.set_default_timeout(10_000)
    watch = CspWatch(page, live_server.url)

    watch.goto("/login/")
    page.get_by_label("Username").fill(staff.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/models/")

    # The catalog, searched as you type (an HTMX swap of the results).
    cards = page.get_by_role("region", name="Catalog results").get_by_role("listitem")
    expect(cards).to_have_count(8)
    page.get_by_role("searchbox", name="Search models").fill("qwen")
    expect(page).to_have_url(f"{live_server.url}/models/?q=qwen")
    expect(cards).to_have_count(4)

    # The deploy form: a changed field swaps the preview; Advanced opens.
    watch.goto("/deployments/new/?model=qwen3-8b")
    page.get_by_label("Replicas", exact=True).fill("3")
    expect(page.get_by_label("Manifest YAML")).to_contain_text("replicas: 3")
    page.get_by_text("Advanced", exact=True).click()
    expect(page.get_by_label("Served model name")).to_be_visible()

    # The dashboard: the table partial loads, then its event stream opens (connect-src).
    watch.goto("/deployments/")
    row = page.locator('tr[data-deployment="default/llama"]')
    expect(row.locator("[data-badge]")).to_have_text("Deploying")
    expect(page.locator("#deployments-table")).to_have_attribute("data-streaming", "")

    # The delete confirmation dialog, opened and cancelled.
    page.get_by_role("link", name="Delete llama").click()
    dialog = page.get_by_role("dialog", name="Delete llama?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)

    # The details of the deployment, with its pods refreshing.
    watch.goto("/deployments/default/llama/")
    expect(page.get_by_role("table", name="Pods").locator("tbody tr")).to_have_count(2)
    expect(page.locator("[data-why-not-ready]")).to_be_visible()
    expect(page.locator("[data-streaming]")).to_have_count(1)
    # Without a stream the page polls instead, under the same policy.
    page.route("**/stream/**", lambda route: route.fulfill(status=503, body=""))
    with page.expect_response(is_poll):
        page.reload()

    # The Try tab of the Ready deployment: its script loads and streams an answer by fetch.
    sandbox.advance(60)
    watch.goto("/deployments/default/llama/try/")
    page.get_by_role("textbox", name="Message").fill("Hello")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("listitem", name="Answer").locator("[data-timings]")).to_be_visible()

    watch.goto("/admin/")
    expect(page.get_by_role("link", name="Catalog models")).to_be_visible()
    model = CatalogModel.objects.get(slug="qwen3-8b")
    watch.goto(f"/admin/catalog/catalogmodel/{model.pk}/change/")
    expect(page.get_by_label("Name:")).to_have_value("Qwen3 8B")
    watch.collect()

    assert watch.checked >= 10
    assert not watch.problems, "Content-Security-Policy problems:\n" + "\n".join(watch.problems)
