"""exchange_sim scripted into a compression then a breakout (ETHUSDT) and a compression then a
fake-out (SOLUSDT) -> ccxt -> ingest -> Postgres -> relay -> NATS -> features -> signals:
a momentum signal for the breakout, a rejection with its reasons for the fake-out.

Levels are read on 1-minute candles and the simulator runs 40 times faster than the wall, so
the thirteen simulated minutes take about twenty seconds.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from breakout.common.config import InfraSettings
from breakout.common.events import (
    RecordedEvent,
    ScanCompleted,
    SignalGenerated,
    SignalRejected,
    SignalStateChanged,
    SubscriptionRequested,
    dead_letter_stream,
)
from breakout.common.presets import Preset
from breakout.common.relay import Relay
from breakout.common.runtime.application import ProcessApplication, RuntimeConfig
from breakout.common.store.port import EventFilter, EventStore
from breakout.exchange_sim.scenario import breakout, fakeout, quiet
from breakout.exchange_sim.state import wall_clock_ms
from breakout.exchange_sim.testing import running_sim
from breakout.features.core import FeaturesCore
from breakout.signals.core import SignalsCore
from tests.integration.ingest_support import ingest_config, running_ingest, unique_venue
from tests.integration.stacks import open_stack
from tests.support.short_session import short_features_config, short_session_preset

pytestmark = pytest.mark.integration
FAST = RuntimeConfig(fetch_timeout_s=0.1, ack_wait_s=5.0, snapshot_every=2_000)
SPEED = 40.0
QUIET_S = 600
DECISIONS = EventFilter(
    types=tuple(
        t.type_tag()
        for t in (
            ScanCompleted,
            SignalGenerated,
            SignalRejected,
            SignalStateChanged,
            SubscriptionRequested,
        )
    )
)


def itest_preset() -> Preset:
    """Loose liquidity filters (a thin simulated tape), the design's entry thresholds.

    The book imbalance and VWAP-gap checks are opened up: the simulator's makers quote both
    sides alike and its session VWAP starts with the run; the unit tests hold those edges.
    """
    return short_session_preset("itest_breakout")


async def decisions(store: EventStore) -> list[RecordedEvent]:
    return await store.read_all(limit=100_000, filter=DECISIONS)


async def wait_for(store: EventStore, done: Any, timeout_s: float = 120.0) -> list[RecordedEvent]:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        found = await decisions(store)
        if done(found):
            return found
        if asyncio.get_running_loop().time() > deadline:
            story = [_describe(e.data) for e in found if not isinstance(e.data, ScanCompleted)]
            raise AssertionError("no signal and rejection in time; recorded:\n" + "\n".join(story))
        await asyncio.sleep(0.5)


async def replay_decides_the_same(
    store: EventStore, preset: Preset, venue: str, checkpoint: int
) -> None:
    """The recorded inputs through a fresh core (no bus, no runtime) give the recorded outputs."""
    core = SignalsCore(preset, venue)
    inputs = await store.read_all(limit=1_000_000, filter=core.store_filter)
    replayed = [
        emit.event
        for event in inputs
        if event.position <= checkpoint
        for emit in core.handle(event)
    ]
    recorded = await store.read_all(limit=1_000_000, filter=DECISIONS)
    live = [e.data for e in recorded if e.producer == "signals-itest"]
    assert live and replayed == live  # (JSONB reorders keys, so compare decoded events)


def _describe(data: object) -> str:
    fields = ("symbol", "state", "reason", "failed", "level_price", "ts_ms")
    return " ".join(str(getattr(data, f, "")) for f in fields)


def _settled(found: list[RecordedEvent]) -> bool:
    signals = [e.data for e in found if isinstance(e.data, SignalGenerated)]
    rejections = [e.data for e in found if isinstance(e.data, SignalRejected)]
    return any(s.symbol == "ETHUSDT" for s in signals) and any(
        r.symbol == "SOLUSDT" and "close_beyond_level" in r.failed for r in rejections
    )


async def test_a_breakout_signals_and_a_fake_out_is_rejected_with_reasons(
    infra: InfraSettings, bus_prefix: str
) -> None:
    venue = unique_venue()
    preset = itest_preset()
    scripts = {
        "ETHUSDT": [quiet(QUIET_S), breakout(120, move_bps=60)],
        "SOLUSDT": [quiet(QUIET_S), fakeout(60, move_bps=30)],
    }
    start_ms = (wall_clock_ms() // 60_000 + 1) * 60_000  # bars line up with the phases
    async with (
        open_stack("real", infra, bus_prefix) as stack,
        running_sim(
            ["ETHUSDT", "SOLUSDT"],
            seed=11,
            speed=SPEED,
            trade_rate_multiplier=0.1,
            history_days=0.01,
            start_ms=start_ms,
            scripts=scripts,
        ) as sim,
    ):
        assert stack.dsn is not None
        config = ingest_config(
            sim.base_url,
            venue,
            {"pair": ("ETHUSDT", "SOLUSDT")},
            "pair",
            candle_history_bars=10,
            check_candles=False,
        )
        relay = Relay(stack.store, stack.bus, stack.leader("relay"), batch_size=500)
        features = ProcessApplication(
            "features", FeaturesCore(short_features_config()), stack.store, stack.bus, config=FAST
        )
        signals = ProcessApplication(
            "signals-itest", SignalsCore(preset, venue), stack.store, stack.bus, config=FAST
        )
        tasks = [asyncio.create_task(c.run()) for c in (relay, features, signals)]
        try:
            async with running_ingest(config, stack.dsn):
                found = await wait_for(stack.store, _settled)
        finally:
            for component in (relay, features, signals):
                component.stop()
            await asyncio.gather(*tasks)
        for consumer in ("features", "signals-itest"):
            assert await stack.store.read_stream(dead_letter_stream(consumer)) == []
        await replay_decides_the_same(stack.store, preset, venue, signals.checkpoint)

    by_type: dict[type, list[Any]] = {}
    for event in found:
        by_type.setdefault(type(event.data), []).append(event.data)

    # The first; the move may break the next level too (a second signal) before the poll ends.
    signal = next(s for s in by_type[SignalGenerated] if s.symbol == "ETHUSDT")
    assert signal.strategy == "momentum" and signal.side == "long"
    assert signal.preset_ref == preset.ref() and signal.exchange == venue
    assert all(check.passed for check in signal.checks)
    # The breakout bar closed beyond the level scripted 600 s into the run.
    bar_open = signal.inputs["bar_open_ts_ms"]
    assert isinstance(bar_open, int) and bar_open >= start_ms + QUIET_S * 1000
    assert signal.stop_price < signal.level_price < signal.entry_price
    assert signal.inputs["volume"] >= 1.5 * signal.inputs["volume_median"]  # type: ignore[operator]
    assert not [s for s in by_type[SignalGenerated] if s.symbol == "SOLUSDT"]

    fake = [r for r in by_type[SignalRejected] if r.symbol == "SOLUSDT"][-1]
    assert fake.strategy == "momentum" and "close_beyond_level" in fake.failed
    close_check = next(c for c in fake.checks if c.name == "close_beyond_level")
    assert close_check.margin is not None and close_check.margin < 0  # failed by how much
    assert fake.inputs["high"] >= fake.level_price  # type: ignore[operator]

    scans = by_type[ScanCompleted]
    assert {row.symbol for row in scans[-1].rows} == {"ETHUSDT", "SOLUSDT"}
    assert all(len(row.checks) == 13 for row in scans[-1].rows)
    assert any(set(r.symbols) & {"ETHUSDT", "SOLUSDT"} for r in by_type[SubscriptionRequested])
    states = [(s.symbol, s.state) for s in by_type[SignalStateChanged]]
    assert ("ETHUSDT", "signal_wait") in states and ("SOLUSDT", "signal_wait") in states
