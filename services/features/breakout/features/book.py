"""Order-book metrics of one snapshot: USD depth around mid, spread, imbalance; tick sizes.

A snapshot is the ingestion service's top-N book, best level first. Metrics are a pure
function of one snapshot; only the tick size is remembered across snapshots.
"""

from __future__ import annotations

import math
from decimal import Decimal

import msgspec

from breakout.common.events import BookSnapshot
from breakout.common.events.feat import BookMetrics, DepthBand
from breakout.common.events.md import Level
from breakout.features.config import BookConfig

_NAMED_BANDS_PCT = (0.3, 0.5)
_TICK_SAMPLE_LEVELS = 10


class TickSize(msgspec.Struct, kw_only=True):
    """A symbol's price increment: configured, or inferred as the finest decimal seen.

    Inference takes the most decimals any sampled price needs (`97123.45` -> 0.01); it can
    only get finer over time, so a run of prices that happen to end in 0 corrects itself.
    """

    tick: float = 0.0
    decimals: int = 0
    configured: bool = False

    @classmethod
    def fixed(cls, tick: float) -> TickSize:
        """A configured tick size."""
        if not tick > 0:
            raise ValueError(f"tick size must be > 0, got {tick}")
        return cls(tick=tick, decimals=_decimals(tick), configured=True)

    def observe(self, bids: list[Level], asks: list[Level]) -> None:
        """Refine the inferred tick from the best levels of a snapshot."""
        if self.configured:
            return
        sample = [p for p, _ in bids[:_TICK_SAMPLE_LEVELS]]
        sample += [p for p, _ in asks[:_TICK_SAMPLE_LEVELS]]
        decimals = max((_decimals(p) for p in sample), default=0)
        if self.tick == 0.0 or decimals > self.decimals:
            self.decimals = max(decimals, self.decimals)
            self.tick = 10.0**-self.decimals

    def ticks(self, price: float) -> int:
        """`price` as a whole number of ticks."""
        return round(price / self.tick)

    def price(self, ticks: int) -> float:
        """The price of a whole number of ticks, without binary noise (`100.02`, not `…001`)."""
        return round(ticks * self.tick, self.decimals)


def _decimals(price: float) -> int:
    exponent = Decimal(repr(price)).as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def validate_book(book: BookSnapshot) -> None:
    """Refuse a book that is not sorted best-first, has a non-positive level, or is crossed."""
    for side, levels, better in (("bids", book.bids, 1.0), ("asks", book.asks, -1.0)):
        previous = math.inf * better
        for price, qty in levels:
            if not (price > 0 and qty > 0 and math.isfinite(price * qty)):
                raise ValueError(f"{book.symbol} {side}: bad level ({price}, {qty})")
            if (previous - price) * better <= 0:
                raise ValueError(f"{book.symbol} {side}: levels not sorted best-first at {price}")
            previous = price
    if book.bids and book.asks and book.bids[0][0] >= book.asks[0][0]:
        raise ValueError(f"{book.symbol}: crossed book {book.bids[0][0]} >= {book.asks[0][0]}")


def _cumulative_usd(levels: list[Level], limits: list[float], outward: float) -> list[float]:
    # USD of the levels up to each limit; `limits` go away from mid, and `outward` is the
    # sign of a price moving away from mid on this side (-1 for bids, +1 for asks).
    totals = []
    usd = 0.0
    index = 0
    for limit in limits:
        while index < len(levels) and (levels[index][0] - limit) * outward <= 0:
            usd += levels[index][0] * levels[index][1]
            index += 1
        totals.append(usd)
    return totals


def book_metrics(book: BookSnapshot, config: BookConfig, tick: TickSize) -> BookMetrics | None:
    """Metrics of a validated snapshot; None while one side of the book is empty."""
    if not book.bids or not book.asks:
        return None
    best_bid, best_ask = book.bids[0][0], book.asks[0][0]
    mid = (best_bid + best_ask) / 2
    bands_pct = sorted({*config.depth_bands_pct, *_NAMED_BANDS_PCT, config.imbalance_band_pct})
    bid_usd = _cumulative_usd(book.bids, [mid * (1 - b / 100) for b in bands_pct], -1.0)
    ask_usd = _cumulative_usd(book.asks, [mid * (1 + b / 100) for b in bands_pct], 1.0)
    by_pct = {b: (bid, ask) for b, bid, ask in zip(bands_pct, bid_usd, ask_usd, strict=True)}
    bid_0_3, ask_0_3 = by_pct[0.3]
    bid_0_5, ask_0_5 = by_pct[0.5]
    bid_imb, ask_imb = by_pct[config.imbalance_band_pct]
    total = bid_imb + ask_imb
    return BookMetrics(
        exchange=book.exchange,
        symbol=book.symbol,
        ts_ms=book.exchange_ts_ms,
        sequence=book.sequence,
        best_bid=best_bid,
        best_ask=best_ask,
        mid=mid,
        spread_bps=(best_ask - best_bid) / mid * 10_000,
        bid_usd_0_3pct=bid_0_3,
        ask_usd_0_3pct=ask_0_3,
        bid_usd_0_5pct=bid_0_5,
        ask_usd_0_5pct=ask_0_5,
        imbalance=(bid_imb - ask_imb) / total if total > 0 else 0.0,
        imbalance_band_pct=config.imbalance_band_pct,
        bands=[DepthBand(pct=b, bid_usd=by_pct[b][0], ask_usd=by_pct[b][1]) for b in bands_pct],
        bid_reach_pct=(mid - book.bids[-1][0]) / mid * 100,
        ask_reach_pct=(book.asks[-1][0] - mid) / mid * 100,
        tick_size=tick.tick,
    )
