"""Capital flow: is money rotating into Bitcoin or out of it, read from BTC dominance.

Momentum is BTC.D now minus BTC.D `momentum_points` points ago, in percentage points (a point
per trend bucket, hourly by default: `trend.points`). Past the threshold it is an inflow
(dominance rising: capital prefers BTC over alts) or an outflow. Momentum against the lookback
trend is a divergence: the trend is tiring, expect mean reversion; momentum with the trend and
strong enough favours continuation.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from breakout.common.events.regime import FlowBias, FlowDirection, TrendReading
from breakout.regime.config import FlowConfig


class FlowReading(msgspec.Struct, frozen=True, kw_only=True):
    """The capital-flow verdict from one BTC.D history."""

    direction: FlowDirection
    bias: FlowBias
    divergence: bool
    strength: float
    momentum_pp: float | None


def _trend_sign(trend: TrendReading) -> int:
    if trend.direction in ("STRONG_UP", "WEAK_UP"):
        return 1
    if trend.direction in ("STRONG_DOWN", "WEAK_DOWN"):
        return -1
    return 0


def analyze_flow(btcd: Sequence[float], trend: TrendReading, config: FlowConfig) -> FlowReading:
    """Direction, bias, divergence and strength (0-1) of the flow, from BTC.D oldest first."""
    if len(btcd) <= config.momentum_points:
        return FlowReading(
            direction="NEUTRAL", bias="NONE", divergence=False, strength=0.0, momentum_pp=None
        )
    momentum = btcd[-1] - btcd[-1 - config.momentum_points]
    strength = min(1.0, abs(momentum) / config.strong_momentum_pp)
    direction: FlowDirection = "NEUTRAL"
    if momentum >= config.flow_threshold_pp:
        direction = "BTC_INFLOW"
    elif momentum <= -config.flow_threshold_pp:
        direction = "BTC_OUTFLOW"
    flow_sign = {"BTC_INFLOW": 1, "BTC_OUTFLOW": -1, "NEUTRAL": 0}[direction]
    trend_sign = _trend_sign(trend)
    divergence = flow_sign != 0 and trend_sign not in (0, flow_sign)
    bias: FlowBias = "NONE"
    if divergence:
        bias = "MEAN_REVERSION"
    elif (
        flow_sign != 0 and flow_sign == trend_sign and strength >= config.continuation_min_strength
    ):
        bias = "CONTINUATION"
    return FlowReading(
        direction=direction,
        bias=bias,
        divergence=divergence,
        strength=round(strength, 6),
        momentum_pp=round(momentum, 6),
    )
