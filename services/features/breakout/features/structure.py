"""Market structure on closed candles: swings, break of structure (BOS), change of character
(CHOCH) and liquidity sweeps (the macro-aware design's structure signals).

The bars held are walked from the oldest at each close (a few hundred bars: cheap), so the
result depends only on those bars. A swing is confirmed `k` bars after it; a close above the
last confirmed swing high is a BOS up when the trend was up (or unknown) and a CHOCH up when it
was down, and each swing is broken at most once. A bar whose high takes the last swing high but
closes back under it is a sweep of the highs (lows alike).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from breakout.common.events import Event
from breakout.common.events.feat import LiquiditySweep, StructureShift
from breakout.features.indicators import Bar


def swing_at(bars: Sequence[Bar], i: int, k: int) -> tuple[bool, bool]:
    """Whether bar `i`'s high (low) is beyond those of the `k` bars on each side (k <= i <
    len - k). Run over every bar held at each close: a plain loop, no lists built, stopping
    when neither can hold (a third of the cost of `all()` over a sliced copy)."""
    high, low = bars[i][2], bars[i][3]
    is_high = is_low = True
    for j in range(i - k, i + k + 1):
        if j == i:
            continue
        bar = bars[j]
        if not high > bar[2]:  # `not >` rather than `<=`: a NaN is no swing, as before
            is_high = False
        if not low < bar[3]:
            is_low = False
        if not (is_high or is_low):
            break
    return is_high, is_low


class _Where:
    """What every structure event of one series names."""

    def __init__(self, exchange: str, symbol: str, timeframe: str) -> None:
        self.exchange, self.symbol, self.timeframe = exchange, symbol, timeframe

    def shift(self, bar: Bar, trend: int, up: bool, level: float) -> StructureShift:
        against = trend < 0 if up else trend > 0
        kind: Literal["bos", "choch"] = "choch" if against else "bos"
        return StructureShift(
            exchange=self.exchange,
            symbol=self.symbol,
            timeframe=self.timeframe,
            open_ts_ms=bar[0],
            kind=kind,
            direction="up" if up else "down",
            level=level,
            close=bar[4],
        )

    def sweep(self, bar: Bar, up: bool, level: float) -> LiquiditySweep:
        return LiquiditySweep(
            exchange=self.exchange,
            symbol=self.symbol,
            timeframe=self.timeframe,
            open_ts_ms=bar[0],
            side="highs" if up else "lows",
            level=level,
            extreme=bar[2] if up else bar[3],
            close=bar[4],
        )


def structure(
    bars: Sequence[Bar], k: int, *, exchange: str, symbol: str, timeframe: str
) -> list[Event]:
    """The structure events of the last bar (none on most bars)."""
    where = _Where(exchange, symbol, timeframe)
    high: float | None = None
    low: float | None = None
    trend = 0
    found: list[Event] = []
    for i, bar in enumerate(bars):
        # The swing at i - k is confirmed once bar i is known.
        if i >= 2 * k:
            is_high, is_low = swing_at(bars, i - k, k)
            high = bars[i - k][2] if is_high else high
            low = bars[i - k][3] if is_low else low
        last = i == len(bars) - 1
        _, _, bar_high, bar_low, close, _, _ = bar
        if high is not None and close > high:
            if last:
                found.append(where.shift(bar, trend, True, high))
            trend, high = 1, None
        elif high is not None and bar_high > high and last:
            found.append(where.sweep(bar, True, high))
        if low is not None and close < low:
            if last:
                found.append(where.shift(bar, trend, False, low))
            trend, low = -1, None
        elif low is not None and bar_low < low and last:
            found.append(where.sweep(bar, False, low))
    return found
