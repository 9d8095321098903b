"""Levels: touches and the wick filter, round numbers, a cascade of three round-number levels,
a vertical approach refused, and a whole base read from bars."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from breakout.features.config import LevelsRules
from breakout.features.indicators import Bar
from breakout.features.levels import (
    approach,
    cascade_size,
    donchian,
    find_cascades,
    levels,
    round_number,
    touches,
)
from tests.unit.features.factories import T0_MS

RULES = LevelsRules()


def bar(i: int, open_: float, high: float, low: float, close: float) -> Bar:
    return (T0_MS + i * 300_000, open_, high, low, close, 10.0, 5.0)


def test_touches_merge_visits_and_the_wick_filter_drops_spikes() -> None:
    bars = [
        bar(0, 100, 105, 99, 104),
        bar(1, 104, 109.9, 103, 109),  # visit 1 (two bars)
        bar(2, 109, 110, 107, 108),
        bar(3, 108, 108, 104, 105),
        bar(4, 105, 110, 104, 105.5),  # a spike: wick of 4.5 beyond the body
        bar(5, 105, 107, 103, 106),
        bar(6, 106, 109.95, 105, 109.5),  # visit 2
    ]
    count, last = touches(bars, 110.0, "resistance", tolerance=0.25, max_wick=2.0)
    assert (count, last) == (2, 6)
    count, _ = touches(bars, 110.0, "resistance", tolerance=0.25, max_wick=10.0)
    assert count == 3  # without the filter the spike counts
    assert donchian(bars, 5) == (110, 103)


@pytest.mark.parametrize(
    ("price", "step", "score"),
    [
        (1.00, 1.00, 4 / 6),  # on 0.01, 0.05, 0.10 and 1.00
        (10.0, 10.0, 1.0),
        (0.50, 0.10, 3 / 6),
        (12.34, 0.01, 1 / 6),
        (12.345, None, 0.0),  # half a cent off: on no step
        (250.37, None, 0.0),  # 0.01 and 0.05 are too fine steps at 250
        (40_000.0, None, 0.0),  # no candidate step is relevant this high
    ],
)
def test_round_numbers(price: float, step: float | None, score: float) -> None:
    found_step, found_score = round_number(price, RULES)
    assert found_step == (pytest.approx(step) if step is not None else None)
    assert found_score == pytest.approx(score)


def test_a_cascade_of_three_round_number_levels() -> None:
    levels_ = [100.00, 100.05, 100.10, 101.00]
    assert all(round_number(p, RULES)[0] is not None for p in levels_[:3])
    cascades = find_cascades(levels_, radius_bps=15, min_levels=3)
    assert len(cascades) == 1
    assert cascades[0].levels == [100.00, 100.05, 100.10]
    assert (cascades[0].price_low, cascades[0].price_high) == (100.00, 100.10)
    assert cascade_size(100.05, levels_, 15) == 3
    assert find_cascades([100.00, 100.05, 101.00], radius_bps=15, min_levels=3) == []


@given(st.lists(st.floats(1, 1e5), max_size=30), st.floats(1, 100), st.integers(2, 5))
def test_cascades_hold_enough_close_levels(prices: list, radius: float, minimum: int) -> None:
    for cascade in find_cascades(prices, radius, minimum):
        assert len(cascade.levels) >= minimum
        assert (cascade.price_high - cascade.price_low) / cascade.price_low * 1e4 <= radius + 1e-9
        assert all(p in prices for p in cascade.levels)


def test_a_vertical_approach_is_refused() -> None:
    # Five bars rising 3 % each into a resistance at 116: steeper than 1.5 % per bar.
    closes = [100 * 1.03**i for i in range(6)]
    bars = [bar(i, c / 1.01, c * 1.001, c / 1.011, c) for i, c in enumerate(closes)]
    slope, _, ok = approach(bars, 116.0, "resistance", atr=1.0, rules=RULES)
    assert slope == pytest.approx((closes[-1] - closes[0]) / closes[0] / 5 * 100)
    assert slope > RULES.approach_slope_max_pct_per_bar
    assert not ok


def test_a_consolidated_approach_is_accepted() -> None:
    closes = [108.0, 108.5, 109.0, 109.4, 109.5, 109.6]
    bars = [bar(i, c - 0.2, c + 0.3, c - 0.4, c) for i, c in enumerate(closes)]
    slope, consolidated, ok = approach(bars, 110.0, "resistance", atr=1.0, rules=RULES)
    assert slope < RULES.approach_slope_max_pct_per_bar
    assert consolidated == 4  # 109.0 .. 109.6 lie within one ATR under 110
    assert ok
    # Too little consolidation: only the last close is within the band.
    rules = LevelsRules(consolidation_band_atr=0.45)
    assert approach(bars, 110.0, "resistance", atr=1.0, rules=rules) == (slope, 1, False)


def test_levels_of_a_range() -> None:
    # 30 bars ranging 100..110 with highs at 110 every 6th bar, lows at 100 every 7th.
    bars = []
    for i in range(30):
        if i % 6 == 3:
            bars.append(bar(i, 106, 110, 105, 109.6))  # rejected under 110, small wick
        elif i % 7 == 2:
            bars.append(bar(i, 104, 105, 100, 100.5))
        else:
            bars.append(bar(i, 105, 108, 102, 106 if i % 2 else 104))
    out = levels(bars, atr=1.0, rules=RULES, exchange="binance", symbol="ETH", timeframe="5m")
    assert out is not None
    assert (out.resistance.price, out.support.price) == (110.0, 100.0)
    assert out.base_height == 10.0
    assert out.base_height_pct == pytest.approx(10.0)
    # The last 20 bars (10..29) hold highs at 15, 21, 27 and lows at 16, 23.
    assert out.resistance.touches == 3
    assert out.support.touches == 2
    assert out.resistance.age_bars == 2
    assert out.resistance.valid and out.support.valid
    assert out.resistance.round_step == 10.0
    assert 0 < out.resistance.strength <= 1
    assert 110.0 in out.swing_highs


def test_no_levels_without_enough_bars_or_atr() -> None:
    bars = [bar(i, 100, 101, 99, 100) for i in range(RULES.donchian_bars - 1)]
    where = {"exchange": "binance", "symbol": "X", "timeframe": "5m"}
    assert levels(bars, atr=1.0, rules=RULES, **where) is None
    assert levels([*bars, bars[-1]], atr=None, rules=RULES, **where) is None


def test_a_flat_approach_to_support_has_no_negative_zero() -> None:
    # JSONB stores -0.0 as 0: a replay from memory must record the same value as Postgres.
    bars = [bar(i, 100, 101, 99, 100) for i in range(6)]
    slope, _, _ = approach(bars, 99.0, "support", atr=1.0, rules=RULES)
    assert str(slope) == "0.0"
