"""FeaturesCore: routing, cadence, symbol groups, snapshots and bad input."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime

import msgspec
import pytest

from breakout.common.events import (
    BookMetrics,
    DensityDetected,
    Event,
    IndicatorsUpdated,
    LevelsUpdated,
    NewEvent,
    OrderFlowUpdated,
    RecordedEvent,
    TradeActivity,
)
from breakout.common.runtime.core import Core, Emit, SnapshottingCore
from breakout.common.store.memory import InMemoryEventStore
from breakout.features.config import FeaturesConfig
from breakout.features.core import FeaturesCore
from tests.unit.features.factories import T0_MS, book, candle, market, recorded, trade


def run(core: FeaturesCore, events: list[Event], start: int = 1) -> list[Emit]:
    out: list[Emit] = []
    for position, data in enumerate(events, start=start):
        out += core.handle(recorded(data, position))
    return out


def test_is_a_snapshotting_core() -> None:
    core = FeaturesCore()
    assert isinstance(core, Core) and isinstance(core, SnapshottingCore)
    assert core.subjects == (
        "md.trade.*.*",
        "md.book.*.*",
        "md.candle.*.*.*",
        "md.gap.*.*",
        "md.resynced.*.*",
    )


def test_cadence_of_periodic_outputs() -> None:
    emits = run(FeaturesCore(), market(seconds=60))
    kinds = Counter(type(e.event).__name__ for e in emits)
    # Activity every 5 s boundary passed: 5, 10, ..., 55 (60 s is not passed yet).
    assert kinds["TradeActivity"] == 11
    assert kinds["BookMetrics"] == 12  # books at 0, 5, ..., 55 s
    assert kinds["DensityDetected"] == 1
    activity = [e.event for e in emits if isinstance(e.event, TradeActivity)]
    assert [a.ts_ms - T0_MS for a in activity] == list(range(5_000, 60_000, 5_000))
    assert activity[-1].windows[0].trades == 50  # 10 s at 5 trades a second
    assert {e.stream for e in emits} == {
        "feat.activity-binance.BTCUSDT",
        "feat.book-binance.BTCUSDT",
        "feat.density-binance.BTCUSDT",
    }
    density = next(e.event for e in emits if isinstance(e.event, DensityDetected))
    assert (density.side, density.price_low) == ("bid", 99.90)
    book_metrics = [e.event for e in emits if isinstance(e.event, BookMetrics)]
    assert all(m.ts_ms % 5_000 == 0 for m in book_metrics)


def test_a_quiet_symbol_reports_quiet_once() -> None:
    core = FeaturesCore()
    run(core, [trade(T0_MS, 100.0)])
    emits = core.handle(recorded(trade(T0_MS + 1_000_000, 100.0), 2))
    activity = [e.event for e in emits if isinstance(e.event, TradeActivity)]
    # Reported at 5 .. 295 s while the 300 s window held the trade (it leaves at exactly
    # 300 s), then one quiet report at 300 s, then silence.
    assert activity[-1].windows[-1].trades == 0
    assert sum(1 for a in activity if a.windows[-1].trades == 0) == 1
    assert len(activity) == 300 // 5


def test_candles_give_indicators_and_levels() -> None:
    core = FeaturesCore()
    candles = [candle(i, 100, 101 + i % 3, 99, 100.5, symbol="ETHUSDT") for i in range(30)]
    emits = run(core, candles)
    indicators = [e.event for e in emits if isinstance(e.event, IndicatorsUpdated)]
    found = [e.event for e in emits if isinstance(e.event, LevelsUpdated)]
    assert len(indicators) == 30
    assert indicators[-1].atr is not None
    # Levels need `donchian_bars` bars and an ATR (from the 15th candle): candles 20..30.
    assert len(found) == 11
    assert found[-1].resistance.price == 103
    assert {e.stream for e in emits} == {
        "feat.indicators-binance.ETHUSDT",
        "feat.levels-binance.ETHUSDT",
        "feat.orderflow-binance.ETHUSDT",
        "feat.liquidity-binance.ETHUSDT",
        "feat.wyckoff-binance.ETHUSDT",  # 100 .. 103 for 30 bars: a range
    }
    assert sum(1 for e in emits if isinstance(e.event, OrderFlowUpdated)) == 30


def test_a_symbol_group_reads_its_symbols_and_the_reference_candles() -> None:
    core = FeaturesCore(FeaturesConfig(symbols=("ETHUSDT",)))
    assert "md.trade.*.ETHUSDT" in core.subjects
    assert "md.candle.*.*.BTCUSDT" in core.subjects
    assert not any(s.startswith("md.trade") and "BTCUSDT" in s for s in core.subjects)
    outputs = []
    for i in range(40):
        outputs += core.handle(recorded(candle(i, 100, 105, 99, 100 + i % 5), 2 * i + 1))
        eth = candle(i, 10, 10.7, 9.8, 10 + (i % 7) / 10, symbol="ETHUSDT")
        outputs += core.handle(recorded(eth, 2 * i + 2))
    assert {e.stream for e in outputs} - {"feat.structure-binance.ETHUSDT"} == {
        "feat.indicators-binance.ETHUSDT",
        "feat.levels-binance.ETHUSDT",
        "feat.orderflow-binance.ETHUSDT",
        "feat.liquidity-binance.ETHUSDT",
        "feat.wyckoff-binance.ETHUSDT",  # 100 .. 103 for 30 bars: a range
    }
    last = [e.event for e in outputs if isinstance(e.event, IndicatorsUpdated)][-1]
    assert last.corr_reference is not None  # BTC candles were read, not recorded
    # Another instance's symbol (a filter wider than the group) is left to that instance.
    assert core.handle(recorded(trade(T0_MS, symbol="SOLUSDT"), 999)) == []
    assert "binance:SOLUSDT" not in core.symbols


def test_the_unlisted_instance_reads_everything_and_keeps_only_what_no_group_lists() -> None:
    core = FeaturesCore(FeaturesConfig(exclude=("ETHUSDT", "SOLUSDT")))
    assert "md.trade.*.*" in core.subjects
    outputs = []
    for i, event in enumerate(market(seconds=90)):
        outputs += core.handle(recorded(event, i + 1))
        for symbol in ("ETHUSDT", "SOLUSDT"):
            other = msgspec.structs.replace(event, symbol=symbol)
            assert core.handle(recorded(other, 10_000 + i)) == []
    assert outputs
    assert {e.stream.rpartition(".")[2] for e in outputs} == {"BTCUSDT"}
    assert set(core.symbols) == {"binance:BTCUSDT"}


def test_snapshot_restore_continues_identically() -> None:
    events = market(seconds=90)
    config = FeaturesConfig()
    straight = FeaturesCore(config)
    first = run(straight, events[:300])
    restored = FeaturesCore(config)
    restored.restore(straight.snapshot())
    assert run(restored, events[300:], start=301) == run(straight, events[300:], start=301)
    assert first  # the first half produced outputs too


def test_a_snapshot_of_another_configuration_is_not_used() -> None:
    core = FeaturesCore()
    run(core, market(seconds=20))
    other = FeaturesCore(
        FeaturesConfig(
            density_config=msgspec.structs.replace(FeaturesConfig().density_config, k_density=9.0)
        )
    )
    other.restore(core.snapshot())
    assert other.symbols == {}
    other.restore(b"\x93not a snapshot")
    assert other.symbols == {}


def test_bad_market_data_raises_for_the_dead_letter_queue() -> None:
    core = FeaturesCore()
    crossed = book(T0_MS, [(101.0, 1.0)], [(100.0, 1.0)])
    with pytest.raises(ValueError, match="crossed"):
        core.handle(recorded(crossed, 1))
    with pytest.raises(TypeError, match="cannot handle"):
        core.handle(
            RecordedEvent(
                **{
                    **msgspec.structs.asdict(recorded(crossed, 2)),
                    "data": TradeActivity(exchange="binance", symbol="X", ts_ms=0, windows=[]),
                }
            )
        )


async def test_store_catch_up_reads_every_input_stream_category() -> None:
    # Candle streams have one category per timeframe (`md.candle.15m`); catch-up must read
    # them all, or a features process started after ingest's backfill has no history.
    store = InMemoryEventStore()
    inputs: list[Event] = [
        candle(0, 100, 101, 99, 100, timeframe="15m"),
        candle(0, 100, 101, 99, 100, timeframe="1h"),
        trade(T0_MS),
        book(T0_MS, [(99.0, 1.0)], [(101.0, 1.0)]),
    ]
    streams = ["md.candle.15m-binance.BTCUSDT", "md.candle.1h-binance.BTCUSDT",
               "md.trade-binance.BTCUSDT", "md.book-binance.BTCUSDT"]  # fmt: skip
    for stream, data in zip(streams, inputs, strict=True):
        at = datetime.fromtimestamp(T0_MS / 1000, UTC)
        await store.append(stream, [NewEvent(event_id=uuid.uuid4(), data=data, occurred_at=at,
                                             producer="ingest")])  # fmt: skip
    read = await store.read_all(limit=100, filter=FeaturesCore.store_filter)
    assert [e.data for e in read] == inputs


def test_a_long_fetched_history_gets_outputs_only_where_they_can_still_live() -> None:
    config = FeaturesConfig()
    tf = config.levels_rules.timeframe
    bars = 2 * config.levels_rules.max_age_bars + 20
    history = [
        msgspec.structs.replace(
            candle(i, 100, 101 + i % 3, 99, 100.5, symbol="ETHUSDT", timeframe=tf),
            source="exchange",
        )
        for i in range(bars)
    ]
    newest = history[-1].close_ts_ms
    # What ingest records first: the longest timeframe's history, up to about now.
    hour = msgspec.structs.replace(
        candle(0, 100, 103, 99, 100.5, symbol="ETHUSDT", timeframe="1h"),
        open_ts_ms=newest - 3_600_000 + 1,
        close_ts_ms=newest,
        source="exchange",
    )
    told = run(FeaturesCore(config), [hour, *history])
    untold = run(FeaturesCore(config), history)  # in time order: nothing is superseded

    def levels(emits: list[Emit]) -> list[LevelsUpdated]:
        return [e.event for e in emits if isinstance(e.event, LevelsUpdated)]

    def flows(emits: list[Emit]) -> int:
        return sum(1 for e in emits if isinstance(e.event, OrderFlowUpdated))

    def indicators(emits: list[Emit], timeframe: str) -> list[IndicatorsUpdated]:
        found = [e.event for e in emits if isinstance(e.event, IndicatorsUpdated)]
        return [i for i in found if i.timeframe == timeframe]

    # Indicators, levels and order flow only within a level's lifetime of the newest time,
    # and those equal the ones computed with the whole history.
    live = config.levels_rules.max_age_bars + 1
    assert len(indicators(untold, tf)) == flows(untold) == bars
    assert len(indicators(told, "1h")) == 1
    assert indicators(told, tf) == indicators(untold, tf)[-live:]
    assert flows(told) == live
    assert levels(told) == levels(untold)[-len(levels(told)) :]
    assert levels(told)[-1] == levels(untold)[-1]
    # A candle built from trades is never skipped, however old.
    built = msgspec.structs.replace(history[0], source="trades", symbol="SOLUSDT")
    late = run(FeaturesCore(config), [msgspec.structs.replace(hour, symbol="SOLUSDT"), built])
    assert flows(late) == 1
