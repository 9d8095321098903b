"""The per-symbol state machine: candidates, armed levels, signals, fake-outs, retests, timeouts."""

from __future__ import annotations

from typing import Any

from breakout.signals.entries import Entry
from breakout.signals.gates import Gate
from breakout.signals.machine import Decision, SymbolMachine, Transition
from breakout.signals.view import Wall
from tests.unit.signals.factories import (
    MINUTE,
    T0,
    candle,
    indicators,
    level,
    levels,
    liquid_view,
    preset,
)

DEFAULT = preset()
BAR = dict(timeframe="5m", volume_median=10.0, vwap_gap_bps=20.0, atr=0.5)


def _armed(**kw: Any) -> SymbolMachine:
    machine = SymbolMachine(side=kw.pop("side", "long"))
    machine.on_scan(True, T0)
    machine.on_levels(
        levels(resistance=level(price=100.0), support=level("support", 98.0)), T0, 5.0
    )
    assert machine.state == "signal_wait"
    return machine


def _bar(
    machine: SymbolMachine, gate: Gate, ohlc: tuple[float, float, float, float], i: int = 1
) -> list[Decision]:
    bar_candle = candle(*ohlc, index=i)
    bar = indicators(ts_ms=bar_candle.close_ts_ms + 1, **BAR)
    return machine.on_bar(gate, bar_candle, bar)


def _states(decisions: list[Decision]) -> list[str]:
    return [d.state for d in decisions if isinstance(d, Transition)]


def _entries(decisions: list[Decision]) -> list[Entry]:
    return [d for d in decisions if isinstance(d, Entry)]


def test_candidate_then_valid_level_arms_the_machine() -> None:
    machine = SymbolMachine(side="long")
    assert _states(machine.on_scan(True, T0)) == ["level_building"]
    invalid = levels(resistance=level(valid=False))
    assert machine.on_levels(invalid, T0, 5.0) == []
    moved = machine.on_levels(levels(), T0 + MINUTE, 5.0)
    assert _states(moved) == ["signal_wait"] and moved[0].level_price == 100.0  # type: ignore[union-attr]
    # The level going invalid disarms it.
    assert _states(machine.on_levels(invalid, T0 + 2 * MINUTE, 5.0)) == ["level_building"]
    assert _states(machine.on_scan(False, T0 + 3 * MINUTE)) == ["scanning"]


def test_a_momentum_signal_spends_the_level() -> None:
    machine = _armed()
    decisions = _bar(machine, Gate(DEFAULT, liquid_view()), (99.9, 100.5, 99.85, 100.4))
    (entry,) = _entries(decisions)
    assert entry.strategy == "momentum" and entry.passed
    assert _states(decisions) == ["level_building"]
    # The same level does not arm again; a new one does.
    assert machine.on_levels(levels(resistance=level(price=100.004)), T0, 5.0) == []
    assert _states(machine.on_levels(levels(resistance=level(price=101.0)), T0, 5.0)) == [
        "signal_wait"
    ]


def test_a_fake_out_is_rejected_with_reasons_and_the_level_stands() -> None:
    machine = _armed()
    # Poked through 100.05 but closed back under the level, on a small body.
    decisions = _bar(machine, Gate(DEFAULT, liquid_view()), (99.9, 100.4, 99.85, 99.95))
    (entry,) = _entries(decisions)
    assert not entry.passed
    failed = {c.name for c in entry.checks if not c.passed}
    assert failed == {"close_beyond_level", "body_ratio"}
    assert _states(decisions) == [] and machine.state == "signal_wait"


def test_a_rejected_breakout_that_closed_beyond_waits_for_a_retest_which_can_fire() -> None:
    machine = _armed()
    weak_book = Gate(DEFAULT, liquid_view(imbalance=0.0))
    decisions = _bar(machine, weak_book, (99.9, 100.5, 99.85, 100.4))
    assert not _entries(decisions)[0].passed
    assert _states(decisions) == ["retest_wait"] and machine.broken_level == 100.0
    assert _bar(machine, weak_book, (100.4, 100.6, 100.3, 100.5), i=2) == []  # not back yet
    good = Gate(DEFAULT, liquid_view(imbalance=0.4))
    decisions = _bar(machine, good, (100.3, 100.35, 99.95, 100.2), i=3)
    (entry,) = _entries(decisions)
    assert entry.strategy == "retest" and entry.passed
    assert _states(decisions) == ["level_building"]


def test_a_retest_that_fails_back_through_the_level_ends_the_setup() -> None:
    machine = _armed()
    _bar(machine, Gate(DEFAULT, liquid_view(imbalance=0.0)), (99.9, 100.5, 99.85, 100.4))
    decisions = _bar(machine, Gate(DEFAULT, liquid_view()), (100.2, 100.2, 99.3, 99.4), i=2)
    assert not _entries(decisions)[0].passed
    assert _states(decisions) == ["level_building"]


def test_retest_priority_skips_the_momentum_signal_and_waits_for_the_retest() -> None:
    retest_first = preset(strategy_priority="retest")
    machine = _armed()
    decisions = _bar(machine, Gate(retest_first, liquid_view()), (99.9, 100.5, 99.85, 100.4))
    assert _entries(decisions) == [] and _states(decisions) == ["retest_wait"]


def test_signal_timeout_in_event_time() -> None:
    machine = _armed()
    timeout_ms = DEFAULT.signal_config.signal_timeout_s * 1000
    assert machine.on_time(T0 + timeout_ms - 1, DEFAULT.signal_config.signal_timeout_s) == []
    moved = machine.on_time(T0 + timeout_ms, DEFAULT.signal_config.signal_timeout_s)
    assert _states(moved) == ["level_building"] and moved[0].reason == "signal timeout"  # type: ignore[union-attr]


def test_a_prelevel_decision_is_made_once_per_level() -> None:
    machine = _armed()
    gate = Gate(preset(signal_config={"strategies": ["prelevel"]}), liquid_view())
    decisions = _bar(machine, gate, (99.7, 99.85, 99.7, 99.8))
    assert _entries(decisions)[0].strategy == "prelevel" and _states(decisions) == [
        "level_building"
    ]


def test_density_eaten_fires_once_per_wall() -> None:
    machine = _armed()
    gate = Gate(DEFAULT, liquid_view())
    wall = Wall(
        wall_id="w1",
        side="ask",
        price_low=100.05,
        price_high=100.05,
        initial_qty=5,
        eaten_ratio=0.5,
    )
    assert machine.on_wall(gate, wall, T0) == []  # not eaten enough: no setup
    wall.eaten_ratio = 0.8
    decisions = machine.on_wall(gate, wall, T0)
    assert _entries(decisions)[0].strategy == "density_eaten" and machine.state == "level_building"
    assert machine.on_wall(gate, wall, T0) == []


def test_the_short_machine_arms_on_the_support() -> None:
    machine = _armed(side="short")
    assert machine.level is not None and machine.level.price == 98.0


def test_a_new_candidate_arms_at_once_on_the_latest_levels() -> None:
    machine = SymbolMachine(side="long")
    moved = machine.on_scan(True, T0, levels(resistance=level(price=100.0)), 5.0)
    assert _states(moved) == ["level_building", "signal_wait"]
    assert machine.level is not None and machine.level.price == 100.0
    # Without a valid level known it waits for a bar's levels, as before.
    waiting = SymbolMachine(side="long")
    assert _states(waiting.on_scan(True, T0, levels(resistance=level(valid=False)), 5.0)) == [
        "level_building"
    ]
    # A spent level does not arm again at the next scan either.
    spent = SymbolMachine(side="long", spent_level=100.0)
    assert _states(spent.on_scan(True, T0, levels(resistance=level(price=100.0)), 5.0)) == [
        "level_building"
    ]
