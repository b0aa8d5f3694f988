"""Every page fits the screen from a phone to a wide screen: nothing scrolls sideways, neither
the page nor a table inside its frame (code blocks and the log viewer may)."""

import json

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from deployments import cluster, mirror
from tests.dashboard.conftest import dgd_manifest
from tests.e2e.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("curated_catalog")]

PAGES = [
    "/models/",
    "/deployments/new/?model=qwen3-8b",
    "/deployments/",
    "/deployments/default/deepseek-r1-distill-llama-8b-trtllm/",
    *(
        f"/deployments/default/deepseek-r1-distill-llama-8b-trtllm/{part}/"
        for part in ("scale", "edit", "revisions/2", "restart", "copy", "yaml", "logs", "try")
    ),
    "/cluster/",
    "/access/",
    "/account/tokens/",
    "/audit/",
    "/deployments/import/",
]
WIDTHS = [375, 768, 1024, 1280, 1440]

# Elements that scroll sideways, but for code and logs (which may), with how far.
SIDEWAYS = """() => {
  const found = [];
  const page = document.documentElement;
  const wide = page.scrollWidth - page.clientWidth;
  if (wide > 0) found.push(`the page by ${wide} px`);
  for (const el of document.querySelectorAll("body *")) {
    const style = getComputedStyle(el);
    if (!["auto", "scroll"].includes(style.overflowX)) continue;
    if (el.closest("pre, [role=log]")) continue;
    const by = el.scrollWidth - el.clientWidth;
    if (by > 1) {
      const section = el.closest("section");
      const title = section && section.querySelector("h1, h2");
      const where = section
        ? section.getAttribute("aria-label") || (title && title.textContent) || section.id
        : el.tagName;
      found.push(`${where.trim()} by ${by} px`);
    }
  }
  return found;
}"""


@pytest.fixture
def user(db):
    """An admin, who may open every page (the Access page and the audit log included)."""
    return get_user_model().objects.create_superuser("ada", password=PASSWORD)


def test_no_page_scrolls_sideways_at_any_width(cluster_sandbox, logged_in_page: Page, live_server):
    page = logged_in_page
    mirror.reset()
    name = "deepseek-r1-distill-llama-8b-trtllm"
    cluster.dgd_create(manifest=dgd_manifest(name, model="meta-llama/Llama-3.1-8B-Instruct"))
    cluster_sandbox.advance(60)
    # A revision and audit entries with something in every column.
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    scaled = page.request.patch(
        f"{live_server.url}/api/deployments/{name}?namespace=default",
        data=json.dumps({"replicas": {"VllmWorker": 2}}),
        headers={
            "Content-Type": "application/json",
            "X-CSRFToken": token,
            "Referer": f"{live_server.url}/",
        },
    )
    assert scaled.ok, scaled.text()

    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for path in PAGES:
            response = page.goto(f"{live_server.url}{path}")
            # 409: the edit form of a DGD made outside Dynamote's form points to its YAML.
            loaded = response is not None and (response.ok or response.status == 409)
            assert loaded, f"{path}: {page.locator('main').inner_text()[:500]}"
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            page.wait_for_load_state("networkidle")
            problems += [f"{path} at {width} px: {found}" for found in page.evaluate(SIDEWAYS)]
    assert not problems, "Scrolls sideways:\n" + "\n".join(problems)
