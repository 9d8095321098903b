"""Market-data events for feature tests, built from the real md.* types."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

from breakout.common.events import BookSnapshot, Candle, Event, MarketTrade, RecordedEvent
from breakout.common.events.md import TIMEFRAME_MS, Level, Side, Timeframe

T0_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def trade(
    ts_ms: int,
    price: float = 100.0,
    qty: float = 1.0,
    side: Side = "buy",
    *,
    symbol: str = "BTCUSDT",
    trade_id: int = 0,
    latency_ms: int = 5,
) -> MarketTrade:
    """A trade print at exchange time `ts_ms`."""
    return MarketTrade(
        exchange="binance",
        symbol=symbol,
        trade_id=trade_id,
        price=price,
        qty=qty,
        side=side,
        exchange_ts_ms=ts_ms,
        received_ts_ms=ts_ms + latency_ms,
    )


def book(
    ts_ms: int,
    bids: list[Level],
    asks: list[Level],
    *,
    symbol: str = "BTCUSDT",
    sequence: int = 1,
) -> BookSnapshot:
    """A book snapshot (best level first on each side)."""
    return BookSnapshot(
        exchange="binance",
        symbol=symbol,
        sequence=sequence,
        depth=max(len(bids), len(asks)),
        bids=bids,
        asks=asks,
        exchange_ts_ms=ts_ms,
        received_ts_ms=ts_ms + 3,
    )


def candle(
    index: int,
    open_: float,
    high: float,
    low: float,
    close: float,
    *,
    volume: float = 10.0,
    symbol: str = "BTCUSDT",
    timeframe: Timeframe = "5m",
    taker_buy_volume: float | None = None,
    start_ms: int = T0_MS,
) -> Candle:
    """The `index`-th closed candle of `timeframe` from `start_ms`."""
    span = TIMEFRAME_MS[timeframe]
    open_ts = start_ms + index * span
    return Candle(
        exchange="binance",
        symbol=symbol,
        timeframe=timeframe,
        open_ts_ms=open_ts,
        close_ts_ms=open_ts + span - 1,
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=volume,
        quote_volume=volume * close,
        trades=10,
        taker_buy_volume=volume / 2 if taker_buy_volume is None else taker_buy_volume,
    )


def recorded(data: Event, position: int) -> RecordedEvent:
    """`data` as the store would hand it to a core, at global `position`."""
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(milliseconds=position)
    return RecordedEvent(
        position=position,
        stream=f"{type(data).type_tag().rsplit('.', 1)[0]}-test",
        version=position,
        event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"test/{position}"),
        type=type(data).type_tag(),
        occurred_at=at,
        recorded_at=at,
        producer="test",
        data=data,
    )


def market(symbol: str = "BTCUSDT", seconds: int = 60, seed: int = 7) -> list[Event]:
    """Trades every 200 ms and a book every second (with a wall from second 20 on)."""
    rng = random.Random(seed)
    events: list[Event] = []
    for ms in range(0, seconds * 1000, 200):
        price = round(100 + rng.uniform(-0.05, 0.05), 2)
        side = rng.choice(["buy", "sell"])
        qty = rng.uniform(0.1, 2)
        events.append(trade(T0_MS + ms, price, qty, side, symbol=symbol, trade_id=ms // 200))
        if ms % 1000 == 0:
            wall = 500.0 if ms >= 20_000 else 0.0
            bids = [(round(100 - i * 0.01, 2), 1.0 + (wall if i == 9 else 0)) for i in range(1, 60)]
            asks = [(round(100 + i * 0.01, 2), 1.0) for i in range(1, 60)]
            events.append(book(T0_MS + ms, bids, asks, symbol=symbol, sequence=ms))
    return events
