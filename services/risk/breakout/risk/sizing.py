"""Stops and R-based sizing: pure functions of a signal, the preset and the market's rules.

Stop rules (long; a short mirrors them):
- momentum (and density_eaten, structure): `max(swing low, entry - momentum_stop_atr x ATR)`,
  the tighter of the structural and the volatility stop;
- retest (and prelevel): `level - retest_stop_atr x ATR`.
The signal's own `stop_price` is a suggestion: the order is sized on the wider of the rule's
stop and the signal's, so a tighter-than-rule suggestion can never enlarge the size.

Size: `R = equity x risk_per_trade x regime multiplier x confidence multiplier`,
`qty = R / stop distance`, capped by the share of the book's depth the order may take and by
the free quote balance (spot cannot borrow), then rounded DOWN to the step size (rounding up
would risk more than R). Below the exchange's minimum quantity or notional the order is refused.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

import msgspec

from breakout.common.events.feat import BookMetrics
from breakout.common.events.sig import SignalGenerated
from breakout.common.presets import Preset

RETEST_RULE_STRATEGIES = frozenset({"retest", "prelevel"})


class StopChoice(msgspec.Struct, frozen=True, kw_only=True):
    """The stop used for sizing and the rule that produced it."""

    stop_price: float
    rule: str


class Refusal(msgspec.Struct, frozen=True, kw_only=True):
    """Why a size could not be computed: the limit, the value and the threshold."""

    limit: str
    value: float | None
    threshold: float | None
    reason: str


class MarketRules(msgspec.Struct, frozen=True, kw_only=True):
    """The exchange's step size and minimums for one market."""

    step_size: Decimal
    min_qty: Decimal
    min_notional: Decimal


def rule_stop(signal: SignalGenerated, preset: Preset) -> StopChoice | Refusal:
    """The preset's stop for this signal, widened to the signal's own suggestion if wider."""
    pos = preset.position_config
    long = signal.side == "long"
    atr = signal.atr_5m if signal.atr_5m is not None and signal.atr_5m > 0 else None
    if signal.strategy in RETEST_RULE_STRATEGIES:
        if atr is None:
            return Refusal(
                limit="stop_inputs", value=None, threshold=None, reason="retest stop needs atr_5m"
            )
        offset = pos.retest_stop_atr * atr
        rule_price = signal.level_price - offset if long else signal.level_price + offset
        rule = f"retest: level {signal.level_price} -/+ {pos.retest_stop_atr} x ATR {atr}"
    else:
        candidates: list[float] = []
        if atr is not None:
            offset = pos.momentum_stop_atr * atr
            candidates.append(signal.entry_price - offset if long else signal.entry_price + offset)
        if signal.swing_price is not None:
            candidates.append(signal.swing_price)
        if not candidates:
            return Refusal(
                limit="stop_inputs",
                value=None,
                threshold=None,
                reason="momentum stop needs atr_5m or swing_price",
            )
        # The tighter of the two: the higher stop for a long, the lower for a short.
        rule_price = max(candidates) if long else min(candidates)
        rule = (
            f"momentum: {'max' if long else 'min'}(swing {signal.swing_price}, "
            f"entry -/+ {pos.momentum_stop_atr} x ATR {atr})"
        )
    # Size on the wider of the rule's stop and the signal's suggestion.
    stop = min(rule_price, signal.stop_price) if long else max(rule_price, signal.stop_price)
    if stop != rule_price:
        rule += f"; widened to the signal's stop {signal.stop_price}"
    return StopChoice(stop_price=stop, rule=rule)


def confidence_multiplier(confidence: float, min_confidence: float) -> float:
    """0.5 at the minimum confidence, rising linearly to 1.0 at full confidence."""
    if min_confidence >= 1.0:
        return 1.0
    share = (confidence - min_confidence) / (1.0 - min_confidence)
    return 0.5 + 0.5 * min(1.0, max(0.0, share))


def round_down(value: float, step: Decimal) -> Decimal:
    """`value` rounded down to a multiple of `step` (never up: that would risk more than R)."""
    if step <= 0:
        raise ValueError(f"step must be positive, got {step}")
    units = (Decimal(repr(value)) / step).to_integral_value(rounding=ROUND_DOWN)
    return (units * step).normalize() if units else Decimal(0)


def reward_risk(
    signal: SignalGenerated, preset: Preset, stop_price: float
) -> tuple[float, float | None]:
    """Reward/risk to the base-height projection (or to TP2 when there is none), and the target."""
    distance = abs(signal.entry_price - stop_price)
    long = signal.side == "long"
    target: float | None = None
    if (
        signal.base_height is not None
        and signal.base_height > 0
        and preset.position_config.use_projection_target
    ):
        target = (
            signal.level_price + signal.base_height
            if long
            else signal.level_price - signal.base_height
        )
        reward = target - signal.entry_price if long else signal.entry_price - target
    else:
        reward = preset.position_config.tp2_r * distance
    return (reward / distance if distance > 0 else 0.0), target


def depth_usd(book: BookMetrics, side: str) -> float:
    """USD resting within 0.5 % of mid on the side the entry takes from (asks for a buy)."""
    return book.ask_usd_0_5pct if side == "long" else book.bid_usd_0_5pct
