"""Features figures: per-event cost of `FeaturesCore.handle` against baselines in the same run.

One symbol, 20 trades a second (a 300 s window holds 6,000 trades) and a 200-level book every
second. Baselines: decoding the same events from JSON (what the runtime does before any core
runs), and a naive aggregator that recomputes every window from its trades at each trade.
`python -m bench.features_bench` runs this alone (no database needed) and merges its figures
into bench/results.json.
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from breakout.common.events import (
    BookSnapshot,
    Event,
    MarketTrade,
    RecordedEvent,
    decode_event,
    encode_event,
)
from breakout.features.core import FeaturesCore

T0_MS = 1_795_000_000_000
TRADES_PER_S = 20
WARM_S = 400  # past the longest window and the activity baseline's minimum
MEASURE_TRADES = 20_000
BOOK_LEVELS = 200
MEASURE_BOOKS = 2_000
NAIVE_TRADES = 1_000


def _trades(n: int, start_ms: int, rng: random.Random) -> list[MarketTrade]:
    gap_ms = 1000 // TRADES_PER_S
    return [
        MarketTrade(
            exchange="binance",
            symbol="BTCUSDT",
            trade_id=i,
            price=round(97_000 + rng.uniform(-30, 30), 2),
            qty=round(rng.lognormvariate(-4, 1.5), 6) or 0.000001,
            side=rng.choice(("buy", "sell")),
            exchange_ts_ms=start_ms + i * gap_ms,
            received_ts_ms=start_ms + i * gap_ms + 12,
        )
        for i in range(n)
    ]


def _books(n: int, start_ms: int, rng: random.Random) -> list[BookSnapshot]:
    books = []
    for i in range(n):
        mid_ticks = 9_700_000 + rng.randint(-300, 300)
        bids = [(round((mid_ticks - 1 - k) * 0.01, 2), rng.uniform(0.01, 3)) for k in range(200)]
        asks = [(round((mid_ticks + 1 + k) * 0.01, 2), rng.uniform(0.01, 3)) for k in range(200)]
        books.append(
            BookSnapshot(
                exchange="binance",
                symbol="BTCUSDT",
                sequence=i,
                depth=BOOK_LEVELS,
                bids=bids,
                asks=asks,
                exchange_ts_ms=start_ms + i * 1000,
                received_ts_ms=start_ms + i * 1000 + 8,
            )
        )
    return books


def _recorded(events: list[Event], start: int) -> list[RecordedEvent]:
    at = datetime(2026, 11, 21, tzinfo=UTC)
    return [
        RecordedEvent(
            position=start + i,
            stream="md.bench-binance.BTCUSDT",
            version=start + i,
            event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"bench/{start + i}"),
            type=type(e).type_tag(),
            occurred_at=at,
            recorded_at=at,
            producer="bench",
            data=e,
        )
        for i, e in enumerate(events)
    ]


def _per_event_us(events: list[RecordedEvent], step: Callable[[RecordedEvent], object]) -> float:
    started = time.perf_counter()
    for event in events:
        step(event)
    return (time.perf_counter() - started) / len(events) * 1e6


class NaiveTradeWindows:
    """The obvious implementation: keep the trades, recompute every window at every trade."""

    def __init__(self, windows_s: tuple[int, ...]) -> None:
        self.windows_ms = [w * 1000 for w in windows_s]
        self.trades: list[MarketTrade] = []

    def add(self, trade: MarketTrade) -> list[tuple[int, float, float, float]]:
        """Append, forget what left the longest window, recompute each window's sums."""
        now = trade.exchange_ts_ms
        self.trades.append(trade)
        self.trades = [t for t in self.trades if t.exchange_ts_ms > now - self.windows_ms[-1]]
        out = []
        for window in self.windows_ms:
            inside = [t for t in self.trades if t.exchange_ts_ms > now - window]
            buy = math.fsum(t.qty for t in inside if t.side == "buy")
            sell = math.fsum(t.qty for t in inside if t.side == "sell")
            out.append((len(inside), buy, sell, math.fsum(t.price * t.qty for t in inside)))
        return out


def run() -> dict[str, object]:
    """Measure and return the `features.*` figures."""
    rng = random.Random(20261121)
    warm = _trades(WARM_S * TRADES_PER_S, T0_MS, rng)
    start_ms = warm[-1].exchange_ts_ms + 50
    measured = _trades(MEASURE_TRADES, start_ms, rng)
    books = _books(MEASURE_BOOKS, start_ms, rng)

    core = FeaturesCore()
    for event in _recorded(list(warm), 1):
        core.handle(event)
    trade_events = _recorded(list(measured), len(warm) + 1)
    trade_us = _per_event_us(trade_events, core.handle)
    book_events = _recorded(list(books), len(warm) + len(measured) + 1)
    book_us = _per_event_us(book_events, core.handle)

    payloads = [(e.type, encode_event(e.data)) for e in trade_events]
    started = time.perf_counter()
    for tag, payload in payloads:
        decode_event(tag, payload)
    decode_us = (time.perf_counter() - started) / len(payloads) * 1e6

    started = time.perf_counter()
    state = core.snapshot()
    snapshot_ms = (time.perf_counter() - started) * 1000

    naive = NaiveTradeWindows(core.config.trades.windows_s)
    for trade in warm[-300 * TRADES_PER_S :]:
        naive.trades.append(trade)
    naive_us = _per_event_us(
        trade_events[:NAIVE_TRADES],
        lambda e: naive.add(e.data),  # type: ignore[arg-type]
    )
    return {
        "features.trade_update_us": trade_us,
        "features.book_update_us": book_us,
        "features.trades_per_s": 1e6 / trade_us,
        "features.books_per_s": 1e6 / book_us,
        "features.decode_trade_us": decode_us,
        "features.naive_trade_update_us": naive_us,
        "features.naive_vs_incremental_ratio": naive_us / trade_us,
        # One symbol's whole state after 300 s of trades at 20/s and 2,000 books.
        "features.snapshot_ms_per_symbol": snapshot_ms,
        "features.snapshot_bytes_per_symbol": len(state),
    }


if __name__ == "__main__":
    import json

    from bench.__main__ import write

    figures = run()
    write(figures)
    print(json.dumps(figures, indent=2))
