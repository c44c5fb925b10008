"""The browser can reach the portal, and its start page is accessible."""

from playwright.sync_api import Page, expect

from tests.browser.portal import DEMO, Portal, Screenshots, assert_accessible, log_in


def test_the_demo_citizen_logs_in_with_totp_and_sees_the_dashboard(
    page: Page, portal: Portal, screenshots: Screenshots
) -> None:
    page.goto("/")
    expect(page.locator("h1")).to_be_visible()
    assert_accessible(page)
    screenshots.take(page, "start")
    log_in(page, DEMO["citizen"], DEMO["password"], portal.totp(DEMO["citizen"]))
    expect(page).to_have_url("/uebersicht")
    assert_accessible(page)
    screenshots.take(page, "dashboard")
