"""The features service end to end: md.* appended to the store -> relay -> NATS ->
FeaturesCore as a process application -> feat.* recorded; and a replay (store only, with a
restart from a snapshot half-way) that records the very same events with the same ids."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

import msgspec
import pytest

from breakout.common.config import InfraSettings
from breakout.common.events import (
    BookSnapshot,
    Candle,
    DensityDetected,
    Event,
    IndicatorsUpdated,
    LevelsUpdated,
    MarketTrade,
    NewEvent,
    RecordedEvent,
    TradeActivity,
    md_stream,
)
from breakout.common.ids import derived_event_id, external_event_id
from breakout.common.relay import Relay
from breakout.common.runtime.application import ProcessApplication, RuntimeConfig
from breakout.common.store.port import EventFilter, EventStore
from breakout.features.config import FeaturesConfig
from breakout.features.core import FeaturesCore
from tests.integration.stacks import open_stack
from tests.unit.features.factories import candle, market

pytestmark = pytest.mark.integration
FAST = RuntimeConfig(fetch_timeout_s=0.1, ack_wait_s=2.0, snapshot_every=100)
FEATURES = EventFilter(
    categories=tuple(
        f"feat.{kind}"
        for kind in (
            "activity",
            "book",
            "density",
            "indicators",
            "levels",
            "orderflow",
            "structure",
            "liquidity",
            "wyckoff",
        )
    )
)
Output = tuple[str, int, str, str | None, bytes]


def md_inputs() -> list[Event]:
    """90 s of BTCUSDT trades and books, with 30 closed ETHUSDT 5 m candles woven in."""
    events = market(seconds=90)
    eth = [candle(i, 100, 101 + i % 3, 99, 100.5, symbol="ETHUSDT") for i in range(30)]
    for i, c in enumerate(eth):
        events.insert(i * 12 + 5, c)
    return events


def as_new(data: Event) -> tuple[str, NewEvent]:
    """The stream and envelope ingestion would record `data` with (ids from exchange keys)."""
    match data:
        case MarketTrade():
            stream, key = md_stream("trade", data.exchange, data.symbol), data.trade_id
            ts_ms = data.exchange_ts_ms
        case BookSnapshot():
            stream, key = md_stream("book", data.exchange, data.symbol), data.sequence
            ts_ms = data.exchange_ts_ms
        case Candle():
            stream, key = md_stream("candle", data.exchange, data.symbol), data.open_ts_ms
            ts_ms = data.close_ts_ms
        case _:
            raise TypeError(type(data))
    event_id = external_event_id("test-ingest", stream, key)
    occurred = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    return stream, NewEvent(event_id=event_id, data=data, occurred_at=occurred, producer="ingest")


MARKET_DATA = EventFilter(categories=("md.trade", "md.book", "md.candle"))


async def append_all(store: EventStore, events: Sequence[Event]) -> int:
    """Append as ingestion would; return the position of the last one (outputs interleave)."""
    for data in events:
        stream, new = as_new(data)
        await store.append(stream, [new])
    return (await store.read_all(limit=100_000, filter=MARKET_DATA))[-1].position


def outputs(events: list[RecordedEvent]) -> list[Output]:
    return [
        (e.stream, e.version, str(e.event_id), str(e.causation_id), msgspec.json.encode(e.data))
        for e in events
    ]


async def _until(predicate: object, timeout_s: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def live_run(infra: InfraSettings, prefix: str, inputs: list[Event]) -> list[RecordedEvent]:
    async with open_stack("real", infra, prefix) as stack:
        relay = Relay(stack.store, stack.bus, stack.leader("relay"), batch_size=200)
        app = ProcessApplication("features", FeaturesCore(), stack.store, stack.bus, config=FAST)
        tasks = [asyncio.create_task(relay.run()), asyncio.create_task(app.run())]
        try:
            await asyncio.sleep(0.3)  # the consumer is following the bus before data arrives
            last_input = await append_all(stack.store, inputs)
            await _until(lambda: app.checkpoint >= last_input)
        finally:
            relay.stop()
            app.stop()
            await asyncio.gather(*tasks)
        assert await stack.store.load_snapshot("features") is not None
        return await stack.store.read_all(limit=100_000, filter=FEATURES)


async def replay_with_a_restart(
    infra: InfraSettings, prefix: str, inputs: list[Event]
) -> list[RecordedEvent]:
    async with open_stack("memory", infra, prefix) as stack:
        half = len(inputs) // 2
        await append_all(stack.store, inputs[:half])
        first = ProcessApplication("features", FeaturesCore(), stack.store, None, config=FAST)
        await first.start()
        assert await stack.store.load_snapshot("features") is not None
        last_input = await append_all(stack.store, inputs[half:])
        # A new process: state from the snapshot plus the events after it, then catch-up.
        second = ProcessApplication("features", FeaturesCore(), stack.store, None, config=FAST)
        await second.start()
        assert second.checkpoint == last_input
        return await stack.store.read_all(limit=100_000, filter=FEATURES)


async def test_md_events_become_feature_events_and_a_replay_repeats_them(
    infra: InfraSettings, bus_prefix: str
) -> None:
    inputs = md_inputs()
    live = await live_run(infra, f"{bus_prefix}live", inputs)
    kinds = Counter(type(e.data).__name__ for e in live)
    assert kinds["TradeActivity"] == 17  # every 5 s boundary passed in 90 s (5 .. 85 s)
    assert kinds["BookMetrics"] == 18
    assert kinds["DensityDetected"] == 1
    assert kinds["IndicatorsUpdated"] == 30
    assert kinds["LevelsUpdated"] == 11
    assert kinds["OrderFlowUpdated"] == kinds["LiquidityLevels"] == 30
    assert all(e.producer == "features" for e in live)
    # Output ids are derived from the consumer, the input and the output's index.
    by_cause: dict[str, list[RecordedEvent]] = {}
    for e in live:
        by_cause.setdefault(str(e.causation_id), []).append(e)
    for cause, emitted in by_cause.items():
        for index, e in enumerate(sorted(emitted, key=lambda r: r.position)):
            assert e.event_id == derived_event_id("features", e.causation_id, index), cause
    activity = [e.data for e in live if isinstance(e.data, TradeActivity)]
    assert activity[-1].windows[1].trades == 300  # 60 s at 5 trades a second
    assert any(isinstance(e.data, DensityDetected) for e in live)
    levels = [e.data for e in live if isinstance(e.data, LevelsUpdated)]
    indicators = [e.data for e in live if isinstance(e.data, IndicatorsUpdated)]
    assert levels[-1].resistance.price == 103 and indicators[-1].atr is not None

    replayed = await replay_with_a_restart(infra, f"{bus_prefix}replay", inputs)
    assert outputs(replayed) == outputs(live)


async def test_a_symbol_group_instance_records_only_its_symbols(
    infra: InfraSettings, bus_prefix: str
) -> None:
    async with open_stack("real", infra, bus_prefix) as stack:
        await append_all(stack.store, md_inputs())
        relay = Relay(stack.store, stack.bus, stack.leader("relay"))
        await relay.publish_pending()
        core = FeaturesCore(FeaturesConfig(symbols=("ETHUSDT",)))
        app = ProcessApplication("features-eth", core, stack.store, stack.bus, config=FAST)
        task = asyncio.create_task(app.run())
        last_eth = max(
            e.position
            for e in await stack.store.read_all(limit=100_000)
            if getattr(e.data, "symbol", None) == "ETHUSDT"
        )
        await _until(lambda: app.checkpoint >= last_eth)
        app.stop()
        await task
        recorded = await stack.store.read_all(limit=100_000, filter=FEATURES)
    assert {e.stream.split("-", 1)[1] for e in recorded} == {"binance.ETHUSDT"}


async def test_a_group_and_the_unlisted_instance_split_the_symbols_without_a_gap_or_overlap(
    infra: InfraSettings, bus_prefix: str
) -> None:
    inputs = md_inputs()
    single = await live_run(infra, f"{bus_prefix}one", inputs)
    async with open_stack("real", infra, f"{bus_prefix}split") as stack:
        last_input = await append_all(stack.store, inputs)
        relay = Relay(stack.store, stack.bus, stack.leader("relay"))
        await relay.publish_pending()
        cores = {
            "features-eth": FeaturesCore(FeaturesConfig(symbols=("ETHUSDT",))),
            "features-unlisted": FeaturesCore(FeaturesConfig(exclude=("ETHUSDT",))),
        }
        apps = [
            ProcessApplication(name, core, stack.store, stack.bus, config=FAST)
            for name, core in cores.items()
        ]
        tasks = [asyncio.create_task(app.run()) for app in apps]
        # The group's checkpoint moves on what its filter lets through: its symbol, BTC candles.
        read_by_eth = max(
            e.position
            for e in await stack.store.read_all(limit=100_000, filter=MARKET_DATA)
            if e.data.symbol == "ETHUSDT" or isinstance(e.data, Candle)  # type: ignore[attr-defined]
        )
        wanted = (read_by_eth, last_input)
        await _until(lambda: all(a.checkpoint >= w for a, w in zip(apps, wanted, strict=True)))
        for app in apps:
            app.stop()
        await asyncio.gather(*tasks)
        split = await stack.store.read_all(limit=100_000, filter=FEATURES)
    by_symbol = Counter(e.stream.rpartition(".")[2] for e in split)
    assert by_symbol.keys() == {"BTCUSDT", "ETHUSDT"}

    # Split or not, every symbol's features are the same events (ids aside: they name the
    # consumer), each recorded once.
    def contents(events: list[RecordedEvent]) -> Counter[tuple[str, bytes]]:
        return Counter((e.stream, msgspec.json.encode(e.data)) for e in events)

    assert contents(split) == contents(single)


async def test_diag_commands_print_what_was_recorded(infra: InfraSettings, bus_prefix: str) -> None:
    async with open_stack("real", infra, bus_prefix) as stack:
        await append_all(stack.store, md_inputs())
        app = ProcessApplication("features", FeaturesCore(), stack.store, None, config=FAST)
        await app.start()
        env = {**os.environ, "DATABASE_URL": stack.dsn or ""}

        def cli(*args: str) -> str:
            argv = [sys.executable, "-c", "from breakout.features.app import cli; cli()", *args]
            done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
            assert done.returncode == 0, done.stderr
            return done.stdout

        l2 = await asyncio.to_thread(cli, "diag", "l2", "--symbol", "btcusdt", "--minutes", "2")
        levels = await asyncio.to_thread(cli, "diag", "levels", "--symbol", "ETHUSDT")
        nothing = await asyncio.to_thread(cli, "diag", "levels", "--symbol", "XRPUSDT")
    assert l2.startswith("BTCUSDT: last 2 min")
    assert "spread" in l2 and "60s: 300 tr" in l2
    assert "WALL   bid 99.9-99.92" in l2
    assert "resistance 103" in levels and "support" in levels and "ATR" in levels
    assert "no levels recorded yet" in nothing
