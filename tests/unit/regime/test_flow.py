"""Capital flow from BTC dominance momentum: direction, strength, divergence, bias."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from breakout.regime.config import FlowConfig, RegimeConfig
from breakout.regime.flow import FlowReading, analyze_flow
from breakout.regime.trend import analyze_trend

CONFIG = RegimeConfig()


def _flow(values: list[float]) -> FlowReading:
    trend = analyze_trend("BTCD", values, CONFIG.btcd)
    return analyze_flow(values, trend, CONFIG.flow)


def test_rising_dominance_is_inflow_with_continuation() -> None:
    values = [50.0 + 0.1 * i for i in range(24)]  # +0.6 pp over 6 h, +2.4 pp over the day
    reading = _flow(values)
    assert reading.direction == "BTC_INFLOW"
    assert reading.momentum_pp == pytest.approx(0.6)
    assert reading.strength == pytest.approx(0.6)
    assert (reading.divergence, reading.bias) == (False, "CONTINUATION")


def test_falling_dominance_is_outflow() -> None:
    reading = _flow([50.0 - 0.1 * i for i in range(24)])
    assert reading.direction == "BTC_OUTFLOW"
    assert reading.bias == "CONTINUATION"


def test_weak_momentum_with_the_trend_has_no_bias() -> None:
    # +0.35 pp in 6 h: an inflow, but strength 0.35 is below the 0.5 needed for continuation.
    values = [50.0 + 0.35 / 6 * i for i in range(24)]
    reading = _flow(values)
    assert reading.direction == "BTC_INFLOW"
    assert reading.bias == "NONE"


def test_small_moves_are_neutral() -> None:
    reading = _flow([50.0 + 0.01 * i for i in range(24)])
    assert (reading.direction, reading.bias, reading.divergence) == ("NEUTRAL", "NONE", False)


def test_momentum_against_the_trend_is_divergence_and_mean_reversion() -> None:
    rise = [50.0 + 0.1 * i for i in range(20)]  # a strong day-long rise
    turn = [rise[-1] - 0.15 * (i + 1) for i in range(4)]  # then a sharp 6 h drop
    reading = _flow(rise + turn)
    assert reading.direction == "BTC_OUTFLOW"
    assert reading.divergence is True
    assert reading.bias == "MEAN_REVERSION"


def test_not_enough_history_is_unknown_momentum() -> None:
    reading = _flow([50.0] * 6)
    assert reading.momentum_pp is None
    assert reading.direction == "NEUTRAL"


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="flow_threshold_pp"):
        FlowConfig(flow_threshold_pp=2.0, strong_momentum_pp=1.0)


@given(st.lists(st.floats(30, 70), min_size=7, max_size=40))
def test_strength_is_within_zero_and_one_and_matches_direction(values: list[float]) -> None:
    reading = _flow(values)
    assert 0.0 <= reading.strength <= 1.0
    assert reading.momentum_pp is not None
    if reading.direction == "NEUTRAL":
        assert abs(reading.momentum_pp) < CONFIG.flow.flow_threshold_pp
        assert reading.bias == "NONE"
    else:
        assert abs(reading.momentum_pp) >= CONFIG.flow.flow_threshold_pp
