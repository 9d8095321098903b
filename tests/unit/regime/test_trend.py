"""Trend analysis of DXY and BTC.D: slope over a lookback, graded by strong/weak thresholds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from breakout.regime.config import RegimeConfig, TrendConfig
from breakout.regime.trend import analyze_trend, grade, least_squares_slope, points

DXY = RegimeConfig().dxy
BTCD = RegimeConfig().btcd


def _line(start: float, step: float, n: int = 24) -> list[float]:
    return [start + step * i for i in range(n)]


@given(
    st.floats(-1e3, 1e3),
    st.floats(-10, 10),
    st.integers(2, 60),
)
def test_slope_of_a_line_is_its_step(start: float, step: float, n: int) -> None:
    assert least_squares_slope(_line(start, step, n)) == pytest.approx(step, abs=1e-6)


def test_slope_needs_two_points() -> None:
    with pytest.raises(ValueError, match="two"):
        least_squares_slope([1.0])


@pytest.mark.parametrize(
    ("move_pct", "direction"),
    [
        (0.6, "STRONG_UP"),
        (0.2, "WEAK_UP"),
        (0.05, "FLAT"),
        (-0.05, "FLAT"),
        (-0.2, "WEAK_DOWN"),
        (-0.6, "STRONG_DOWN"),
    ],
)
def test_dxy_is_graded_in_percent_over_the_lookback(move_pct: float, direction: str) -> None:
    step = 100.0 * move_pct / 100 / 24  # around 100, so the percent move is move_pct
    reading = analyze_trend("DXY", _line(100.0, step), DXY)
    assert reading.direction == direction
    assert reading.change == pytest.approx(move_pct, rel=0.01)
    assert reading.score == pytest.approx(max(-1.0, min(1.0, move_pct / 0.5)), rel=0.01)


def test_btc_dominance_is_graded_in_percentage_points() -> None:
    # 55 % -> 55.96 % over a day: 1 pp, twice the strong threshold; the score is capped at 1.
    reading = analyze_trend("BTCD", _line(55.0, 0.04), BTCD)
    assert reading.direction == "STRONG_UP"
    assert reading.change == pytest.approx(0.96)
    assert reading.score == 1.0
    assert reading.last_value == pytest.approx(55.92)


def test_only_the_lookback_counts() -> None:
    old_fall = _line(60.0, -0.5, 40)
    flat_day = [old_fall[-1]] * 24
    assert analyze_trend("BTCD", old_fall + flat_day, BTCD).direction == "FLAT"


def test_too_few_points_is_unknown() -> None:
    reading = analyze_trend("DXY", [100.0] * 5, DXY)
    assert reading.direction == "UNKNOWN"
    assert (reading.score, reading.points) == (0.0, 5)
    assert analyze_trend("DXY", [], DXY).last_value is None


def test_thresholds_are_inclusive_at_the_boundary() -> None:
    config = TrendConfig(strong_move=0.5, weak_move=0.1)
    assert grade(0.5, config) == "STRONG_UP"
    assert grade(0.1, config) == "WEAK_UP"
    assert grade(-0.0999, config) == "FLAT"


def test_bad_trend_configs_are_refused() -> None:
    with pytest.raises(ValueError, match="min_points"):
        TrendConfig(lookback_points=4, min_points=6)
    with pytest.raises(ValueError, match="weak_move"):
        TrendConfig(strong_move=0.1, weak_move=0.2)


@given(st.lists(st.floats(90, 110), min_size=6, max_size=50))
def test_readings_stay_in_bounds(values: list[float]) -> None:
    reading = analyze_trend("DXY", values, DXY)
    assert -1.0 <= reading.score <= 1.0
    assert reading.points == min(len(values), DXY.lookback_points)
    assert (reading.change > 0) == (reading.direction in ("STRONG_UP", "WEAK_UP")) or (
        reading.direction == "FLAT"
    )


def test_points_keep_the_last_observation_of_each_bucket() -> None:
    hour = 3_600_000
    series = [(0, 1.0), (hour // 2, 2.0), (hour, 3.0), (3 * hour + 5, 4.0)]
    # Hour 2 had no observation: a missing point, not a repeated one.
    assert points(series, 3600) == [2.0, 3.0, 4.0]
    assert points(series, 0) == [1.0, 2.0, 3.0, 4.0]
