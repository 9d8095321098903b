"""A realistic market-data workload: trade events as ingestion will record them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from breakout.common.events import Event, NewEvent
from breakout.common.ids import external_event_id
from breakout.common.store.port import StreamAppend

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


class BenchTrade(Event, frozen=True, kw_only=True, tag="bench.trade.v1"):
    """Shaped like a spot trade print (the real type arrives with the ingestion service)."""

    exchange: str
    symbol: str
    trade_id: int
    price: Decimal
    qty: Decimal
    buyer_maker: bool
    exchange_ts_ms: int

    def subject(self) -> str:
        """`md.trade.<exchange>.<symbol>`."""
        return f"md.trade.{self.exchange}.{self.symbol}"


SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT")


def trade(i: int, run: str) -> tuple[str, NewEvent]:
    """The i-th trade of a run: its stream and the event."""
    symbol = SYMBOLS[i % len(SYMBOLS)]
    at = T0 + timedelta(milliseconds=i)
    data = BenchTrade(
        exchange="binance",
        symbol=symbol,
        trade_id=i,
        price=Decimal("97123.45") + Decimal(i % 100) / 100,
        qty=Decimal("0.00310"),
        buyer_maker=i % 3 == 0,
        exchange_ts_ms=int(at.timestamp() * 1000),
    )
    event = NewEvent(
        event_id=external_event_id("bench", run, symbol, i),
        data=data,
        occurred_at=at,
        producer="bench",
    )
    return f"md.trade-binance.{symbol}-{run}", event


def batches(total: int, size: int, run: str) -> list[list[StreamAppend]]:
    """`total` trades grouped into store batches of `size`, one StreamAppend per symbol."""
    out: list[list[StreamAppend]] = []
    for start in range(0, total, size):
        by_stream: dict[str, list[NewEvent]] = {}
        for i in range(start, min(total, start + size)):
            stream, event = trade(i, run)
            by_stream.setdefault(stream, []).append(event)
        out.append([StreamAppend(stream=s, events=e) for s, e in by_stream.items()])
    return out
