"""What people read on the dashboard and the details page, on a phone and a wide screen:
nothing cut, the reason for Pending without hovering, sort links with clean URLs."""

import re

import pytest
from playwright.sync_api import expect

from deployments import cluster, mirror
from tests.dashboard.conftest import dgd_manifest

pytestmark = pytest.mark.e2e

LONG = "llama-3-1-8b-instruct-for-the-support-team-eu"

# Every element inside `root` whose content is wider than its box, or that sticks out of
# the viewport on the right: what a reader would see cut off.
CLIPPED = """(root) => {
  const width = document.documentElement.clientWidth;
  const found = [];
  for (const el of root.querySelectorAll('*')) {
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.display === 'contents') continue;
    if (el.closest('.sr-only')) continue;  // for screen readers, 1 px on purpose
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    const what = `${el.tagName}.${el.dataset.cell || ''}`;
    if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0)
      found.push(`${what} scrolls: ${el.scrollWidth} > ${el.clientWidth}`);
    if (box.right > width + 1 || box.left < -1)
      found.push(`${what} outside: ${box.left}..${box.right} of ${width}`);
  }
  return found;
}"""


@pytest.fixture
def dashboard(logged_in_page, cluster_sandbox, settings, monkeypatch):
    settings.DYNAMOTE_POLL_SECONDS = 0.5
    mirror.reset()
    yield logged_in_page
    mirror.reset()


def row(page, name: str):
    return page.locator(f'tr[data-deployment="default/{name}"]')


@pytest.mark.parametrize("width", [375, 1440])
def test_pods_are_readable_and_why_not_ready_comes_first(
    dashboard, cluster_sandbox, live_server, width
):
    page = dashboard
    page.set_viewport_size({"width": width, "height": 900})
    cluster.dgd_create(manifest=dgd_manifest(LONG, gpus=16))
    cluster_sandbox.advance(4)
    page.goto(f"{live_server.url}/deployments/default/{LONG}/")

    pods = page.get_by_role("table", name="Pods")
    expect(pods.locator("[data-pod]")).to_have_count(2)
    names = pods.locator("[data-cell=name]").all_inner_texts()
    assert all(name.startswith(LONG) for name in names), names
    assert any(node != "-" for node in pods.locator("[data-cell=node]").all_inner_texts())
    # The Pending pod says why, in plain text (no hover on a phone).
    expect(pods.locator("[data-pod-reason]").first).to_be_visible()
    expect(pods.locator("[data-pod-reason]").first).to_contain_text("nvidia.com/gpu")
    clipped = pods.evaluate(CLIPPED)
    assert clipped == [], f"cut off at {width} px: {clipped}"
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0

    why = page.get_by_role("heading", name=re.compile("Why not ready"))
    configuration = page.get_by_role("heading", name="Configuration")
    expect(why).to_be_visible()
    assert why.bounding_box()["y"] < configuration.bounding_box()["y"]


def test_the_pending_reason_opens_with_a_tap_on_a_phone(dashboard, cluster_sandbox, live_server):
    page = dashboard
    page.set_viewport_size({"width": 375, "height": 800})
    cluster.dgd_create(manifest=dgd_manifest("huge", gpus=16))
    cluster_sandbox.advance(4)
    page.goto(f"{live_server.url}/deployments/")
    reason = row(page, "huge").locator("[data-badge-reason]")
    expect(reason.get_by_text(re.compile("Insufficient nvidia.com/gpu"))).to_be_hidden()
    reason.get_by_text("Why pending?").click()
    expect(reason.get_by_text(re.compile("Insufficient nvidia.com/gpu"))).to_be_visible()
    clipped = page.locator("#deployments-table").evaluate(CLIPPED)
    assert clipped == [], clipped


def test_sorting_keeps_the_poll_fingerprint_out_of_the_url(dashboard, cluster_sandbox, live_server):
    page = dashboard
    cluster.dgd_create(manifest=dgd_manifest("alpha"))
    cluster.dgd_create(manifest=dgd_manifest("beta", gpus=16))
    cluster_sandbox.advance(60)
    page.goto(f"{live_server.url}/deployments/")
    expect(row(page, "beta").locator("[data-badge]")).to_contain_text("Pending")
    page.get_by_role("link", name="Status").click()
    expect(page).to_have_url(re.compile(r"sort=status"))
    expect(page.get_by_role("columnheader", name="Status")).to_have_attribute(
        "aria-sort", "ascending"
    )
    assert "fp=" not in page.url
    page.get_by_role("link", name=re.compile("^Name")).click()
    expect(page).to_have_url(re.compile(r"sort=name"))
    assert "fp=" not in page.url
    page.go_back()
    expect(page).to_have_url(re.compile(r"sort=status"))
    assert "fp=" not in page.url
