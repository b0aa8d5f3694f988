"""The foundation in a real browser: login, the catalog, search, filters and layout."""

import importlib
import re

import pytest
from django.apps import apps
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.conftest import PASSWORD

pytestmark = pytest.mark.e2e

SEED = importlib.import_module("catalog.migrations.0002_seed_curated_models")
GATED = {"Llama 3.1 8B Instruct", "Llama 3.3 70B Instruct"}


@pytest.fixture(autouse=True)
def curated_catalog(transactional_db):
    """The curated models; the live server's database is flushed after every test."""
    SEED.seed(apps, None)


def results(page: Page) -> Locator:
    return page.get_by_role("region", name="Catalog results")


def cards(page: Page) -> Locator:
    return results(page).get_by_role("listitem")


def search_box(page: Page) -> Locator:
    return page.get_by_role("searchbox", name="Search models")


def engine_chip(page: Page, label: str) -> Locator:
    """The visible chip a person clicks; the checkbox itself is visually hidden."""
    return page.get_by_role("search").get_by_text(label, exact=True)


def log_in(page: Page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_log_in_with_a_wrong_password_shows_the_error(page: Page, live_server, user):
    log_in(page, live_server.url, user.username, "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    expect(page).to_have_url(f"{live_server.url}/login/")
    expect(page.get_by_label("Username")).to_have_value(user.username)


def test_log_in_then_log_out_from_the_header(page: Page, live_server, user):
    log_in(page, live_server.url, user.username, PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/models/")
    expect(page.get_by_role("heading", name="Models", level=1)).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{live_server.url}/login/")
    page.goto(f"{live_server.url}/models/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/models/$"))


def test_catalog_shows_the_curated_models_as_cards(logged_in_page: Page):
    page = logged_in_page
    expect(cards(page)).to_have_count(len(SEED.MODELS))
    expect(results(page).get_by_text("8 models", exact=True)).to_be_visible()

    for facts in SEED.MODELS:
        card = cards(page).filter(has=page.get_by_role("heading", name=facts["name"], exact=True))
        expect(card).to_be_visible()
        expect(card.get_by_text(facts["hf_repo_id"], exact=True)).to_be_visible()
        expect(card.get_by_text("vLLM", exact=True)).to_be_visible()
        expect(card.get_by_text("SGLang", exact=True)).to_be_visible()
        expect(card.get_by_text("TensorRT-LLM", exact=True)).to_have_count(
            1 if "trtllm" in facts["supported_engines"] else 0
        )
        expect(card.get_by_text("Gated", exact=True)).to_have_count(
            1 if facts["name"] in GATED else 0
        )


def test_search_as_you_type_updates_results_url_and_count(logged_in_page: Page):
    page = logged_in_page
    expect(cards(page)).to_have_count(8)

    search_box(page).press_sequentially("coder", delay=40)
    expect(cards(page)).to_have_count(1)
    expect(cards(page).get_by_role("heading")).to_have_text("Qwen2.5 Coder 32B Instruct")
    expect(page).to_have_url(re.compile(r"/models/\?q=coder$"))
    expect(results(page).get_by_text("1 model matches", exact=True)).to_be_visible()

    page.go_back()
    expect(page).to_have_url(re.compile(r"/models/$"))
    expect(cards(page)).to_have_count(8)
    expect(results(page).get_by_text("8 models", exact=True)).to_be_visible()


def test_back_and_forward_keep_the_form_in_step_with_the_results(logged_in_page: Page):
    page = logged_in_page
    trtllm = page.get_by_role("checkbox", name="TensorRT-LLM")
    search_box(page).press_sequentially("qwen2.5", delay=40)
    expect(page).to_have_url(re.compile(r"\?q=qwen2.5$"))
    engine_chip(page, "TensorRT-LLM").click()
    expect(page).to_have_url(re.compile(r"\?q=qwen2.5&engine=trtllm$"))
    expect(cards(page)).to_have_count(1)

    page.go_back()
    expect(page).to_have_url(re.compile(r"\?q=qwen2.5$"))
    expect(cards(page)).to_have_count(2)
    expect(search_box(page)).to_have_value("qwen2.5")
    expect(trtllm).not_to_be_checked()

    page.go_forward()
    expect(page).to_have_url(re.compile(r"\?q=qwen2.5&engine=trtllm$"))
    expect(cards(page)).to_have_count(1)
    expect(search_box(page)).to_have_value("qwen2.5")
    expect(trtllm).to_be_checked()


def test_back_without_a_cached_snapshot_reloads_the_whole_page(logged_in_page: Page):
    page = logged_in_page
    search_box(page).press_sequentially("coder", delay=40)
    expect(page).to_have_url(re.compile(r"\?q=coder$"))
    expect(cards(page)).to_have_count(1)
    # The snapshot cache keeps a few pages only; older entries come from the server.
    page.evaluate("sessionStorage.removeItem('htmx-history-cache')")

    page.go_back()
    expect(page).to_have_url(re.compile(r"/models/$"))
    expect(cards(page)).to_have_count(8)
    expect(page.get_by_role("heading", name="Models", level=1)).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(search_box(page)).to_have_value("")


def test_engine_chips_combine_with_search_and_clear_filters_resets(logged_in_page: Page):
    page = logged_in_page
    trtllm = page.get_by_role("checkbox", name="TensorRT-LLM")

    engine_chip(page, "TensorRT-LLM").click()
    expect(trtllm).to_be_checked()
    expect(page).to_have_url(re.compile(r"engine=trtllm"))
    expect(cards(page)).to_have_count(7)
    expect(results(page).get_by_text("7 models match", exact=True)).to_be_visible()

    engine_chip(page, "SGLang").click()
    expect(page).to_have_url(re.compile(r"engine=sglang"))
    expect(page).to_have_url(re.compile(r"engine=trtllm"))
    expect(cards(page)).to_have_count(7)

    search_box(page).press_sequentially("vision", delay=40)
    expect(page).to_have_url(re.compile(r"q=vision"))
    expect(results(page).get_by_text("No models match these filters.")).to_be_visible()
    expect(cards(page)).to_have_count(0)

    engine_chip(page, "TensorRT-LLM").click()
    expect(trtllm).not_to_be_checked()
    expect(page).not_to_have_url(re.compile(r"engine=trtllm"))
    expect(cards(page)).to_have_count(1)
    expect(cards(page).get_by_role("heading")).to_have_text("Qwen2.5 VL 7B Instruct")

    engine_chip(page, "TensorRT-LLM").click()
    expect(cards(page)).to_have_count(0)
    page.get_by_role("link", name="Clear filters").click()
    expect(page).to_have_url(re.compile(r"/models/$"))
    expect(cards(page)).to_have_count(8)
    expect(search_box(page)).to_have_value("")
    expect(trtllm).not_to_be_checked()
    expect(page.get_by_role("checkbox", name="SGLang")).not_to_be_checked()


def test_deploy_button_opens_the_deploy_form_for_that_model(logged_in_page: Page):
    page = logged_in_page
    page.get_by_role("link", name="Deploy Qwen3 8B").click()
    expect(page).to_have_url(re.compile(r"/deployments/new/\?model=qwen3-8b$"))
    expect(page.get_by_role("main")).to_contain_text("Qwen/Qwen3-8B")


def _first_row_columns(page: Page) -> int:
    boxes = [card.bounding_box() for card in cards(page).all()]
    top = boxes[0]["y"]
    return len({round(box["x"]) for box in boxes if abs(box["y"] - top) < 1})


def test_phone_layout_hides_the_sidebar_behind_a_menu_button(logged_in_page: Page):
    page = logged_in_page
    page.set_viewport_size({"width": 375, "height": 812})
    sidebar = page.get_by_role("navigation", name="Main")
    menu = page.get_by_role("button", name="Menu", exact=True)

    expect(sidebar).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(sidebar.get_by_role("link", name="Models")).to_be_visible()
    expect(sidebar.get_by_role("link", name="Deployments")).to_be_visible()
    page.keyboard.press("Escape")
    expect(sidebar).to_be_hidden()
    menu.click()
    sidebar.get_by_role("button", name="Close menu").click()
    expect(sidebar).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")

    expect(cards(page)).to_have_count(8)
    assert len({round(card.bounding_box()["x"]) for card in cards(page).all()}) == 1


def test_desktop_layout_shows_the_sidebar_and_four_columns(logged_in_page: Page):
    page = logged_in_page
    page.set_viewport_size({"width": 1440, "height": 900})
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_role("button", name="Menu", exact=True)).to_be_hidden()
    expect(cards(page)).to_have_count(8)
    assert _first_row_columns(page) == 4


def test_keyboard_focus_on_the_search_box_is_visible(logged_in_page: Page):
    page = logged_in_page
    box = search_box(page)
    for _ in range(10):
        page.keyboard.press("Tab")
        if box.evaluate("el => el === document.activeElement"):
            break
    expect(box).to_be_focused()
    outline, shadow = box.evaluate(
        "el => { const s = getComputedStyle(el); return [s.outlineStyle, s.boxShadow]; }"
    )
    assert outline != "none" or shadow != "none", (outline, shadow)


def test_search_form_works_without_javascript(browser: Browser, live_server, user):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        log_in(page, live_server.url, user.username, PASSWORD)
        expect(page).to_have_url(f"{live_server.url}/models/")

        search_box(page).fill("coder")
        engine_chip(page, "SGLang").click()
        page.get_by_role("button", name="Search", exact=True).click()
        expect(page).to_have_url(re.compile(r"/models/\?q=coder&engine=sglang$"))
        expect(cards(page)).to_have_count(1)
        expect(cards(page).get_by_role("heading")).to_have_text("Qwen2.5 Coder 32B Instruct")
        expect(search_box(page)).to_have_value("coder")
        expect(page.get_by_role("checkbox", name="SGLang")).to_be_checked()
    finally:
        context.close()
