"""Market events as ingest would have recorded them: streams, ids, and what a source lacks.

`recorded_input` gives a md.* event the stream and the id ingest gives it
(`external_event_id(venue, symbol, kind, *key)`), so every id derived from it downstream is
the one a live run derives. `market_time_ms` is when the event is known: a trade or a book at
its exchange time, a candle at its close.

`with_candles` builds the candles ingest builds from trades (`breakout.ingest.candles`), and
`with_higher_timeframes` the 5m/15m/1h candles of a 1m (or 5m) candle file, as the exchange's
klines would give them. `with_tickers` derives the rolling 24 h ticker from candles where the
data has none.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import msgspec

from breakout.common.events import BookSnapshot, Candle, Event, MarketTrade, NewEvent, Ticker24h
from breakout.common.events.md import TIMEFRAME_MS, Timeframe, md_stream
from breakout.common.ids import external_event_id
from breakout.ingest.candles import CandleBuilder

PRODUCER = "ingest.backtest"
DAY_MS = 86_400_000
TIMEFRAMES: tuple[Timeframe, ...] = ("1m", "5m", "15m", "1h")


class MarketInput(msgspec.Struct, frozen=True):
    """One market event, ready to append: when it is known, its stream, the event."""

    ts_ms: int
    stream: str
    event: NewEvent


def market_time_ms(event: Event) -> int:
    """When a market event is known: a candle at its close, anything else at its exchange time."""
    if isinstance(event, Candle):
        return event.close_ts_ms
    return int(getattr(event, "exchange_ts_ms"))  # noqa: B009 - every md event but Candle has it


def _kind_key(event: Event) -> tuple[str, tuple[Any, ...], int]:
    if isinstance(event, MarketTrade):
        return "trade", (event.trade_id,), event.exchange_ts_ms
    if isinstance(event, BookSnapshot):
        return "book", (event.sequence,), event.exchange_ts_ms
    if isinstance(event, Candle):
        return f"candle.{event.timeframe}", (event.timeframe, event.open_ts_ms), event.open_ts_ms
    if isinstance(event, Ticker24h):
        return "ticker", (event.exchange_ts_ms,), event.exchange_ts_ms
    raise TypeError(f"not a market event a backtest feeds: {type(event).__name__}")


def recorded_input(event: Event, venue: str) -> MarketInput:
    """The stream and id ingest records `event` under (see the module docstring)."""
    kind, key, source_ms = _kind_key(event)
    symbol = str(getattr(event, "symbol"))  # noqa: B009 - every md event has a symbol
    new = NewEvent(
        event_id=external_event_id(venue, symbol, kind, *key),
        data=event,
        occurred_at=datetime.fromtimestamp(source_ms / 1000, tz=UTC),
        producer=PRODUCER,
    )
    return MarketInput(market_time_ms(event), md_stream(kind, venue, symbol), new)


def with_candles(
    events: Iterable[Event], timeframes: tuple[Timeframe, ...] = TIMEFRAMES
) -> Iterator[Event]:
    """Trades, plus the candles ingest builds from them (the first, partial bucket dropped)."""
    builders: dict[tuple[str, str], CandleBuilder] = {}
    for event in events:
        if isinstance(event, MarketTrade):
            key = (event.exchange, event.symbol)
            builder = builders.get(key)
            if builder is None:
                builder = builders[key] = CandleBuilder(event.exchange, event.symbol, timeframes)
            yield from builder.on_trade(event).candles
        yield event


def with_higher_timeframes(
    candles: Iterable[Event], timeframes: tuple[Timeframe, ...] = TIMEFRAMES
) -> Iterator[Event]:
    """Candles, plus the longer timeframes aggregated from them (complete buckets only)."""
    open_buckets: dict[tuple[str, Timeframe], list[Candle]] = {}
    for event in candles:
        yield event
        if not isinstance(event, Candle):
            continue
        base_ms = TIMEFRAME_MS[event.timeframe]
        for tf in timeframes:
            tf_ms = TIMEFRAME_MS[tf]
            if tf_ms <= base_ms or tf_ms % base_ms:
                continue
            key = (event.symbol, tf)
            bucket = open_buckets.setdefault(key, [])
            if bucket and bucket[0].open_ts_ms // tf_ms != event.open_ts_ms // tf_ms:
                bucket.clear()  # a hole in the data: that bucket never completes
            bucket.append(event)
            if (event.close_ts_ms + 1) % tf_ms == 0:
                if len(bucket) == tf_ms // base_ms:
                    yield _merge(bucket, tf)
                bucket.clear()


def _merge(bars: list[Candle], tf: Timeframe) -> Candle:
    first, last = bars[0], bars[-1]
    return Candle(
        exchange=first.exchange,
        symbol=first.symbol,
        timeframe=tf,
        open_ts_ms=first.open_ts_ms,
        close_ts_ms=last.close_ts_ms,
        open=first.open,
        high=max(b.high for b in bars),
        low=min(b.low for b in bars),
        close=last.close,
        volume=sum(b.volume for b in bars),
        quote_volume=sum(b.quote_volume for b in bars),
        trades=sum(b.trades for b in bars),
        taker_buy_volume=sum(b.taker_buy_volume for b in bars),
        source=first.source,
    )


def with_tickers(candles: Iterable[Event], every_ms: int = 60_000) -> Iterator[Event]:
    """Candles, plus a rolling 24 h ticker per symbol from its finest candles (at most per
    `every_ms`), for data that carries no ticker of its own."""
    windows: dict[str, deque[Candle]] = {}
    finest: dict[str, int] = {}
    last_ms: dict[str, int] = {}
    for event in candles:
        yield event
        if not isinstance(event, Candle):
            continue
        tf_ms = TIMEFRAME_MS[event.timeframe]
        if finest.setdefault(event.symbol, tf_ms) != tf_ms:
            continue
        window = windows.setdefault(event.symbol, deque())
        window.append(event)
        while window and window[0].open_ts_ms <= event.close_ts_ms - DAY_MS:
            window.popleft()
        if event.close_ts_ms - last_ms.get(event.symbol, -every_ms) < every_ms:
            continue
        last_ms[event.symbol] = event.close_ts_ms
        yield _ticker(event, window)


def _ticker(last: Candle, window: deque[Candle]) -> Ticker24h:
    first = window[0]
    quote_volume = sum(c.quote_volume or c.volume * c.close for c in window)
    return Ticker24h(
        exchange=last.exchange,
        symbol=last.symbol,
        last=last.close,
        high=max(c.high for c in window),
        low=min(c.low for c in window),
        open=first.open,
        base_volume=sum(c.volume for c in window),
        quote_volume=quote_volume,
        change_pct=(last.close / first.open - 1) * 100 if first.open else 0.0,
        trades=sum(c.trades for c in window),
        exchange_ts_ms=last.close_ts_ms,
        received_ts_ms=last.close_ts_ms,
    )
