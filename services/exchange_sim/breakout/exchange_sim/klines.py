"""Candles built from a symbol's own trades: 1-minute bars, aggregated to any Binance interval.

Bars hold integers (ticks, lots, tick*lot units of quote volume) so aggregates are exact. Minutes
without a trade get a flat bar at the previous close, as Binance's klines do.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime

MINUTE_MS = 60_000
DAY_MS = 86_400_000
_MONDAY_OFFSET_MS = 4 * DAY_MS  # 1970-01-01 was a Thursday; Binance weeks open on Monday.

INTERVAL_MS: dict[str, int] = {
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": 60 * MINUTE_MS,
    "2h": 120 * MINUTE_MS,
    "4h": 240 * MINUTE_MS,
    "6h": 360 * MINUTE_MS,
    "8h": 480 * MINUTE_MS,
    "12h": 720 * MINUTE_MS,
    "1d": DAY_MS,
    "3d": 3 * DAY_MS,
    "1w": 7 * DAY_MS,
}
MONTH = "1M"


@dataclass(slots=True)
class Bar:
    """OHLCV of one period in integer units."""

    open_ms: int
    open: int
    high: int
    low: int
    close: int
    volume_lots: int = 0
    quote_units: int = 0
    trades: int = 0
    taker_buy_lots: int = 0
    taker_buy_quote_units: int = 0

    def add_trade(self, price: int, lots: int, taker_buys: bool) -> None:
        """Account one trade in this bar."""
        if self.trades == 0 and self.volume_lots == 0:
            self.open = self.high = self.low = price
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.close = price
        self.volume_lots += lots
        self.quote_units += price * lots
        self.trades += 1
        if taker_buys:
            self.taker_buy_lots += lots
            self.taker_buy_quote_units += price * lots

    def merge(self, other: Bar) -> None:
        """Extend this bar by the next one."""
        self.high = max(self.high, other.high)
        self.low = min(self.low, other.low)
        self.close = other.close
        self.volume_lots += other.volume_lots
        self.quote_units += other.quote_units
        self.trades += other.trades
        self.taker_buy_lots += other.taker_buy_lots
        self.taker_buy_quote_units += other.taker_buy_quote_units


def is_interval(name: str) -> bool:
    """Whether Binance knows this kline interval."""
    return name in INTERVAL_MS or name == MONTH


def bucket_open(interval: str, ts_ms: int) -> int:
    """Open time of the period of `interval` that holds `ts_ms`."""
    if interval == MONTH:
        day = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
        return calendar.timegm((day.year, day.month, 1, 0, 0, 0)) * 1000
    size = INTERVAL_MS[interval]
    offset = _MONDAY_OFFSET_MS if interval == "1w" else 0
    return (ts_ms - offset) // size * size + offset


def bucket_close(interval: str, open_ms: int) -> int:
    """Close time (last millisecond) of the period opening at `open_ms`."""
    if interval == MONTH:
        day = datetime.fromtimestamp(open_ms / 1000, tz=UTC)
        year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
        return calendar.timegm((year, month, 1, 0, 0, 0)) * 1000 - 1
    return open_ms + INTERVAL_MS[interval] - 1


# Bars past `keep_minutes` are cut an hour at a time, so the cut's copy is rare.
_TRIM_MINUTES = 60


class KlineSeries:
    """Contiguous 1-minute bars of one symbol, the last `keep_minutes` of them (all if None).

    A running market adds a bar a minute forever; without a bound 300 symbols grew by ~100 KB
    a minute (~150 MB a day). The simulator keeps its backfilled span (`--history-days`)
    rolling: a query before the oldest kept minute is answered from the oldest kept minute, as
    an exchange answers one from before a market's listing.
    """

    def __init__(self, bars: list[Bar], keep_minutes: int | None = None) -> None:
        if not bars:
            raise ValueError("a kline series needs at least one bar")
        if keep_minutes is not None and keep_minutes < 1:
            raise ValueError("keep_minutes must be at least 1")
        self.bars = bars
        self.keep_minutes = keep_minutes
        self.first_open_ms = bars[0].open_ms
        self._trim()

    def _trim(self) -> None:
        keep = self.keep_minutes
        if keep is not None and len(self.bars) > keep + _TRIM_MINUTES:
            del self.bars[: len(self.bars) - keep]
            self.first_open_ms = self.bars[0].open_ms

    def extend_to(self, ts_ms: int) -> Bar:
        """Make sure the minute holding `ts_ms` exists (flat bars fill silent minutes)."""
        minute = ts_ms // MINUTE_MS * MINUTE_MS
        last = self.bars[-1]
        while last.open_ms < minute:
            price = last.close
            last = Bar(
                open_ms=last.open_ms + MINUTE_MS, open=price, high=price, low=price, close=price
            )
            self.bars.append(last)
            self._trim()
        if minute < last.open_ms:
            return self.bars[self._index(minute)]
        return last

    def add_trade(self, ts_ms: int, price: int, lots: int, taker_buys: bool) -> None:
        """Account a trade in its minute."""
        self.extend_to(ts_ms).add_trade(price, lots, taker_buys)

    def _index(self, minute_ms: int) -> int:
        return max(0, (minute_ms - self.first_open_ms) // MINUTE_MS)

    def minutes(self, start_ms: int, end_ms: int) -> list[Bar]:
        """1-minute bars whose open time lies in [start_ms, end_ms]."""
        if end_ms < self.first_open_ms:
            return []
        lo = self._index(max(start_ms, self.first_open_ms) + MINUTE_MS - 1)
        hi = self._index(end_ms) + 1
        return self.bars[lo:hi]

    def query(
        self, interval: str, *, start_ms: int | None, end_ms: int | None, limit: int, now_ms: int
    ) -> list[Bar]:
        """Binance `klines` semantics: from `start_ms` forward, else the last `limit` to the end."""
        last_ms = min(end_ms if end_ms is not None else now_ms, self.bars[-1].open_ms)
        if start_ms is None:
            opens = self._opens_back(interval, last_ms, limit)
        else:
            opens = self._opens_forward(interval, max(start_ms, self.first_open_ms), last_ms, limit)
        return [self._aggregate(interval, open_ms) for open_ms in opens]

    def _opens_back(self, interval: str, last_ms: int, limit: int) -> list[int]:
        opens: list[int] = []
        open_ms = bucket_open(interval, last_ms)
        first = bucket_open(interval, self.first_open_ms)
        while len(opens) < limit and open_ms >= first:
            opens.append(open_ms)
            open_ms = bucket_open(interval, open_ms - 1)
        return opens[::-1]

    def _opens_forward(self, interval: str, start_ms: int, last_ms: int, limit: int) -> list[int]:
        opens: list[int] = []
        open_ms = bucket_open(interval, start_ms)
        if open_ms < start_ms:
            open_ms = bucket_close(interval, open_ms) + 1
        while len(opens) < limit and open_ms <= last_ms:
            opens.append(open_ms)
            open_ms = bucket_close(interval, open_ms) + 1
        return opens

    def _aggregate(self, interval: str, open_ms: int) -> Bar:
        minutes = self.minutes(open_ms, bucket_close(interval, open_ms))
        first = minutes[0]
        bar = Bar(
            open_ms=open_ms, open=first.open, high=first.high, low=first.low, close=first.close
        )
        for minute in minutes:
            bar.merge(minute)
        return bar
