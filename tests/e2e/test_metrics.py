"""The Metrics section in Chromium: its charts move while the Try tab sends traffic."""

import json
import re

import pytest
from playwright.sync_api import expect

from deployments import cluster, mirror
from tests.dashboard.conftest import dgd_manifest
from tests.e2e.test_csp import RECORD_VIOLATIONS
from tests.playground.conftest import llama_manifest

pytestmark = [pytest.mark.e2e, pytest.mark.sampler]

# Records every text each chart's latest value shows, so a value seen for one step only
# (a rate that falls back once the traffic stops) still counts.
WATCH_LATEST = """() => {
  window.seenLatest = {};
  document.querySelectorAll("#metrics [data-chart]").forEach((chart) => {
    const name = chart.querySelector("h3").id;
    const latest = chart.querySelector("[data-latest]");
    window.seenLatest[name] = [latest.textContent];
    new MutationObserver(() => window.seenLatest[name].push(latest.textContent))
      .observe(latest, {childList: true, characterData: true, subtree: true});
  });
}"""

# Counts the pixels of a chart's canvas in the first series' colour (NVIDIA green #76B900).
GREEN_PIXELS = """(chart) => {
  const canvas = chart.querySelector("canvas");
  if (!canvas) return 0;
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let green = 0;
  for (let i = 0; i < data.length; i += 4) {
    const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
    if (a > 200 && Math.abs(r - 0x76) < 24 && Math.abs(g - 0xb9) < 24 && b < 40) green++;
  }
  return green;
}"""

CHARTS = [
    "Request rate",
    "In flight and queued",
    "Time to first token",
    "Inter-token latency",
    "Request duration",
    "Tokens",
    "KV-cache use",
    "Pod restarts",
]
VALUE = r"(—|\d[\d,]*(\.\d+)?( [a-z/]+|%))"
# "1.5 requests/s"; with several series "p50 120 ms · p95 340 ms"; "—" without a value.
LATEST = re.compile(rf"^((\w[\w ]* )?{VALUE})( · \w[\w ]* {VALUE})*$")


@pytest.fixture
def live_page(logged_in_page, cluster_sandbox, monkeypatch, settings):
    settings.DYNAMOTE_METRICS_STEP_SECONDS = 1
    monkeypatch.setattr(mirror, "LIST_TTL", 0.2)
    mirror.reset()
    yield logged_in_page
    mirror.reset()


def ready_llama(sandbox) -> None:
    sandbox.api.traffic.scale = 25  # each answer streams for about 4 s: several steps
    cluster.dgd_create(manifest=llama_manifest())
    sandbox.advance(60)


def saw(page, heading: str, condition: str) -> None:
    """Waits until the chart under `heading` showed a latest value meeting `condition`."""
    page.wait_for_function(
        f"() => window.seenLatest[{json.dumps(heading)}].some((text) => {condition})",
        timeout=15_000,
    )


def chat(page, message: str) -> None:
    tab = page.get_by_role("region", name="Try")
    tab.get_by_role("textbox", name="Message").fill(message)
    tab.get_by_role("button", name="Send").click()


def test_the_metrics_charts_move_while_the_try_tab_sends_traffic(
    live_page, cluster_sandbox, live_server
):
    page = live_page
    ready_llama(cluster_sandbox)
    page.add_init_script(RECORD_VIOLATIONS)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/deployments/default/llama/")
    page.get_by_role("navigation", name="On this page").get_by_role("link", name="Metrics").click()
    metrics = page.get_by_role("region", name="Metrics")
    expect(metrics).to_be_in_viewport()
    expect(metrics).to_contain_text("From Dynamote's readings every 1 s")
    for title in CHARTS:
        chart = metrics.get_by_role("region", name=title)
        expect(chart.get_by_role("heading", name=title)).to_be_visible()
        expect(chart.get_by_role("status")).to_have_text(LATEST)
    kv_cache = metrics.get_by_role("region", name="KV-cache use")
    expect(kv_cache.get_by_role("heading")).to_have_text("KV-cache use %")
    expect(kv_cache.get_by_role("status")).to_have_text(re.compile(r"^(—|\d+(\.\d+)?%)$"))
    expect(metrics.locator("canvas").first).to_be_visible()
    page.evaluate(WATCH_LATEST)
    before = page.evaluate("window.seenLatest")

    chat(page, "Hello there")
    # While the answer streams, the frontend counts one request in flight.
    saw(page, "metric-requests", "text.startsWith('In flight 1 request ')")
    answers = page.get_by_role("region", name="Try").get_by_role("listitem", name="Answer")
    expect(answers.last).not_to_have_attribute("aria-busy", "true", timeout=20_000)
    chat(page, "And then?")
    expect(answers).to_have_count(2)
    expect(answers.last).not_to_have_attribute("aria-busy", "true", timeout=20_000)

    for heading in ("metric-request-rate", "metric-ttft"):
        saw(page, heading, f"text !== {json.dumps(before[heading][0])}")
    saw(page, "metric-ttft", r"/^p50 [\d,.]+ ms · p95 [\d,.]+ ms$/.test(text)")
    # The charts are drawn: each series' first colour is on the canvas.
    for title in ("Time to first token", "Request rate"):
        chart = metrics.get_by_role("region", name=title).element_handle()
        page.wait_for_function(f"(chart) => ({GREEN_PIXELS})(chart) > 20", arg=chart)
    # uPlot and the section's script keep to the Content-Security-Policy.
    assert page.evaluate("window.__cspViolations") == []
    assert errors == []


def test_the_metrics_section_fits_a_phone(live_page, cluster_sandbox, live_server):
    page = live_page
    page.set_viewport_size({"width": 375, "height": 812})
    ready_llama(cluster_sandbox)
    page.goto(f"{live_server.url}/deployments/default/llama/#metrics")
    metrics = page.get_by_role("region", name="Metrics")
    expect(metrics).to_contain_text("From Dynamote's readings every 1 s")
    for title in CHARTS:
        expect(metrics.get_by_role("region", name=title).locator("canvas").first).to_be_visible()
    # One column: every chart is as wide as the section's content, and nothing scrolls sideways.
    widths = metrics.locator("[data-chart]").evaluate_all(
        "(charts) => charts.map((chart) => Math.round(chart.getBoundingClientRect().width))"
    )
    assert len(set(widths)) == 1 and widths[0] > 250, widths
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    canvas = metrics.get_by_role("region", name="Request rate").locator("canvas").first
    assert canvas.bounding_box()["width"] <= widths[0]


def test_a_deployment_that_is_not_ready_says_when_its_metrics_show(
    live_page, cluster_sandbox, live_server
):
    page = live_page
    cluster.dgd_create(manifest=dgd_manifest("llama", gpus=64))
    cluster_sandbox.advance(5)
    # The note stays once the section has asked for the metrics.
    with page.expect_response(re.compile(r"/metrics/history\?")):
        page.goto(f"{live_server.url}/deployments/default/llama/")
    metrics = page.get_by_role("region", name="Metrics")
    expect(metrics.get_by_role("status").first).to_have_text(
        "llama is not Ready yet: its metrics show here once its frontend serves them."
    )
    expect(metrics.get_by_role("region", name="Request rate")).to_be_hidden()


def test_a_failed_read_says_why_keeps_the_charts_and_tries_again(
    live_page, cluster_sandbox, live_server
):
    page = live_page
    ready_llama(cluster_sandbox)
    failing = {"now": False}
    message = 'The frontend is not serving: no endpoints available for service "llama-frontend".'

    def answer(route):
        if failing["now"]:
            route.fulfill(status=503, json={"error": message, "fields": {}})
        else:
            route.continue_()

    page.route(re.compile(r"/metrics/history\?"), answer)
    page.goto(f"{live_server.url}/deployments/default/llama/#metrics")
    metrics = page.get_by_role("region", name="Metrics")
    requests = metrics.get_by_role("region", name="In flight and queued").get_by_role("status")
    expect(requests).to_have_text("In flight 0 requests · Queued 0 requests")

    failing["now"] = True
    expect(metrics.get_by_role("alert")).to_have_text(
        f"{message} The charts show the last answer; trying again every 1 s."
    )
    expect(requests).to_have_text("In flight 0 requests · Queued 0 requests")
    expect(
        metrics.get_by_role("region", name="Request rate").locator("canvas").first
    ).to_be_visible()

    failing["now"] = False
    expect(metrics.get_by_role("alert")).to_be_hidden()


HIDE = """(hidden) => {
  Object.defineProperty(document, "hidden", {value: hidden, configurable: true});
  Object.defineProperty(document, "visibilityState", {
    value: hidden ? "hidden" : "visible", configurable: true});
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def test_the_metrics_ask_nothing_while_the_tab_is_hidden_nor_once_the_section_is_gone(
    live_page, cluster_sandbox, live_server
):
    page = live_page
    ready_llama(cluster_sandbox)
    asked = []
    page.on("request", lambda request: "/metrics/history" in request.url and asked.append(1))
    page.goto(f"{live_server.url}/deployments/default/llama/")
    expect(page.get_by_role("region", name="Metrics")).to_contain_text("every 1 s")
    with page.expect_request(re.compile(r"/metrics/history\?")):
        pass  # asked again at the next step

    page.evaluate(HIDE, True)
    before = len(asked)
    page.wait_for_timeout(2500)
    assert len(asked) == before

    with page.expect_request(re.compile(r"/metrics/history\?")):
        page.evaluate(HIDE, False)  # asked at once when the tab shows again

    page.evaluate("document.getElementById('metrics').remove()")
    before = len(asked)
    page.wait_for_timeout(2500)
    assert len(asked) == before


def test_the_charts_appear_without_a_reload_once_the_deployment_is_ready(
    live_page, cluster_sandbox, live_server
):
    page = live_page
    cluster.dgd_create(manifest=llama_manifest())
    cluster_sandbox.advance(1)
    with page.expect_response(re.compile(r"/metrics/history\?")):
        page.goto(f"{live_server.url}/deployments/default/llama/")
    metrics = page.get_by_role("region", name="Metrics")
    expect(metrics.get_by_role("status").first).to_have_text(
        "llama is not Ready yet: its metrics show here once its frontend serves them."
    )
    cluster_sandbox.advance(60)
    chart = metrics.get_by_role("region", name="Request rate")
    expect(chart.locator("canvas").first).to_be_visible()
    expect(metrics).to_contain_text("From Dynamote's readings every 1 s")
    expect(metrics).not_to_contain_text("not Ready yet")
