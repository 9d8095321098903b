"""Market-data events for feature tests, built from the real md.* types."""

from __future__ import annotations

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
