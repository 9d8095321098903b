"""Liquidity levels: sessions, prior day and book zones on hand-built 5 m candles."""

from __future__ import annotations

from breakout.features.config import LevelsRules
from breakout.features.density import Wall
from breakout.features.indicators import Bar
from breakout.features.sessions import liquidity_levels
from tests.unit.features.factories import T0_MS

SPAN = 300_000
HOUR = 3_600_000


def day_of_bars(day: int, peak: dict[int, float]) -> list[Bar]:
    """288 bars of UTC day `day`; the bar opening at hour h has high 100 + peak.get(h, 0)."""
    bars = []
    for i in range(288):
        ts = T0_MS + day * 24 * HOUR + i * SPAN
        hour = i // 12
        high = 100 + peak.get(hour, 0.0)
        low = 99 - peak.get(hour, 0.0) / 2
        bars.append((ts, 99.5, high, low, 99.5, 1.0, 0.5))
    return bars


def test_sessions_prior_day_visible_range_and_book_zones() -> None:
    yesterday = day_of_bars(0, {3: 5.0, 10: 7.0, 20: 2.0})
    today = day_of_bars(1, {2: 1.0, 9: 3.0})[: 12 * 10]  # up to 09:55 UTC
    walls = [
        Wall(
            wall_id="a",
            side="ask",
            bucket=1,
            price_low=101.0,
            price_high=101.02,
            detected_ts_ms=0,
            initial_qty=50,
            last_qty=40,
        ),
        Wall(
            wall_id="b",
            side="bid",
            bucket=2,
            price_low=98.0,
            price_high=98.02,
            detected_ts_ms=0,
            initial_qty=60,
            last_qty=60,
        ),
    ]
    rules = LevelsRules()
    out = liquidity_levels(
        yesterday + today,
        walls,
        span_ms=SPAN,
        rules=rules,
        exchange="binance",
        symbol="ETHUSDT",
        timeframe="5m",
    )
    sessions = {s.name: s for s in out.sessions}
    # Asia today (00-08): the 02:00 peak; London (07-16) in progress: the 09:00 peak.
    assert (sessions["asia"].high, sessions["asia"].complete) == (101.0, True)
    assert (sessions["london"].high, sessions["london"].complete) == (103.0, False)
    # New York has not begun today: yesterday's (13-22), with its 20:00 peak.
    assert sessions["new_york"].high == 102.0
    assert sessions["new_york"].start_ts_ms == T0_MS + 13 * HOUR
    assert out.prior_day is not None
    assert (out.prior_day.high, out.prior_day.low, out.prior_day.complete) == (107.0, 95.5, True)
    assert (out.visible_high, out.visible_low) == (107.0, 95.5)
    assert [(z.side, z.price_low, z.qty) for z in out.book_zones] == [
        ("ask", 101.0, 40),
        ("bid", 98.0, 60),
    ]
