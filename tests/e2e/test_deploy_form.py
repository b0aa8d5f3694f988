"""The deploy form in Chromium: a proposed name that is free, the "taken" suggestion as a
button, and a refused submit on a phone that shows where the problem is."""

import pytest
from playwright.sync_api import Page, expect

from deployments import cluster, mirror
from tests.dashboard.conftest import dgd_manifest

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("curated_catalog")]


@pytest.fixture
def open_form(logged_in_page: Page, live_server, cluster_sandbox):
    """Opens the deploy form for Qwen3 8B (after creating whatever DGDs the test needs)."""
    mirror.reset()

    def go() -> Page:
        page = logged_in_page
        page.goto(f"{live_server.url}/deployments/new/?model=qwen3-8b")
        expect(page.get_by_role("heading", name="Deploy Qwen3 8B")).to_be_visible()
        return page

    yield go
    mirror.reset()


def name_field(page: Page):
    return page.get_by_label("Name", exact=True)


def test_the_proposed_name_is_free_in_the_chosen_namespace(open_form, cluster_sandbox):
    for name in ("qwen3-8b-vllm", "qwen3-8b-sglang", "qwen3-8b-sglang-2"):
        cluster.dgd_create(manifest=dgd_manifest(name))
    page = open_form()
    expect(name_field(page)).to_have_value("qwen3-8b-vllm-2")
    page.get_by_label("Namespace").select_option("dynamo")
    expect(name_field(page)).to_have_value("qwen3-8b-vllm")
    page.get_by_role("radio", name="SGLang").check()
    expect(name_field(page)).to_have_value("qwen3-8b-sglang")
    page.get_by_label("Namespace").select_option("default")
    expect(name_field(page)).to_have_value("qwen3-8b-sglang-3")
    expect(page.get_by_label("Manifest YAML")).to_contain_text("name: qwen3-8b-sglang-3")

    # A name the user typed is theirs: it stays whatever the namespace or engine.
    name_field(page).fill("my-own-name")
    page.get_by_label("Namespace").select_option("dynamo")
    page.get_by_role("radio", name="vLLM").check()
    expect(page.get_by_label("Manifest YAML")).to_contain_text("namespace: dynamo")
    expect(name_field(page)).to_have_value("my-own-name")


def test_a_taken_name_offers_a_button_that_fills_the_field(open_form, cluster_sandbox, live_server):
    cluster.dgd_create(manifest=dgd_manifest("team-llm"))
    page = open_form()
    name_field(page).fill("team-llm")
    page.get_by_role("button", name="Deploy", exact=True).click()
    expect(page.get_by_role("alert").filter(has_text="was not created")).to_be_visible()
    use = page.get_by_role("button", name="Use team-llm-2")
    expect(use).to_be_visible()
    use.click()
    expect(name_field(page)).to_have_value("team-llm-2")
    expect(name_field(page)).to_be_focused()
    expect(page.get_by_label("Manifest YAML")).to_contain_text("name: team-llm-2")
    page.get_by_role("button", name="Deploy", exact=True).click()
    page.wait_for_url(f"{live_server.url}/deployments/default/team-llm-2/")
    assert cluster_sandbox.get("dgd", "default", "team-llm-2") is not None


def test_a_refused_submit_on_a_phone_shows_the_first_error(open_form):
    page = open_form()
    page.set_viewport_size({"width": 375, "height": 740})
    name_field(page).fill("Not A Valid Name")
    deploy = page.get_by_role("button", name="Deploy", exact=True)
    # The GPU fit is read before deploying: on a phone it sits right above the button.
    fit = page.get_by_role("heading", name="GPU fit").locator("visible=true")
    expect(fit).to_have_count(1)
    deploy.scroll_into_view_if_needed()
    assert fit.bounding_box()["y"] < deploy.bounding_box()["y"]
    expect(name_field(page)).not_to_be_in_viewport()

    deploy.click()
    expect(page.get_by_role("alert").filter(has_text="Not deployed: fix the")).to_be_visible()
    expect(name_field(page)).to_be_focused()
    expect(name_field(page)).to_be_in_viewport()
    expect(name_field(page)).to_have_value("Not A Valid Name")
    expect(page.locator("#id_name_errors")).not_to_be_empty()
