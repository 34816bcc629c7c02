"""The dashboard in a real browser: Debian's headless Chromium driven by Playwright, against gunicorn and the
simulator after a day of runs. Playwright downloads no browser here: it launches /usr/bin/chromium (`make test`
installs it with apt-get), with Chromium's own background traffic switched off and every request of the page held
to the service's address. The screenshot is kept under var/artifacts/."""
from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.e2e import dashboard_scenario
from tests.support import REPO_ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO_ROOT / "var" / "artifacts"
BROWSER_TIMEOUT_S = 90
# no update checks, sync, metrics, safe-browsing lists, field trials or other calls home: the page's own requests
# are the only traffic
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-default-apps", "--no-first-run", "--no-default-browser-check", "--no-pings",
    "--disable-domain-reliability", "--disable-client-side-phishing-detection", "--disable-breakpad",
    "--metrics-recording-only", "--safebrowsing-disable-auto-update", "--disable-field-trial-config",
    "--disable-features=OptimizationHints,MediaRouter,Translate,AutofillServerCommunication,"
    "CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions",
]


@pytest.fixture
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        pytest.skip("no Chromium at /usr/bin/chromium, and it could not be installed here: `make test` installs "
                    "Debian's chromium with apt-get when it runs as root")
    return CHROMIUM


def in_browser(executable: str, check, *args):
    """`check(browser, *args)` with a Chromium of its own, on a thread of its own: Playwright's sync API runs an
    event loop, which must not meet the one ib_async uses on the test's thread."""
    def session():
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
            try:
                return check(browser, *args)
            finally:
                browser.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(session).result(timeout=BROWSER_TIMEOUT_S)


def open_page(browser, origin: str):
    """A page that records console errors and refuses (and records) any request to another origin."""
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    errors, foreign = [], []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))

    def only_the_service(route):
        if route.request.url.startswith(f"{origin}/"):
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_service)
    return page, errors, foreign


def test_the_dashboard_in_chromium(trading, connect, chromium, capsys):
    s = dashboard_scenario.build(trading(), connect)
    screenshot = in_browser(chromium, check_the_page, s)
    with capsys.disabled():
        print(f"\ndashboard screenshot: {screenshot}")


def check_the_page(browser, s) -> Path:
    """What the page shows after the scenario; returns the screenshot's path."""
    origin = f"http://127.0.0.1:{s.t.service.port}"
    page, errors, foreign = open_page(browser, origin)
    assert page.goto(f"{origin}/dashboard").status == 200

    expect(page.locator("#trading-mode")).to_have_text("PAPER")
    expect(page.locator("#kill-switch")).to_have_text("Trading enabled")
    expect(page.locator("#gateway")).to_contain_text("Gateway connected")
    expect(page.locator("#degraded-banner")).to_have_count(0)

    held = page.locator(f'#strategies [data-strategy="dummy"] tr[data-con-id="{s.mnq}"]')
    expect(held).to_contain_text("MNQ")
    expect(held.locator("td").nth(1)).to_have_text("2")
    expect(page.locator('#strategies [data-strategy="spymacdvixy"]')).to_contain_text("holds nothing")
    # the strategy's own cost basis values it (a position without one shows no PnL)
    expect(held.locator("td").nth(4)).not_to_have_text("–")

    report = page.locator("#daily-report")
    expect(report).to_contain_text(s.report["day"])
    expect(report).to_contain_text("1 ledger difference(s)")
    expect(report.locator('tr[data-strategy="dummy"] td').nth(5)).to_have_text(str(s.report["strategies"]["dummy"]["fills"]))

    chart = page.locator("#net-liquidation-chart")
    assert chart.locator("circle.sample").count() == 4
    expect(chart.locator(".mark.start-of-day")).to_have_count(1)
    expect(chart.locator(".mark.drawdown-limit")).to_have_count(1)

    failed = page.locator('[data-intent="trade-reconciliation"] tr.status-failed')
    expect(failed).to_contain_text(s.failure["error"].split(": ", 1)[1])
    expect(page.locator('[data-intent="reconcile"] tr.run')).to_contain_text("scheduler")

    different = page.locator(f'#ledger-vs-broker tr.differs[data-con-id="{s.aapl}"]')
    expect(different).to_contain_text("AAPL")
    agreeing = page.locator(f'#ledger-vs-broker tr.agrees[data-con-id="{s.mnq}"]')
    highlight = different.locator("td").first.evaluate("cell => getComputedStyle(cell).backgroundColor")
    assert highlight != agreeing.locator("td").first.evaluate("cell => getComputedStyle(cell).backgroundColor")

    expect(page.locator("#working-orders tr.owner-service")).to_contain_text("SPY")
    expect(page.locator("#working-orders tr.owner-other")).to_contain_text("by-hand")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "dashboard.png"
    page.screenshot(path=str(screenshot), full_page=True)

    failed.get_by_role("link", name="document").click()
    expect(page.locator("#run-error")).to_contain_text("LedgerMismatch")
    expect(page.locator("#run-document")).to_contain_text('"status": "failed"')
    assert errors == [] and foreign == []
    return screenshot
