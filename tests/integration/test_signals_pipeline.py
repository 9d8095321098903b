"""exchange_sim scripted into a compression then a breakout (ETHUSDT) and a compression then a
fake-out (SOLUSDT) -> ccxt -> ingest -> Postgres -> relay -> NATS -> features -> signals:
a momentum signal for the breakout, a rejection with its reasons for the fake-out.

Levels are read on 1-minute candles and the simulator runs 40 times faster than the wall, so
the thirteen simulated minutes take about twenty seconds.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
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
from breakout.common.presets import Preset, parse_preset
from breakout.common.relay import Relay
from breakout.common.runtime.application import ProcessApplication, RuntimeConfig
from breakout.common.store.port import EventFilter, EventStore
from breakout.exchange_sim.scenario import breakout, fakeout, quiet
from breakout.exchange_sim.state import wall_clock_ms
from breakout.exchange_sim.testing import running_sim
from breakout.features.config import FeaturesConfig, IndicatorConfig, LevelsRules
from breakout.features.core import FeaturesCore
from breakout.signals.core import SignalsCore
from tests.integration.ingest_support import ingest_config, running_ingest, unique_venue
from tests.integration.stacks import open_stack

pytestmark = pytest.mark.integration
FAST = RuntimeConfig(fetch_timeout_s=0.1, ack_wait_s=5.0, snapshot_every=2_000)
SPEED = 40.0
QUIET_S = 600
LEVELS = {
    "timeframe": "1m",
    "donchian_bars": 8,
    "min_touches": 1,
    "approach_bars": 3,
    "prebreakout_consolidation_min_bars": 1,
    "history_bars": 40,
}
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


def features_config() -> FeaturesConfig:
    """Short periods, so that levels and indicators exist after a few simulated minutes."""
    return FeaturesConfig(
        levels_rules=msgspec.convert(LEVELS, LevelsRules),
        indicators=IndicatorConfig(
            atr_period=5,
            bb_period=5,
            bb_percentile_lookback=10,
            ema_fast_period=3,
            ema_slow_period=5,
            volume_median_bars=5,
            correlation_bars=10,
            history_bars=40,
        ),
    )


def itest_preset() -> Preset:
    """Loose liquidity filters (a thin simulated tape), the design's entry thresholds.

    The book imbalance and VWAP-gap checks are opened up: the simulator's makers quote both
    sides alike and its session VWAP starts with the run; the unit tests hold those edges.
    """
    document: dict[str, Any] = {
        "name": "itest_breakout",
        "version": 1,
        "liquidity_filters": {
            "min_24h_volume_usd": 0,
            "max_spread_bps": 50,
            "min_depth_usd_0_3pct": 0,
            "min_depth_usd_0_5pct": 0,
            "min_trades_per_minute": 0,
        },
        "volatility_filters": {
            "atr_pct_min": 0.00001,
            "atr_pct_max": 0.5,
            "bb_width_percentile_max": 100,
            "volume_surge_1h_min": 0,
            "volume_surge_5m_min": 0,
        },
        "correlation": {"limit": 1.0},
        "scanner": {"timeframe": "1m", "interval_s": 30, "top_n": 5, "subscribe_top_n": 5},
        "signal_config": {
            "strategies": ["momentum", "retest"],
            "momentum_volume_k": 1.5,
            "l2_imbalance_min": -1.0,
            "vwap_gap_max_bps": 10_000,
            "density_confirmation": False,
        },
        "levels_rules": LEVELS,
    }
    return parse_preset(msgspec.json.encode(document))


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
            "features", FeaturesCore(features_config()), stack.store, stack.bus, config=FAST
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
