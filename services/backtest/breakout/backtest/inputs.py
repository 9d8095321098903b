"""Where a backtest's market data comes from: files, the event store, or the simulator.

`--data` names the source:

| `--data` | source |
| --- | --- |
| `sim` or `sim:BTCUSDT,ETHUSDT` | the exchange_sim generator (`--seed`) from `--start` |
| a file, or a folder of files | `sources.load_file` for each (trades, books, candles) |
| `postgresql://…` | the md.* events (and `regime.state`) recorded in that store |

`MarketData` says what the data holds (`kinds`), so the run knows which filters have no input.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from breakout.backtest.candle_model import CandleModel, with_modelled_prints
from breakout.backtest.feed import (
    MarketInput,
    market_time_ms,
    recorded_input,
    with_candles,
    with_higher_timeframes,
    with_tickers,
)
from breakout.backtest.simgen import SimSession, market_rules, simulated_events
from breakout.backtest.sources import DataKind, LoadedData, load_file
from breakout.common.events import (
    BookSnapshot,
    Candle,
    Event,
    MarketRulesObserved,
    MarketTrade,
    RegimeChanged,
    Ticker24h,
)
from breakout.common.store.port import EventFilter
from breakout.common.store.postgres import PostgresEventStore
from breakout.exchange_sim.specs import split_symbol

MD_CATEGORIES = (
    "md.trade",
    "md.book",
    "md.ticker",
    "md.gap",
    "md.resynced",
    "md.candle.1m",
    "md.candle.5m",
    "md.candle.15m",
    "md.candle.1h",
    "regime",
)


@dataclass
class MarketData:
    """A source's inputs in feed order, and what they hold."""

    inputs: list[MarketInput]
    symbols: tuple[str, ...]
    kinds: set[str]  # "trades", "book", "candles", "ticker", "regime", "modelled"
    rules: list[MarketRulesObserved]
    notes: list[str] = field(default_factory=list)

    @property
    def quote(self) -> str:
        """The quote asset of the markets (the first symbol's)."""
        return split_symbol(self.symbols[0])[1] if self.symbols else "USDT"


def from_sim(session: SimSession) -> MarketData:
    """The generator's session (trades, books, tickers, candles)."""
    inputs = [recorded_input(e, session.exchange) for e in simulated_events(session)]
    return MarketData(
        inputs=inputs,
        symbols=session.symbols,
        kinds={"trades", "book", "candles", "ticker"},
        rules=market_rules(session),
        notes=[f"exchange_sim generator, seed {session.seed}"],
    )


def from_files(
    paths: list[Path],
    *,
    exchange: str = "binance",
    start_ms: int | None = None,
    end_ms: int | None = None,
    model: CandleModel | None = None,
) -> MarketData:
    """Files of one or more symbols, merged in market-time order (see `sources.load_file`)."""
    loaded = [load_file(p, exchange=exchange) for p in sorted(paths)]
    if not loaded:
        raise ValueError("no data files")
    by_symbol: dict[str, list[LoadedData]] = {}
    for data in loaded:
        by_symbol.setdefault(data.symbol, []).append(data)
    streams: list[Iterator[Event]] = []
    kinds: set[str] = set()
    notes: list[str] = []
    for symbol, parts in sorted(by_symbol.items()):
        events = sorted(
            (e for part in parts for e in part.events if _within(e, start_ms, end_ms)),
            key=market_time_ms,
        )
        have = {part.kind for part in parts}
        kinds |= have
        notes += [f"{symbol}: {n}" for part in parts for n in part.notes]
        streams.append(_complete(iter(events), have, model or CandleModel()))
    if "candles" in kinds and not kinds & {"trades", "book"}:
        kinds.add("modelled")
        notes.append("candles only: prints and books along each bar are modelled (candle_model)")
    kinds.add("ticker")
    inputs = [recorded_input(e, exchange) for e in heapq.merge(*streams, key=market_time_ms)]
    symbols = tuple(sorted(by_symbol))
    return MarketData(
        inputs=inputs,
        symbols=symbols,
        kinds=kinds,
        rules=[inferred_rules(s, exchange, inputs) for s in symbols],
        notes=notes,
    )


def _complete(events: Iterator[Event], have: set[DataKind], model: CandleModel) -> Iterator[Event]:
    # What ingest would have recorded besides: candles from trades, longer timeframes from
    # candles, a 24 h ticker from candles; and, for candles alone, the modelled path.
    if "trades" in have and "candles" not in have:
        events = with_candles(events)
    else:
        events = with_higher_timeframes(events)
    events = with_tickers(events)
    if "candles" in have and not have & {"trades", "book"}:
        events = with_modelled_prints(events, model)
    return events


def _within(event: Event, start_ms: int | None, end_ms: int | None) -> bool:
    ts = market_time_ms(event)
    return (start_ms is None or ts >= start_ms) and (end_ms is None or ts <= end_ms)


def inferred_rules(symbol: str, exchange: str, inputs: list[MarketInput]) -> MarketRulesObserved:
    """Rules for a file's market: the tick from the prices' decimals, no minimums, 0.1 % fees."""
    decimals = 2
    for item in inputs[:5000]:
        data = item.event.data
        if isinstance(data, MarketTrade | Candle) and data.symbol == symbol:
            price = data.price if isinstance(data, MarketTrade) else data.close
            text = f"{price:.10f}".rstrip("0")
            decimals = max(decimals, min(10, len(text.split(".")[1]) if "." in text else 0))
    base, quote = split_symbol(symbol)
    return MarketRulesObserved(
        exchange=exchange,
        symbol=symbol,
        base=base,
        quote=quote,
        tick_size=Decimal(1).scaleb(-decimals),
        step_size=Decimal("0.00000001"),
        min_qty=Decimal(0),
        min_notional=Decimal(0),
        taker_fee=Decimal("0.001"),
        maker_fee=Decimal("0.001"),
        ts_ms=inputs[0].ts_ms if inputs else 0,
    )


async def from_store(
    database_url: str, start_ms: int, end_ms: int, symbols: tuple[str, ...] = ()
) -> MarketData:
    """The md.* events (and regime decisions) a store recorded whose market time is in
    [`start_ms`, `end_ms`), in store order, with their recorded ids."""
    store = await PostgresEventStore.connect(database_url)
    inputs: list[MarketInput] = []
    kinds: set[str] = set()
    seen: set[str] = set()
    try:
        cursor = 0
        while True:
            batch = await store.read_all(
                after=cursor, limit=5000, filter=EventFilter(categories=MD_CATEGORIES)
            )
            for event in batch:
                cursor = event.position
                data = event.data
                ts = _event_ms(data, event.occurred_at)
                symbol = getattr(data, "symbol", None)
                if ts < start_ms or ts >= end_ms or (symbols and symbol and symbol not in symbols):
                    continue
                if symbol:
                    seen.add(symbol)
                kinds.add(_kind(data))
                inputs.append(MarketInput(ts, event.stream, event.as_new()))
            if len(batch) < 5000:
                break
    finally:
        await store.close()
    rules = await _recorded_rules(database_url)
    return MarketData(
        inputs=inputs,
        symbols=tuple(sorted(seen)),
        kinds=kinds,
        rules=[r for r in rules if r.symbol in seen],
        notes=[f"recorded in the store, {len(inputs)} events"],
    )


async def _recorded_rules(database_url: str) -> list[MarketRulesObserved]:
    store = await PostgresEventStore.connect(database_url)
    try:
        found = await store.read_all(
            limit=100_000, filter=EventFilter(types=(MarketRulesObserved.type_tag(),))
        )
    finally:
        await store.close()
    latest = {e.data.symbol: e.data for e in found if isinstance(e.data, MarketRulesObserved)}
    return list(latest.values())


def _event_ms(data: Event, occurred_at: datetime) -> int:
    for name in ("exchange_ts_ms", "close_ts_ms", "detected_ts_ms", "resynced_ts_ms", "ts_ms"):
        value = getattr(data, name, None)
        if isinstance(value, int):
            return value
    return int(occurred_at.astimezone(UTC).timestamp() * 1000)


def _kind(data: Event) -> str:
    if isinstance(data, MarketTrade):
        return "trades"
    if isinstance(data, BookSnapshot):
        return "book"
    if isinstance(data, Candle):
        return "candles"
    if isinstance(data, Ticker24h):
        return "ticker"
    if isinstance(data, RegimeChanged):
        return "regime"
    return "other"
