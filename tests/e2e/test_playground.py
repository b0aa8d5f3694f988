"""The Try tab in Chromium: a chat with a Ready deployment streams its answer and timings."""

import re

import pytest
from playwright.sync_api import expect

from deployments import cluster, mirror
from tests.dashboard.conftest import dgd_manifest
from tests.playground.conftest import MODEL, llama_manifest

pytestmark = pytest.mark.e2e


@pytest.fixture
def live_page(logged_in_page, cluster_sandbox, monkeypatch):
    monkeypatch.setattr(mirror, "LIST_TTL", 0.2)
    mirror.reset()
    yield logged_in_page
    mirror.reset()


def test_chat_with_a_ready_deployment_and_see_the_streamed_answer_and_its_timings(
    live_page, cluster_sandbox, live_server
):
    page = live_page
    # Five times slower than a real Qwen3 0.6B: long enough to watch the answer arrive.
    cluster_sandbox.api.traffic.scale = 5
    cluster.dgd_create(manifest=llama_manifest())
    cluster_sandbox.advance(60)
    page.goto(f"{live_server.url}/deployments/default/llama/")
    page.get_by_role("link", name="Try", exact=True).click()
    tab = page.get_by_role("region", name="Try")
    expect(tab.get_by_role("list", name="Served models")).to_have_text(MODEL)

    tab.get_by_label("System prompt").fill("Answer in one sentence.")
    tab.get_by_role("textbox", name="Message").fill("Hello there")
    expect(page.locator("#try-curl-code")).to_contain_text("Answer in one sentence.")
    tab.get_by_role("button", name="Send").click()

    expect(tab.get_by_role("listitem", name="Your message")).to_have_text("Hello there")
    answer = tab.get_by_role("listitem", name="Answer")
    # Part of the answer shows while the rest is still coming.
    expect(answer.and_(page.locator("[aria-busy=true]"))).to_contain_text('You said "Hello there".')
    expect(answer).not_to_have_attribute("aria-busy", "true", timeout=15_000)
    expect(answer.locator("[data-timings]")).to_have_text(
        re.compile(r"^First token \d+ ms · \d+\.\d tokens/s · \d+(\.\d+)? m?s total · \d+ tokens$")
    )
    expect(tab.get_by_role("textbox", name="Message")).to_have_value("")

    # The next message continues the conversation.
    tab.get_by_role("textbox", name="Message").fill("And then?")
    tab.get_by_role("button", name="Send").click()
    expect(tab.get_by_role("listitem", name="Answer")).to_have_count(2)


def test_the_try_tab_of_a_deployment_that_is_not_ready_explains_why(
    live_page, cluster_sandbox, live_server
):
    page = live_page
    cluster.dgd_create(manifest=dgd_manifest("llama", gpus=64))
    cluster_sandbox.advance(5)
    page.goto(f"{live_server.url}/deployments/default/llama/")
    tab = page.get_by_role("region", name="Try")
    expect(tab.get_by_role("status")).to_contain_text(
        "llama is Pending, not Ready: its frontend answers once every component is serving."
    )
    expect(tab.get_by_role("button", name="Send")).to_have_count(0)


def test_a_chat_refused_before_sending_says_why(live_page, cluster_sandbox, live_server):
    page = live_page
    manifest = llama_manifest()
    worker = manifest["spec"]["components"][1]["podTemplate"]["spec"]["containers"][0]
    worker["args"] += ["--max-model-len", "4096"]
    cluster.dgd_create(manifest=manifest)
    cluster_sandbox.advance(60)
    page.goto(f"{live_server.url}/deployments/default/llama/try/")
    tab = page.get_by_role("region", name="Try llama")
    tab.get_by_label("Max tokens").fill("5000")
    tab.get_by_role("textbox", name="Message").fill("Hello")
    tab.get_by_role("button", name="Send").click()
    expect(tab.get_by_role("alert")).to_have_text(
        "The chat request is not valid; see the fields. max_tokens: At most 4,096 tokens: the "
        "model's context is 4,096 tokens, for the messages and the answer together."
    )
    expect(tab.get_by_role("listitem", name="Answer")).to_have_count(0)
