"""Liquidity levels: session highs/lows (Asia, London, New York), the prior UTC day's
high/low, the visible range, and the book's wall zones (the macro-aware design's liquidity
engine). Pure functions of the candles held and the walls tracked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from breakout.common.events.feat import BookZone, LiquidityLevels, SessionRange
from breakout.features.config import LevelsRules
from breakout.features.density import Wall
from breakout.features.indicators import Bar

_HOUR_MS = 3_600_000
_DAY_MS = 24 * _HOUR_MS


def session_range(
    bars: Sequence[Bar], name: str, start_ms: int, end_ms: int, span_ms: int
) -> SessionRange | None:
    """High and low of the bars opening in [start, end); None if there are none."""
    inside = [b for b in bars if start_ms <= b[0] < end_ms]
    if not inside:
        return None
    return SessionRange(
        name=name,
        start_ts_ms=start_ms,
        high=max(b[2] for b in inside),
        low=min(b[3] for b in inside),
        complete=len(inside) * span_ms >= end_ms - start_ms,
    )


def latest_sessions(
    bars: Sequence[Bar], hours: dict[str, tuple[int, int]], span_ms: int
) -> list[SessionRange]:
    """Each session's latest occurrence that has begun by the last bar (today's or yesterday's)."""
    now = bars[-1][0]
    day = now - now % _DAY_MS
    found = []
    for name, (start_h, end_h) in sorted(hours.items()):
        start = day + start_h * _HOUR_MS
        if start > now:
            start -= _DAY_MS
        window = session_range(bars, name, start, start + (end_h - start_h) * _HOUR_MS, span_ms)
        if window is not None:
            found.append(window)
    return found


def book_zones(walls: Iterable[Wall]) -> list[BookZone]:
    """The walls tracked now, nearest prices first on each side."""
    zones = [
        BookZone(side=w.side, price_low=w.price_low, price_high=w.price_high, qty=w.last_qty)
        for w in walls
    ]
    return sorted(zones, key=lambda z: (z.side, -z.price_low if z.side == "bid" else z.price_low))


def liquidity_levels(
    bars: Sequence[Bar],
    walls: Iterable[Wall],
    *,
    span_ms: int,
    rules: LevelsRules,
    exchange: str,
    symbol: str,
    timeframe: str,
) -> LiquidityLevels:
    """The liquidity levels as of the last bar."""
    now = bars[-1][0]
    today = now - now % _DAY_MS
    return LiquidityLevels(
        exchange=exchange,
        symbol=symbol,
        timeframe=timeframe,
        open_ts_ms=now,
        sessions=latest_sessions(bars, rules.sessions_utc, span_ms),
        prior_day=session_range(bars, "prior_day", today - _DAY_MS, today, span_ms),
        visible_high=max(b[2] for b in bars),
        visible_low=min(b[3] for b in bars),
        book_zones=book_zones(walls),
    )
