"""The dashboard in a real browser (the machine's Chromium through Playwright) during a simulated
session: events are appended to the store as the services would, the relay publishes them, and
the page (REST first, then the WebSocket bridge) shows the chart, a density wall and a position
appearing live; the kill switch button records a command whose event flips the state shown.
A screenshot is kept under .dev/artifacts/e2e/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from breakout.common.config import InfraSettings
from breakout.common.events import KillRequested, feat_stream
from breakout.common.events.ctl_ops import ctl_stream
from breakout.common.events.regime import NEWS_CLASSIFIED_STREAM, REGIME_STREAM
from breakout.common.events.sig import scan_stream, signal_stream
from breakout.gateway.vendor import VendorCache, VendorError
from tests.e2e.chromium import ensure_chromium
from tests.integration.gateway_support import TOKEN, VENDOR_DIR, gateway_stack
from tests.unit.gateway import factories as f

pytestmark = pytest.mark.integration
ARTIFACTS = Path(__file__).resolve().parents[2] / ".dev" / "artifacts" / "e2e"
T0 = f.BASE_MS
WAIT_MS = 30_000  # a bound against a hang, not a speed assertion

playwright_api = pytest.importorskip("playwright.async_api", reason="python playwright missing")


@pytest.fixture(scope="module")
def chromium() -> Path:
    """The machine's Chromium, installed by this setup when absent."""
    path, why = ensure_chromium()
    if path is None:
        pytest.skip(f"Chromium unavailable: {why}")
    return path


@pytest.fixture
async def page(chromium: Path) -> AsyncIterator[playwright_api.Page]:
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(chromium), headless=True, args=["--no-sandbox"]
        )
        try:
            yield await browser.new_page(viewport={"width": 1400, "height": 900})
        finally:
            await browser.close()


async def test_dashboard_live_session(
    infra: InfraSettings, bus_prefix: str, page: playwright_api.Page
) -> None:
    try:  # the chart library comes from the npm registry, fetched once into .dev/
        await VendorCache(VENDOR_DIR).get("lightweight-charts.js")
    except VendorError as exc:
        pytest.fail(f"the dashboard's chart library could not be fetched: {exc}")
    activity = feat_stream("activity", "binance", "BTCUSDT")
    async with gateway_stack(infra, bus_prefix) as gw:
        await gw.append(
            feat_stream("levels", "binance", "BTCUSDT"), f.levels("BTCUSDT", T0, 104.0, 96.0), T0
        )
        for i in range(5):
            await gw.append(activity, f.activity("BTCUSDT", T0 + i * 1000, 100.0 + i * 0.2), T0 + i)
        await gw.settled()

        await page.goto(f"{gw.url}/ui")
        await page.fill("#token", TOKEN)
        await page.click("#connect")
        await page.wait_for_function(
            "document.getElementById('conn').textContent === 'live'", timeout=WAIT_MS
        )
        # The chart is drawn from the REST state, then grows with each live event.
        await page.wait_for_function("window.breakout.chartReady", timeout=WAIT_MS)
        assert await page.locator("#chart canvas").count() > 0
        before = await page.evaluate("window.breakout.points")
        for i in range(5, 10):
            await gw.append(activity, f.activity("BTCUSDT", T0 + i * 1000, 101.0), T0 + i)
        await page.wait_for_function(f"window.breakout.points >= {before + 5}", timeout=WAIT_MS)

        # A wall appears in the book: the page shows it (table row and a line on the chart).
        await gw.append(
            feat_stream("density", "binance", "BTCUSDT"),
            f.wall("BTCUSDT", "wall-e2e", T0 + 11_000, 99.0),
            T0 + 11_000,
        )
        wall_row = page.locator('#walls tr[data-wall-id="wall-e2e"]')
        await wall_row.wait_for(timeout=WAIT_MS)
        assert "bid" in await wall_row.inner_text()

        # A position opens: it appears with its P&L in R against the last price (101).
        await gw.append(
            "position-p-e2e", f.opened("p-e2e", "BTCUSDT", T0 + 12_000, 100.0, 95.0), T0
        )
        position_row = page.locator('#positions tr[data-position="p-e2e"]')
        await position_row.wait_for(timeout=WAIT_MS)
        assert "0.2" in await position_row.locator("td").nth(5).inner_text()  # (101-100)/5

        # The scanner ranks it and a signal is rejected, with its reason.
        await gw.append(scan_stream("breakout_v1"), f.scan("breakout_v1", T0, ["BTCUSDT"]), T0)
        await gw.append(
            signal_stream("breakout_v1", "BTCUSDT"), f.rejection("breakout_v1", "BTCUSDT", T0), T0
        )
        await page.locator('#candidates a[data-symbol="BTCUSDT"]').wait_for(timeout=WAIT_MS)
        rejection = page.locator("#signals tr").first
        await rejection.wait_for(timeout=WAIT_MS)
        assert "activity_tpm_ratio" in await rejection.inner_text()

        # The regime turns and a headline is classified.
        await gw.append(REGIME_STREAM, f.regime_changed(T0, "RISK_OFF"), T0)
        await gw.append(NEWS_CLASSIFIED_STREAM, f.classified(T0, "Dollar surges"), T0)
        await page.wait_for_function(
            "document.getElementById('regime').textContent === 'RISK_OFF'", timeout=WAIT_MS
        )
        await page.locator("#news tr", has_text="Dollar surges").wait_for(timeout=WAIT_MS)

        # The kill switch: the click records ctl.kill; its event on the bus flips the badge.
        assert await page.get_attribute("#kill-state", "data-state") == "armed"
        await page.click("#kill-entries")
        await page.wait_for_selector('#kill-state[data-state="tripped-entries"]', timeout=WAIT_MS)
        [command] = await gw.stack.store.read_stream(ctl_stream("kill"))
        assert isinstance(command.data, KillRequested)
        assert (command.data.level, command.data.requested_by) == ("entries", "dashboard")

        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
