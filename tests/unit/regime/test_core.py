"""The regime core end to end on recorded events: a scripted macro path, news, staleness, replay."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

import pytest

from breakout.common.events import Event, RecordedEvent
from breakout.common.events.regime import (
    CAPITAL_FLOW_STREAM,
    NEWS_CLASSIFIED_STREAM,
    REGIME_STREAM,
    CapitalFlowChanged,
    NewsClassified,
    RegimeChanged,
    RegimeFreshnessChanged,
    RegimeHeld,
)
from breakout.common.runtime.core import Core, Emit, SnapshottingCore
from breakout.regime.core import RegimeCore
from tests.unit.regime.helpers import (
    HOUR_MS,
    T0_MS,
    failed,
    headline,
    observed,
    recorded,
    recovered,
)

E = TypeVar("E", bound=Event)


def scripted_path() -> Iterator[RecordedEvent]:
    """A day and a half of dollar and dominance falling with good news, then flat, then rising."""
    hour = 0
    dxy, btcd = 104.0, 55.0
    for phase, (dxy_step, btcd_step, title) in enumerate(
        [
            (-0.04, -0.05, "Fed cuts rates as inflation cools"),
            (0.0, 0.0, "Markets quiet ahead of the holiday"),
            (0.05, 0.05, "Powell turns hawkish as CPI comes in hotter than expected"),
        ]
    ):
        for step in range(36):
            dxy += dxy_step
            btcd += btcd_step
            yield observed("DXY", round(dxy, 4), hour)
            yield observed("BTCD", round(btcd, 4), hour)
            if step % 3 == 0:
                yield headline(title, hour + 0.5, url=f"https://news.test/{phase}/{step}")
            hour += 1


def _run(core: RegimeCore, events: Sequence[RecordedEvent] | Iterator[RecordedEvent]) -> list[Emit]:
    out: list[Emit] = []
    for event in events:
        out.extend(core.handle(event))
    return out


def _of(emits: list[Emit], kind: type[E]) -> list[E]:
    return [e.event for e in emits if isinstance(e.event, kind)]


def test_core_satisfies_the_runtime_ports() -> None:
    core = RegimeCore()
    assert isinstance(core, Core)
    assert isinstance(core, SnapshottingCore)


def test_scripted_path_moves_risk_on_then_chop_then_risk_off() -> None:
    emits = _run(RegimeCore(), scripted_path())
    changes = _of(emits, RegimeChanged)
    assert [c.state for c in changes] == ["RISK_ON", "CHOP", "RISK_OFF"]
    assert [c.previous_state for c in changes] == [None, "RISK_ON", "CHOP"]
    assert all(c.confidence > 0.6 for c in changes)
    assert all(e.stream == REGIME_STREAM for e in emits if isinstance(e.event, RegimeChanged))
    chop = changes[1]
    assert chop.permissions.sides_allowed == []
    assert chop.permissions.size_multiplier == 0.0
    # The decision explains itself: inputs, weights, time in the previous state.
    risk_off = changes[2]
    assert risk_off.inputs.dxy.direction in ("STRONG_UP", "WEAK_UP")
    assert risk_off.inputs.news_score is not None and risk_off.inputs.news_score < 0
    assert risk_off.inputs.weights.dxy == 0.4
    assert risk_off.time_in_previous_s is not None and risk_off.time_in_previous_s >= 3600
    assert risk_off.config_id == RegimeCore().config_id


def test_decision_times_come_from_the_events() -> None:
    emits = _run(RegimeCore(), scripted_path())
    first = _of(emits, RegimeChanged)[0]
    emit = next(e for e in emits if e.event is first)
    assert emit.occurred_at is not None
    assert int(emit.occurred_at.timestamp() * 1000) == first.decided_ts_ms
    assert T0_MS <= first.decided_ts_ms <= T0_MS + 36 * HOUR_MS


def test_news_is_classified_with_terms_and_expires_by_impact() -> None:
    core = RegimeCore()
    out = _run(
        core,
        [
            headline("Fed cuts rates by 50 bps", 0, url="u/high"),
            headline("Bitcoin ETF sees steady demand", 0, url="u/medium"),
            headline("Crypto scam warning issued", 0, url="u/low"),
            headline("Local bakery wins award", 0, url="u/none"),
        ],
    )
    classified = {c.url: c for c in _of(out, NewsClassified)}
    assert all(
        e.stream == NEWS_CLASSIFIED_STREAM for e in out if isinstance(e.event, NewsClassified)
    )
    assert classified["u/high"].matched_terms == ["fed", "cuts rates"]
    assert classified["u/high"].classifier == "keywords-v1"
    hours = {
        url: (c.impact, (c.expires_ts_ms - c.published_ts_ms) / HOUR_MS)
        for url, c in classified.items()
    }
    assert hours == {
        "u/high": ("HIGH", 4.0),
        "u/medium": ("MEDIUM", 2.0),
        "u/low": ("LOW", 1.0),
        "u/none": ("LOW", 1.0),
    }
    assert classified["u/none"].category == "UNCLASSIFIED"
    assert core.current_inputs().active_news == 3  # the unclassified one never counts
    core.handle(observed("DXY", 100.0, 2.5))  # time moves on: MEDIUM and LOW have expired
    assert core.current_inputs().active_news == 1
    core.handle(observed("DXY", 100.0, 4.0))
    inputs = core.current_inputs()
    assert (inputs.active_news, inputs.news_score) == (0, 0.0)


def test_a_failing_macro_feed_marks_the_regime_stale_but_keeps_it() -> None:
    core = RegimeCore()
    emits = _run(core, list(scripted_path())[:60])
    state = _of(emits, RegimeChanged)[-1].state
    last_hour = 30
    assert (
        _run(
            core,
            [
                failed("twelvedata", last_hour + 1, last_hour),
                failed("twelvedata", last_hour + 2, last_hour),
            ],
        )
        == []
    )
    stale = _run(core, [failed("twelvedata", last_hour + 3, last_hour)])
    flags = _of(stale, RegimeFreshnessChanged)
    assert len(flags) == 1
    assert flags[0].stale is True
    assert flags[0].stale_sources == ["twelvedata"]
    assert flags[0].state == state
    assert flags[0].source_ages_s["twelvedata"] == 3 * 3600
    assert core.state.machine.state == state
    assert (
        _of(_run(core, [failed("twelvedata", last_hour + 4, last_hour)]), RegimeFreshnessChanged)
        == []
    )
    fresh = _of(_run(core, [recovered("twelvedata", last_hour + 5)]), RegimeFreshnessChanged)
    assert [(f.stale, f.stale_sources) for f in fresh] == [(False, [])]


def test_a_dead_news_feed_is_missing_evidence_not_quiet_news() -> None:
    core = RegimeCore()
    _run(core, [headline("Fed cuts rates", 0), observed("DXY", 100.0, 0)])
    assert core.current_inputs().news_score is not None
    _run(core, [failed("newsapi", 5, 0)])
    inputs = core.current_inputs()
    assert inputs.news_score is None
    assert sum(inputs.masses.values()) <= 0.7 + 1e-9


def test_capital_flow_is_emitted_when_it_changes() -> None:
    core = RegimeCore()
    values = [55.0] * 8 + [55.0 + 0.1 * i for i in range(1, 12)]
    emits = _run(core, [observed("BTCD", v, h) for h, v in enumerate(values)])
    flows = _of(emits, CapitalFlowChanged)
    # Flat, then an inflow (strength 0.4: no bias yet), then strong enough for continuation.
    assert [(f.direction, f.bias) for f in flows] == [
        ("NEUTRAL", "NONE"),
        ("BTC_INFLOW", "NONE"),
        ("BTC_INFLOW", "CONTINUATION"),
    ]
    assert all(
        e.stream == CAPITAL_FLOW_STREAM for e in emits if isinstance(e.event, CapitalFlowChanged)
    )
    assert [f.strength for f in flows] == [0.0, 0.4, 0.5]
    assert [f.btc_dominance_pct for f in flows] == pytest.approx([55.0, 55.4, 55.5])


def test_backfilled_observations_are_ordered_by_source_time() -> None:
    core = RegimeCore()
    _run(core, [observed("DXY", 100.0 + h, h) for h in (3, 1, 2, 0)])
    assert [v for _, v in core.state.dxy] == [100.0, 101.0, 102.0, 103.0]


def test_replay_and_snapshot_restore_reproduce_every_decision() -> None:
    events = list(scripted_path())
    first = _run(RegimeCore(), events)
    again = _run(RegimeCore(), events)
    assert [(e.stream, e.event) for e in first] == [(e.stream, e.event) for e in again]

    half = RegimeCore()
    head = _run(half, events[:70])
    restored = RegimeCore()
    restored.restore(half.snapshot())
    tail = _run(restored, events[70:])
    assert [(e.stream, e.event) for e in head + tail] == [(e.stream, e.event) for e in first]


def test_holds_explain_what_blocked_a_move() -> None:
    emits = _run(RegimeCore(), scripted_path())
    holds = _of(emits, RegimeHeld)
    assert holds
    assert all(h.blocked_by in ("confidence_gate", "min_time_in_state") for h in holds)
    assert all(h.candidate != h.state for h in holds)


def test_unrelated_events_are_ignored() -> None:
    from tests.support.sample import Tick

    assert RegimeCore().handle(recorded(Tick(key="A", seq=1), T0_MS)) == []


def test_a_fast_polled_feed_reads_the_same_trend_as_an_hourly_one() -> None:
    # A day of dollar rising 0.02 an hour (about 0.45 % over the lookback: WEAK_UP), observed
    # once an hour by one core and every two minutes by another: the trend is a function of
    # the series over time, not of how often it was read.
    hourly, polled = RegimeCore(), RegimeCore()
    for hour in range(24):
        _run(hourly, [observed("DXY", 104.0 + 0.02 * hour, hour)])
    for step in range(24 * 30):
        _run(polled, [observed("DXY", 104.0 + 0.02 * step / 30, step / 30)])
    trend = hourly.current_inputs().dxy
    assert trend.direction == "WEAK_UP"
    assert polled.current_inputs().dxy.direction == trend.direction
    assert polled.current_inputs().dxy.change == pytest.approx(trend.change, rel=0.05)
    # Each hour keeps only its latest observation.
    assert len(polled.state.dxy) == 24


def test_a_late_earlier_observation_does_not_replace_its_hours_latest() -> None:
    core = RegimeCore()
    _run(core, [observed("BTCD", 55.0, 0.5), observed("BTCD", 54.0, 0.25)])
    assert [v for _, v in core.state.btcd] == [55.0]
