"""Stop rules, R-based sizing and its caps, at their edges."""

from __future__ import annotations

from decimal import Decimal

import pytest

from breakout.common.events import OrderDenied, OrderIntentApproved
from breakout.common.presets import load_preset
from breakout.risk.decide import RiskView, decide
from breakout.risk.sizing import (
    MarketRules,
    StopChoice,
    confidence_multiplier,
    round_down,
    rule_stop,
)
from tests.support.trading import T0_MS, book, regime, signal

PRESET = load_preset("breakout_v1")


def view(**overrides: object) -> RiskView:
    base = RiskView(
        equity_quote=10_000.0,
        free_quote=10_000.0,
        rules={
            "BTCUSDT": MarketRules(
                step_size=Decimal("0.00001"), min_qty=Decimal("0.00001"), min_notional=Decimal("5")
            )
        },
        books={"BTCUSDT": book()},
        regime=regime(),
    )
    for key, value in overrides.items():
        setattr(base, key, value)
    return base


def approved(result: object) -> OrderIntentApproved:
    assert isinstance(result, OrderIntentApproved), result
    return result


def denied(result: object, limit: str) -> OrderDenied:
    assert isinstance(result, OrderDenied), result
    assert result.limit == limit, (result.limit, result.reason)
    return result


def test_momentum_stop_is_the_tighter_of_swing_and_atr_then_widened_to_the_signal() -> None:
    # entry 100, ATR 1: 1.2 x ATR gives 98.8; the swing low 99 is tighter; the signal says 98.5.
    stop = rule_stop(signal(stop_price=99.5), PRESET)
    assert isinstance(stop, StopChoice) and stop.stop_price == 99.0
    widened = rule_stop(signal(stop_price=98.5), PRESET)
    assert isinstance(widened, StopChoice) and widened.stop_price == 98.5
    no_swing = rule_stop(signal(swing_price=None, stop_price=99.9), PRESET)
    assert isinstance(no_swing, StopChoice) and no_swing.stop_price == pytest.approx(98.8)


def test_short_momentum_stop_mirrors() -> None:
    stop = rule_stop(signal(side="short", swing_price=101.0, stop_price=100.5), PRESET)
    assert isinstance(stop, StopChoice) and stop.stop_price == 101.0  # min(101, 101.2)


def test_retest_stop_is_level_minus_one_atr() -> None:
    stop = rule_stop(signal(strategy="retest", level_price=99.5, stop_price=99.9), PRESET)
    assert isinstance(stop, StopChoice) and stop.stop_price == pytest.approx(98.5)


def test_no_stop_inputs_is_refused() -> None:
    denied(decide(signal(atr_5m=None, swing_price=None), PRESET, view()), "stop_inputs")
    denied(decide(signal(strategy="retest", atr_5m=None), PRESET, view()), "stop_inputs")


def test_qty_is_r_over_stop_distance() -> None:
    # R = 10 000 x 0.006 x 1.0 (RISK_ON) x 1.0 (confidence 1.0) = 60; distance 100 - 98.5 = 1.5.
    intent = approved(decide(signal(confidence=1.0), PRESET, view()))
    assert intent.qty == Decimal("40")
    assert intent.sizing.capped_by == "risk"
    assert intent.stop_price == 98.5
    assert intent.sizing.risk_quote == pytest.approx(60.0)


def test_confidence_and_regime_multipliers_scale_r() -> None:
    assert confidence_multiplier(0.6, 0.6) == 0.5
    assert confidence_multiplier(1.0, 0.6) == 1.0
    assert confidence_multiplier(0.8, 0.6) == pytest.approx(0.75)
    half = approved(decide(signal(confidence=1.0), PRESET, view(regime=regime("RISK_OFF"))))
    assert half.qty == Decimal("20")  # RISK_OFF sizes at 0.5


def test_depth_caps_the_size() -> None:
    thin = book(ask_usd_0_5pct=20_000.0)  # 10 % of 20 000 USD = 20 units at 100
    intent = approved(decide(signal(confidence=1.0), PRESET, view(books={"BTCUSDT": thin})))
    assert intent.sizing.capped_by == "depth"
    assert intent.qty == Decimal("20")


def test_free_balance_caps_the_size() -> None:
    intent = approved(decide(signal(confidence=1.0), PRESET, view(free_quote=1_000.0)))
    assert intent.sizing.capped_by == "balance"
    assert intent.qty * Decimal(100) < Decimal(1_000)


def test_qty_rounds_down_to_the_step() -> None:
    assert round_down(0.123456, Decimal("0.001")) == Decimal("0.123")
    assert round_down(0.0009999, Decimal("0.001")) == Decimal(0)
    assert round_down(40.0, Decimal("0.00001")) == Decimal("40")


def test_exchange_minimum_notional_at_the_edge() -> None:
    # Equity 12.51: R = 0.07506, qty 0.05004 at 100 = notional 5.004, just above the minimum 5.
    small = view(equity_quote=12.51, free_quote=12.51)
    intent = approved(decide(signal(confidence=1.0), PRESET, small))
    assert intent.qty == Decimal("0.05004")
    below = view(equity_quote=12.49, free_quote=12.49)  # notional 4.996
    denied(decide(signal(confidence=1.0), PRESET, below), "min_notional")


def test_min_qty_refuses_a_size_rounding_to_zero() -> None:
    coarse = {
        "BTCUSDT": MarketRules(
            step_size=Decimal("1"), min_qty=Decimal("1"), min_notional=Decimal("5")
        )
    }
    denied(
        decide(signal(confidence=1.0), PRESET, view(rules=coarse, equity_quote=200.0)), "min_qty"
    )


def test_reward_risk_at_the_minimum() -> None:
    # entry 100, stop 98.5 (distance 1.5); target = level 99.5 + base height.
    at_min = signal(base_height=2.75)  # target 102.25: reward 2.25 = 1.5 R
    assert approved(decide(at_min, PRESET, view())).reward_risk == pytest.approx(1.5)
    below = signal(base_height=2.74)
    denied(decide(below, PRESET, view()), "reward_risk")


def test_fail_closed_without_equity_rules_book_or_regime() -> None:
    denied(decide(signal(), PRESET, view(equity_quote=None)), "equity_known")
    denied(decide(signal(), PRESET, view(rules={})), "market_rules_known")
    denied(decide(signal(), PRESET, view(books={})), "book_known")
    denied(decide(signal(), PRESET, view(regime=None)), "regime_known")
    stale = {"BTCUSDT": book(ts_ms=T0_MS - PRESET.risk.max_book_age_ms - 1)}
    denied(decide(signal(), PRESET, view(books=stale)), "book_age_ms")


def test_regime_gates() -> None:
    denied(decide(signal(), PRESET, view(regime=regime("CHOP"))), "regime_multiplier")
    denied(decide(signal(), PRESET, view(regime=regime(sides=("short",)))), "regime_side")
    denied(decide(signal(), PRESET, view(regime=regime(presets=("other",)))), "regime_preset")


def test_spread_beyond_the_slippage_limit_is_refused() -> None:
    wide = {"BTCUSDT": book(spread_bps=2 * PRESET.risk.max_slippage_bps + 0.1)}
    denied(decide(signal(), PRESET, view(books=wide)), "half_spread_bps")


def test_unknown_preset_and_low_confidence_and_spot_short() -> None:
    denied(decide(signal(), None, view()), "preset")
    denied(decide(signal(confidence=0.59), PRESET, view()), "confidence")
    denied(
        decide(signal(side="short", swing_price=101.0, stop_price=101.5), PRESET, view()),
        "spot_long_only",
    )


def test_the_denial_names_value_threshold_and_earlier_checks() -> None:
    result = denied(decide(signal(confidence=0.5), PRESET, view()), "confidence")
    assert result.value == 0.5 and result.threshold == PRESET.risk.min_signal_confidence
    assert [c.name for c in result.checks][-1] == "confidence"
    assert all(c.passed for c in result.checks[:-1])
    assert result.checks[-1].margin == pytest.approx(-0.1)
