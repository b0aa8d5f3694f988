"""Signing in: repeated failures lock the account out from this browser, with the reason."""

from playwright.sync_api import Page, expect

from tests.e2e.conftest import PASSWORD


def sign_in(page: Page, username: str, password: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_five_failed_sign_ins_lock_out_even_the_right_password(page: Page, live_server, user):
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/login/")
    for _ in range(4):
        sign_in(page, user.username, "wrong-password")
        expect(page.get_by_role("alert")).to_contain_text("enter a correct username and password")
    sign_in(page, user.username, "wrong-password")
    locked = "Too many failed sign-ins; try again in 15 minutes."
    expect(page.get_by_role("alert")).to_have_text(locked)
    sign_in(page, user.username, PASSWORD)
    expect(page.get_by_role("alert")).to_have_text(locked)
    expect(page).to_have_url(f"{live_server.url}/login/")
