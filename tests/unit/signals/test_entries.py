"""Entry rules: each signal type's setup, and every check passing at its threshold and failing
just past it; the short side mirrors the long one."""

from __future__ import annotations

from typing import Any

import pytest

from breakout.common.events import LiquiditySweep, OrderFlowUpdated, StructureShift
from breakout.common.events.sig import Check
from breakout.signals.entries import Entry, density_eaten, momentum, prelevel, retest
from breakout.signals.gates import Gate, RegimeView
from breakout.signals.structure import structure_confidence, structure_entry
from breakout.signals.view import SymbolView, Wall
from tests.unit.signals.factories import candle, indicators, level, liquid_view, preset

DEFAULT = preset()
BAR = indicators(timeframe="5m", volume_median=10.0, vwap_gap_bps=20.0, atr=0.5)
BREAKOUT = dict(open_=99.9, high=100.5, low=99.85, close=100.4)


def _view(**overrides: Any) -> SymbolView:
    return liquid_view(**overrides)


def _gate(view: SymbolView | None = None, **kw: Any) -> Gate:
    return Gate(kw.pop("preset", DEFAULT), view or _view(), **kw)


def _check(entry: Entry | None, name: str) -> Check:
    assert entry is not None
    return next(c for c in entry.checks if c.name == name)


def _momentum(gate: Gate | None = None, side: str = "long", **bar: Any) -> Entry | None:
    shape = {**BREAKOUT, **bar}
    volume = shape.pop("volume", 30.0)
    c = candle(shape["open_"], shape["high"], shape["low"], shape["close"], volume=volume)
    lvl = level("resistance" if side == "long" else "support", 100.0)
    return momentum(gate or _gate(), c, BAR, lvl, side)  # type: ignore[arg-type]


# -- momentum -------------------------------------------------------------------------------


def test_a_clean_breakout_is_a_momentum_entry_with_its_stop_and_order() -> None:
    entry = _momentum()
    assert entry is not None and entry.passed, [c for c in entry.checks if not c.passed]
    assert entry.entry_order == "stop_limit"
    assert entry.entry_price == pytest.approx(100.05)  # level + 5 bps
    assert entry.limit_price == pytest.approx(100.05 * 1.0005)
    assert entry.stop_price == pytest.approx(100.05 - 1.2 * 0.5)  # 5m ATR 0.5
    assert entry.confidence == pytest.approx(0.6 + 0.4 * 0.8)
    assert entry.inputs["volume_median"] == 10.0


def test_a_bar_that_never_reached_the_level_plus_epsilon_is_no_setup() -> None:
    assert _momentum(high=100.049, close=100.0) is None
    assert _momentum(high=100.05, close=100.0) is not None


@pytest.mark.parametrize(
    ("name", "passing", "failing"),
    [
        ("close_beyond_level", {"close": 100.05}, {"close": 100.049}),
        ("volume_vs_median", {"volume": 18.0}, {"volume": 17.9}),
        (
            "body_ratio",
            {"open_": 100.0, "high": 100.6, "low": 99.6, "close": 100.5},
            {"open_": 100.0, "high": 100.6, "low": 99.6, "close": 100.49},
        ),
    ],
)
def test_momentum_bar_checks_at_their_edges(
    name: str, passing: dict[str, float], failing: dict[str, float]
) -> None:
    assert _check(_momentum(**passing), name).passed
    failed = _check(_momentum(**failing), name)
    assert not failed.passed and failed.margin is not None and failed.margin < 0


def test_momentum_book_imbalance_and_vwap_gap_at_their_edges() -> None:
    assert _check(_momentum(_gate(_view(imbalance=0.2))), "l2_imbalance").passed
    assert not _check(_momentum(_gate(_view(imbalance=0.19))), "l2_imbalance").passed
    for gap, ok in [(80.0, True), (-80.0, True), (80.1, False), (-80.1, False)]:
        bar = indicators(timeframe="5m", volume_median=10.0, vwap_gap_bps=gap, atr=0.5)
        c = candle(99.9, 100.5, 99.85, 100.4)
        entry = momentum(_gate(), c, bar, level(), "long")
        assert _check(entry, "abs_vwap_gap_bps").passed is ok


def test_momentum_needs_the_wall_at_the_level_eaten_where_density_is_on() -> None:
    def with_wall(side: str, eaten: float, price: float = 100.02) -> Gate:
        view = _view()
        view.walls["w"] = Wall(
            wall_id="w",
            side=side,
            price_low=price,
            price_high=price,
            initial_qty=50.0,
            eaten_ratio=eaten,
        )
        return _gate(view)

    assert _check(_momentum(with_wall("ask", 0.75)), "wall_eaten_ratio").passed
    assert not _check(_momentum(with_wall("ask", 0.74)), "wall_eaten_ratio").passed
    # A bid wall, or an ask wall farther than 15 bps from the level, is not at the level.
    assert (
        _check(_momentum(with_wall("bid", 0.0)), "wall_eaten_ratio").note == "no wall at the level"
    )
    far = _check(_momentum(with_wall("ask", 0.0, price=100.16)), "wall_eaten_ratio")
    assert far.passed and far.note == "no wall at the level"
    off = preset(signal_config={"density_confirmation": False})
    gate = with_wall("ask", 0.0)
    entry = _momentum(Gate(off, gate.view))
    assert _check(entry, "wall_eaten_ratio").note == "density confirmation off in the preset"


def test_approach_quality_is_required_unless_the_preset_waives_it() -> None:
    c = candle(**{"open_": 99.9, "high": 100.5, "low": 99.85, "close": 100.4})
    steep = level(approach_ok=False)
    assert not _check(momentum(_gate(), c, BAR, steep, "long"), "approach_quality").passed
    lax = preset(signal_config={"require_approach_quality": False})
    entry = momentum(_gate(preset=lax), c, BAR, steep, "long")
    assert entry is not None and entry.passed


def test_short_momentum_mirrors_the_long_one() -> None:
    gate = _gate(_view(imbalance=-0.2))
    entry = _momentum(gate, "short", open_=100.1, high=100.15, low=99.5, close=99.6)
    assert entry is not None and entry.passed
    assert entry.entry_price == pytest.approx(99.95) and entry.stop_price > entry.entry_price
    against = _momentum(
        _gate(_view(imbalance=-0.19)), "short", open_=100.1, high=100.15, low=99.5, close=99.6
    )
    assert not _check(against, "l2_imbalance").passed
    assert _momentum(gate, "short", open_=100.1, high=100.15, low=99.951, close=100.0) is None


# -- filters every entry carries ------------------------------------------------------------

CHOP = RegimeView(state="CHOP", sides_allowed=[], presets_allowed=[])
RISK_ON = RegimeView(state="RISK_ON", sides_allowed=["long"], presets_allowed=["unit_preset"])


@pytest.mark.parametrize(
    ("gate_kw", "name", "passed"),
    [
        ({}, "not_paused", True),
        ({"paused": True}, "not_paused", False),
        ({"regime": CHOP}, "regime_permits", False),
        ({"regime": RISK_ON}, "regime_permits", True),
        (
            {
                "regime": RegimeView(
                    state="RISK_ON", sides_allowed=["short"], presets_allowed=["unit_preset"]
                )
            },
            "regime_permits",
            False,
        ),
        (
            {
                "regime": RegimeView(
                    state="RISK_ON", sides_allowed=["long"], presets_allowed=["other"]
                )
            },
            "regime_permits",
            False,
        ),
        ({}, "regime_permits", True),  # no regime decision seen: skipped, noted
    ],
)
def test_pause_and_regime_gates(gate_kw: dict[str, Any], name: str, passed: bool) -> None:
    entry = _momentum(_gate(**gate_kw))
    assert _check(entry, name).passed is passed
    assert entry is not None and entry.passed is passed


def test_an_activity_drop_rejects_every_entry_type_unless_the_preset_ignores_it() -> None:
    dropped = _view(activity_dropped=True)
    assert not _check(_momentum(_gate(dropped)), "activity_not_dropped").passed
    c = candle(99.9, 100.3, 99.9, 100.2)
    assert not _check(retest(_gate(dropped), c, BAR, 100.0, "long"), "activity_not_dropped").passed
    near = candle(99.7, 99.85, 99.7, 99.8)
    assert not _check(
        prelevel(_gate(dropped), near, level(), "long"), "activity_not_dropped"
    ).passed
    lax = preset(signal_config={"reject_on_activity_drop": False, "respect_regime": False})
    entry = _momentum(Gate(lax, dropped, CHOP))
    assert entry is not None and entry.passed


# -- retest ---------------------------------------------------------------------------------


def _retest(view: SymbolView | None = None, **bar: float) -> Entry | None:
    shape = {"open_": 100.2, "high": 100.4, "low": 99.9, "close": 100.3, **bar}
    c = candle(shape["open_"], shape["high"], shape["low"], shape["close"])
    return retest(_gate(view), c, BAR, 100.0, "long")


def test_a_retest_that_holds_is_a_limit_entry_at_the_level() -> None:
    entry = _retest(_view(tpm=30.0, baseline_tpm=40.0))
    assert entry is not None and entry.passed, [c for c in entry.checks if not c.passed]
    assert entry.entry_order == "limit" and entry.entry_price == 100.0
    assert entry.stop_price == pytest.approx(100.0 - 1.0 * 0.5)


def test_retest_setup_and_checks_at_their_edges() -> None:
    assert _retest(low=100.051) is None  # not back within 5 bps of the level
    assert _retest(low=100.05) is not None
    assert _check(_retest(low=99.875), "pierce_atr").passed  # 0.25 ATR
    assert not _check(_retest(low=99.874), "pierce_atr").passed
    assert _check(_retest(close=100.0), "close_held_level").passed
    assert not _check(_retest(close=99.99), "close_held_level").passed
    assert _check(_retest(_view(imbalance=0.3)), "l2_imbalance").passed
    assert not _check(_retest(_view(imbalance=0.29)), "l2_imbalance").passed
    assert _check(_retest(_view(tpm=28.0, baseline_tpm=40.0)), "tpm_vs_baseline").passed
    assert not _check(_retest(_view(tpm=27.9, baseline_tpm=40.0)), "tpm_vs_baseline").passed


def test_short_retest_mirrors() -> None:
    c = candle(99.8, 100.1, 99.6, 99.7)
    entry = retest(_gate(_view(imbalance=-0.3)), c, BAR, 100.0, "short")
    assert entry is not None and entry.passed
    assert entry.stop_price == pytest.approx(100.5)


# -- pre-level, density eaten, structure ----------------------------------------------------


def test_prelevel_limit_before_a_strong_level() -> None:
    near = candle(99.7, 99.85, 99.7, 99.8)
    entry = prelevel(_gate(), near, level(), "long")
    assert entry is not None and entry.passed
    assert entry.entry_price == pytest.approx(100.0 * (1 - 2 / 1e4))
    assert prelevel(_gate(), candle(99.6, 99.75, 99.6, 99.7), level(), "long") is not None
    assert prelevel(_gate(), candle(99.6, 99.75, 99.6, 99.69), level(), "long") is None  # 31 bps
    assert prelevel(_gate(), candle(99.9, 100.1, 99.9, 100.01), level(), "long") is None  # past it
    assert _check(prelevel(_gate(), near, level(strength=0.6), "long"), "level_strength").passed
    weak = prelevel(_gate(), near, level(strength=0.59), "long")
    assert not _check(weak, "level_strength").passed
    short = prelevel(_gate(), candle(100.3, 100.3, 100.1, 100.2), level("support"), "short")
    assert short is not None and short.entry_price == pytest.approx(100.0 * (1 + 2 / 1e4))


def test_density_eaten_entry_once_the_wall_at_the_level_is_three_quarters_eaten() -> None:
    def wall(eaten: float, side: str = "ask", price: float = 100.05) -> Wall:
        return Wall(
            wall_id="w",
            side=side,
            price_low=price,
            price_high=price,
            initial_qty=9.0,
            eaten_ratio=eaten,
        )

    entry = density_eaten(_gate(), wall(0.75), level(), "long")
    assert entry is not None and entry.passed and entry.entry_order == "market"
    assert density_eaten(_gate(), wall(0.74), level(), "long") is None
    assert density_eaten(_gate(), wall(0.9, "bid"), level(), "long") is None
    assert density_eaten(_gate(), wall(0.9, price=100.16), level(), "long") is None
    against = density_eaten(_gate(_view(imbalance=0.1)), wall(0.8), level(), "long")
    assert not _check(against, "l2_imbalance").passed
    steep = density_eaten(_gate(), wall(0.8), level(approach_ok=False), "long")
    assert not _check(steep, "approach_quality").passed


def _flow(delta_ratio: float, **kw: Any) -> OrderFlowUpdated:
    return OrderFlowUpdated(
        exchange="binance",
        symbol="ETHUSDT",
        timeframe="5m",
        open_ts_ms=0,
        delta=1.0,
        delta_ratio=delta_ratio,
        cvd=1.0,
        imbalance_zones=[],
        **kw,
    )


def _shift(kind: str = "bos", direction: str = "up") -> StructureShift:
    return StructureShift(
        exchange="binance",
        symbol="ETHUSDT",
        timeframe="5m",
        open_ts_ms=0,
        kind=kind,  # type: ignore[arg-type]
        direction=direction,
        level=100.0,
        close=100.3,  # type: ignore[arg-type]
    )


def test_structure_confidence_formula() -> None:
    assert structure_confidence("bos", 0.3, 0.3, False, False) == pytest.approx(0.5)
    assert structure_confidence("sweep", 0.6, 0.3, True, True) == pytest.approx(1.0)
    assert structure_confidence("choch", None, 0.3, True, False) == pytest.approx(0.55)


def test_a_bos_with_flow_and_regime_is_a_structure_entry_and_without_them_it_is_refused() -> None:
    view = _view(orderflow=_flow(0.3))
    entry = structure_entry(_gate(view, regime=RISK_ON), _shift(), "long")
    assert entry is not None and entry.passed and entry.confidence == pytest.approx(0.65)
    unconfirmed = structure_entry(
        _gate(_view(orderflow=_flow(0.29)), regime=RISK_ON), _shift(), "long"
    )
    assert not _check(unconfirmed, "orderflow_on_side").passed
    no_regime = structure_entry(_gate(view), _shift(), "long")
    assert not _check(no_regime, "structure_confidence").passed  # 0.5 < 0.6
    assert structure_entry(_gate(view), _shift(direction="down"), "long") is None


def test_a_sweep_of_the_highs_is_a_short_entry_stopped_beyond_its_wick() -> None:
    sweep = LiquiditySweep(
        exchange="binance",
        symbol="ETHUSDT",
        timeframe="5m",
        open_ts_ms=0,
        side="highs",
        level=100.0,
        extreme=100.4,
        close=99.8,
    )
    regime = RegimeView(state="RISK_OFF", sides_allowed=["short"], presets_allowed=["unit_preset"])
    entry = structure_entry(_gate(_view(orderflow=_flow(-0.4)), regime=regime), sweep, "short")
    assert entry is not None and entry.passed and entry.stop_price == 100.4


def test_the_momentum_stop_is_the_tighter_of_the_swing_low_and_the_atr_stop() -> None:
    view = _view()
    view.candles = [candle(99.9, 100.0, 99.8, 99.95, index=-1)]  # the bar before: low 99.8
    entry = _momentum(_gate(view))
    assert entry is not None and entry.stop_price == 99.8  # above 100.05 - 0.6 = 99.45
    view.candles = [candle(99.9, 100.0, 99.2, 99.95, index=-1)]
    assert _momentum(_gate(view)).stop_price == pytest.approx(99.45)  # type: ignore[union-attr]
