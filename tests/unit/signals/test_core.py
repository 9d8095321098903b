"""The signals core end to end on recorded events: scans on the cadence, ctl.subscribe, state
changes, a momentum signal, pause and regime gating, symbol groups, snapshot and restore."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec

from breakout.common.events import (
    Event,
    PauseRequested,
    RecordedEvent,
    RegimeChanged,
    ScanCompleted,
    ScanRequested,
    SignalGenerated,
    SignalRejected,
    SignalStateChanged,
    SubscriptionRequested,
)
from breakout.common.events.regime import (
    RegimeInputs,
    RegimePermissions,
    RegimeWeights,
    TrendReading,
)
from breakout.common.runtime.core import Emit
from breakout.signals.core import SignalsCore
from tests.unit.signals.factories import MINUTE, T0, book, breakout, candle, market, preset

PRESET = preset()


def recorded(data: Event, position: int) -> RecordedEvent:
    """`data` as the store would hand it to a consumer."""
    now = datetime.fromtimestamp(T0 / 1000, UTC)
    return RecordedEvent(
        position=position,
        stream="test",
        version=position,
        event_id=uuid.UUID(int=position),
        type=type(data).type_tag(),
        occurred_at=now,
        recorded_at=now,
        producer="test",
        data=data,
    )


def run(core: SignalsCore, events: list[Event], start: int = 1) -> list[Emit]:
    out: list[Emit] = []
    for offset, data in enumerate(events):
        out += core.handle(recorded(data, start + offset))
    return out


def of(outputs: list[Emit], kind: type[Any]) -> list[Any]:
    return [o.event for o in outputs if isinstance(o.event, kind)]


def scanned(
    symbols: tuple[str, ...] = ("ETHUSDT", "SOLUSDT"), core: SignalsCore | None = None
) -> tuple[SignalsCore, list[Emit]]:
    core = core or SignalsCore(PRESET, "binance")
    events: list[Event] = []
    for symbol in symbols:
        events += market(symbol, tpm=50.0 if symbol == "ETHUSDT" else 40.0)
    events.append(book("ETHUSDT", T0 + 61_000))  # passes the first scan boundary
    return core, run(core, events)


def test_a_scan_at_each_interval_ranks_candidates_and_subscribes_them_once() -> None:
    core, outputs = scanned()
    (scan,) = of(outputs, ScanCompleted)
    assert scan.ts_ms == T0 + MINUTE and scan.trigger == "schedule"
    assert scan.candidates == ["ETHUSDT", "SOLUSDT"]  # more trades per minute ranks first
    assert [o.stream for o in outputs if isinstance(o.event, ScanCompleted)] == ["scan-unit_preset"]
    (request,) = of(outputs, SubscriptionRequested)
    assert request.symbols == ["ETHUSDT", "SOLUSDT"] and request.action == "add"
    moved = of(outputs, SignalStateChanged)
    assert {(m.symbol, m.state) for m in moved} == {
        ("ETHUSDT", "level_building"),
        ("SOLUSDT", "level_building"),
    }
    # The next scan, a minute later, changes nothing: no second subscription, no transitions.
    later = run(core, [book("ETHUSDT", T0 + 121_000)], start=100)
    assert len(of(later, ScanCompleted)) == 1
    assert of(later, SubscriptionRequested) == [] and of(later, SignalStateChanged) == []


def test_a_breakout_of_a_candidate_is_a_momentum_signal_on_its_subject() -> None:
    core, _ = scanned()
    outputs = run(core, breakout(), start=100)
    (signal,) = of(outputs, SignalGenerated)
    assert signal.strategy == "momentum" and signal.side == "long" and signal.level_price == 100.0
    assert signal.subject() == "sig.unit_preset.ETHUSDT"
    assert signal.preset_ref == PRESET.ref() and signal.stop_price < signal.entry_price
    assert signal.expires_ts_ms == signal.ts_ms + PRESET.signal_config.signal_timeout_s * 1000
    again, _ = scanned()
    assert of(run(again, breakout(), start=100), SignalGenerated)[0].signal_id == signal.signal_id
    states = [e.state for e in of(outputs, SignalStateChanged)]
    assert states == ["signal_wait", "level_building"]


def _regime(state: str, sides: list[str], presets: list[str]) -> RegimeChanged:
    trend = TrendReading(
        series="DXY",
        direction="FLAT",
        change=0.0,
        score=0.0,
        last_value=None,
        points=0,
        lookback_points=0,
        strong_move=1.0,
        weak_move=0.5,
    )
    inputs = RegimeInputs(
        dxy=trend,
        btcd=msgspec.structs.replace(trend, series="BTCD"),
        news_score=None,
        active_news=0,
        decoupled_news_share=0.0,
        weights=RegimeWeights(dxy=0.4, btcd=0.4, news=0.2),
        masses={},
    )
    return RegimeChanged(
        state=state,  # type: ignore[arg-type]
        previous_state=None,
        confidence=0.8,
        min_confidence=0.6,
        time_in_previous_s=None,
        min_time_in_state_s=60.0,
        inputs=inputs,
        permissions=RegimePermissions(
            sides_allowed=sides, presets_allowed=presets, size_multiplier=0.0
        ),  # type: ignore[arg-type]
        decided_ts_ms=T0,
        config_id="x",
    )


def test_chop_stops_new_signals_and_says_so() -> None:
    core, _ = scanned()
    outputs = run(core, [_regime("CHOP", [], []), *breakout()], start=100)
    assert of(outputs, SignalGenerated) == []
    (rejected,) = of(outputs, SignalRejected)
    assert rejected.failed == ["regime_permits"] and "CHOP" in rejected.checks[-1].note


def test_a_pause_for_this_preset_stops_signals_and_a_resume_lets_them_through() -> None:
    core, _ = scanned()
    other = PauseRequested(paused=True, preset="another_preset", requested_by="op")
    ours = PauseRequested(paused=True, preset="unit_preset", requested_by="op")
    outputs = run(core, [other, ours, *breakout()], start=100)
    assert of(outputs, SignalRejected)[0].failed == ["not_paused"]
    core, _ = scanned()
    resume = PauseRequested(paused=False, requested_by="op")
    outputs = run(core, [ours, resume, *breakout()], start=100)
    assert len(of(outputs, SignalGenerated)) == 1


def test_a_group_instance_reads_only_its_symbols() -> None:
    core = SignalsCore(PRESET, "binance", symbols=("SOLUSDT",))
    assert "feat.levels.SOLUSDT" in core.subjects and "feat.levels.*" not in core.subjects
    _, outputs = scanned(core=core)
    assert of(outputs, ScanCompleted) == []  # its time moves with its own symbols only
    outputs = run(core, [book("SOLUSDT", T0 + 61_000)], start=50)
    (scan,) = of(outputs, ScanCompleted)
    assert [row.symbol for row in scan.rows] == ["SOLUSDT"]
    assert run(core, breakout("ETHUSDT"), start=100) == []


def test_another_venue_is_ignored() -> None:
    core = SignalsCore(PRESET, "othervenue")
    assert run(core, market()) == []


def test_a_restart_from_a_snapshot_decides_exactly_as_an_uninterrupted_run() -> None:
    first_half = [*market("ETHUSDT"), *market("SOLUSDT"), book("ETHUSDT", T0 + 61_000)]
    second_half = breakout()
    straight = SignalsCore(PRESET, "binance")
    expected = run(straight, first_half) + run(straight, second_half, start=100)
    before = SignalsCore(PRESET, "binance")
    head = run(before, first_half)
    after = SignalsCore(PRESET, "binance")
    after.restore(before.snapshot())
    tail = run(after, second_half, start=100)
    assert msgspec.json.encode(head + tail) == msgspec.json.encode(expected)
    # A snapshot of another preset version is not used.
    other = SignalsCore(preset(signal_config={"momentum_volume_k": 2.0}), "binance")
    other.restore(before.snapshot())
    assert other.state.views == {}


def test_a_bar_is_matched_by_its_open_time_when_features_lag_the_market_data() -> None:
    # In a replay (or when the features service runs behind) later candles are already in.
    core, _ = scanned()
    armed, bar, bar_indicators = breakout()
    next_bar = candle(100.4, 100.6, 100.3, 100.5, index=2)
    outputs = run(core, [armed, bar, next_bar, bar_indicators], start=100)
    assert len(of(outputs, SignalGenerated)) == 1


def test_a_scan_request_scans_at_once_for_this_preset_only() -> None:
    core, _ = scanned()
    ours = ScanRequested(preset="unit_preset", requested_by="op")
    other = ScanRequested(preset="another_preset", requested_by="op")
    assert run(core, [other], start=100) == []
    (scan,) = of(run(core, [ours], start=101), ScanCompleted)
    assert scan.trigger == "on_demand" and scan.ts_ms == T0 + 61_000
    assert scan.candidates == ["ETHUSDT", "SOLUSDT"]
    assert SignalsCore(PRESET, "binance").handle(recorded(ours, 1)) == []  # nothing seen yet
