"""A scripted trading session recorded in a store, for replay and audit tests.

Market data and features are appended as ingest and the features service record them (a feature
names the candle it was computed from as its cause); regime and the exchange's observations as
the regime service and the execution router record them. The signals, risk and execution cores
run as process applications over the store (store-only catch-up, as a restart would), so every
decision in the log is the real cores' with the runtime's ids, causation and checkpoints. The
entry's fills come from `outcome_events`, the function the router turns exchange answers into
events with.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import asyncpg
import msgspec

from breakout.common.events import (
    Event,
    NewEvent,
    OrderSubmitted,
    PositionOpened,
    RecordedEvent,
    SignalGenerated,
    account_stream,
    feat_stream,
    market_stream,
    md_stream,
    order_stream,
)
from breakout.common.events.regime import REGIME_STREAM
from breakout.common.presets import Preset, load_preset
from breakout.common.runtime.application import ProcessApplication, RuntimeConfig
from breakout.common.runtime.core import Core
from breakout.common.store.port import EventStore
from breakout.execution.broker import ExchangeOrder, ExchangeTrade, OrderView, outcome_events
from breakout.execution.core import ExecutionCore
from breakout.risk.core import RiskCore
from breakout.signals.core import SignalsCore
from tests.support.trading import balance, regime, rules
from tests.unit.signals.factories import T0, book, breakout, market

T = TypeVar("T")
PRESET_NAME = "unit_preset"
SIGNALS = f"signals-{PRESET_NAME}"
SNAPSHOTS = RuntimeConfig(snapshot_every=3)  # small, so the replay can start from a snapshot


@dataclass
class Session:
    """What the scripted session recorded."""

    preset_path: Path
    signal: SignalGenerated
    entry: OrderSubmitted
    opened: PositionOpened


def write_preset(folder: Path) -> Path:
    """The session's preset (every default) as a file the CLI can be given."""
    path = folder / f"{PRESET_NAME}.json"
    path.write_bytes(msgspec.json.encode({"name": PRESET_NAME, "version": 1}))
    return path


def _new(event: Event, producer: str, cause: uuid.UUID | None = None) -> NewEvent:
    ts_ms = getattr(event, "ts_ms", None) or getattr(event, "close_ts_ms", None)
    when = datetime.fromtimestamp((ts_ms or 1_700_000_040_000) / 1000, UTC)
    return NewEvent(
        event_id=uuid.uuid4(),
        data=event,
        occurred_at=when,
        producer=producer,
        causation_id=cause,
        correlation_id=cause,
    )


async def _record(
    store: EventStore, stream: str, event: Event, producer: str, cause: uuid.UUID | None = None
) -> uuid.UUID:
    new = _new(event, producer, cause)
    await store.append(stream, [new])
    return new.event_id


async def _run(store: EventStore, name: str, core: Core) -> None:
    await ProcessApplication(name, core, store, None, config=SNAPSHOTS).start()


async def record_session(store: EventStore, folder: Path) -> Session:
    """Record the whole session: context, a breakout, its signal, intent, entry, fill, position."""
    path = write_preset(folder)
    preset: Preset = load_preset(str(path))
    await _record(store, market_stream("binance", "ETHUSDT"), rules("ETHUSDT"), "execution-router")
    await _record(store, account_stream("binance"), balance("10000"), "execution-router")
    await _record(store, REGIME_STREAM, regime("RISK_ON", presets=(PRESET_NAME,)), "regime")
    candle_id: uuid.UUID | None = None
    fresh = book("ETHUSDT", T0 + 595_000)  # the risk service wants a book under a minute old
    events = [*market("ETHUSDT"), book("ETHUSDT", T0 + 61_000), fresh, *breakout("ETHUSDT")]
    for event in events:
        domain, kind = event.subject().split(".")[:2]
        if domain == "md":
            candle_id = await _record(store, md_stream(kind, "binance", "ETHUSDT"), event, "ingest")
        else:
            stream = feat_stream(kind, "binance", "ETHUSDT")
            await _record(store, stream, event, "features", candle_id)
    await _run(store, SIGNALS, SignalsCore(preset, "binance"))
    await _run(store, "risk", RiskCore([preset]))
    await _run(store, "execution", ExecutionCore([preset]))
    entry = await _only(store, OrderSubmitted)
    await _fill(store, entry)
    await _run(store, "execution", ExecutionCore([preset]))
    return Session(
        preset_path=path,
        signal=await _only(store, SignalGenerated),
        entry=entry,
        opened=await _only(store, PositionOpened),
    )


async def _fill(store: EventStore, entry: OrderSubmitted) -> None:
    """The exchange fills the entry at its limit; the router records what it is told."""
    price = entry.price or Decimal(100)
    ts_ms = entry.ts_ms + 50
    order = ExchangeOrder(
        exchange_order_id="x-1",
        client_order_id=entry.order_id,
        symbol="ETH/USDT",
        side="buy",
        order_type="limit",
        status="closed",
        qty=entry.qty,
        filled=entry.qty,
        price=price,
        ts_ms=ts_ms,
    )
    trade = ExchangeTrade(
        trade_id="t-1",
        exchange_order_id="x-1",
        side="buy",
        qty=entry.qty,
        price=price,
        fee=Decimal(0),
        fee_asset="ETH",
        liquidity="taker",
        ts_ms=ts_ms,
    )
    when = datetime.fromtimestamp(ts_ms / 1000, UTC)
    news = [
        NewEvent(event_id=eid, data=ev, occurred_at=when, producer="execution-router")
        for eid, ev in outcome_events(OrderView(submitted=entry), order, [trade])
    ]
    await store.append(order_stream(entry.order_id), news)


async def _only(store: EventStore, cls: type[T]) -> T:
    found = [e.data for e in await _all(store) if isinstance(e.data, cls)]
    assert len(found) == 1, f"expected one {cls.__name__}, found {len(found)}"
    return found[0]


async def _all(store: EventStore) -> list[RecordedEvent]:
    return await store.read_all(limit=100_000)


async def clone_database(source: str, target: str, doctor: object = None) -> None:
    """Copy the log, checkpoints and snapshots of `source` into the migrated `target`.

    The events table refuses UPDATE, so a tampered log is made by copying: `doctor(row)` may
    return a changed row (a dict of the columns) for each event.
    """
    src = await asyncpg.connect(source)
    dst = await asyncpg.connect(target)
    try:
        rows = [dict(r) for r in await src.fetch("SELECT * FROM events ORDER BY position")]
        if callable(doctor):
            rows = [doctor(row) for row in rows]
        for day in {r["occurred_at"].astimezone(UTC).date() for r in rows if r["market_data"]}:
            await dst.execute("SELECT breakout_ensure_md_day($1)", day)
        columns = list(rows[0])
        records = [tuple(r[c] for c in columns) for r in rows]
        await dst.copy_records_to_table("events", records=records, columns=columns)
        await dst.execute("SELECT setval('events_position_seq', $1)", rows[-1]["position"])
        for table in ("consumer_checkpoints", "snapshots", "md_stream_heads"):
            copied = await src.fetch(f"SELECT * FROM {table}")
            if copied:
                await dst.copy_records_to_table(
                    table, records=[tuple(r) for r in copied], columns=list(copied[0].keys())
                )
    finally:
        await src.close()
        await dst.close()
