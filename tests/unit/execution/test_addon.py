"""The single add-on at the 9-EMA pullback: after TP1, OBV rising, liquid book, never more R."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from breakout.common.events import IndicatorsUpdated, OrderSubmitted, PositionIncreased
from tests.support.trading import book
from tests.unit.execution.harness import PRESET, Harness, only, opened_harness


def after_tp1(**position_overrides: object) -> Harness:
    preset = PRESET
    if position_overrides:
        cfg = msgspec.structs.replace(PRESET.position_config, **position_overrides)
        preset = msgspec.structs.replace(PRESET, position_config=cfg)
    h, _ = opened_harness(preset)
    h.fill(only(h.price(101.5), OrderSubmitted), "13.986", "101.5")  # TP1, stop to 100.10
    h.feed(book(ask_usd_0_5pct=1_000_000.0))
    return h


def indicators(h: Harness, ema: float, obv: float) -> None:
    h.feed(
        IndicatorsUpdated(
            exchange="binance",
            symbol="BTCUSDT",
            timeframe="5m",
            open_ts_ms=h.ts,
            close_ts_ms=h.ts,
            close=101.0,
            volume=1.0,
            atr=None,
            ema_fast=ema,
            obv=obv,
            reference_symbol="BTCUSDT",
        )
    )


def test_pullback_to_the_ema_with_rising_obv_adds_half_within_the_initial_r() -> None:
    h = after_tp1()
    indicators(h, 101.0, 10.0)
    indicators(h, 101.0, 20.0)
    assert h.price(101.2) == []  # 20 bps above the EMA: not a pullback yet
    add = only(h.price(101.02), OrderSubmitted)
    assert (add.purpose, add.side, add.order_type) == ("add_on", "buy", "market")
    assert add.qty == Decimal("19.98000")  # half the entry; R would allow more
    increased = only(h.fill(add, "19.98", "101.02"), PositionIncreased)
    assert increased.new_qty == Decimal("25.974") + Decimal("19.98") - Decimal("0.01998")
    assert increased.risk_quote <= increased.initial_risk_quote
    assert h.price(101.0) == []  # one add-on per position


def test_no_add_on_without_rising_obv_or_depth_or_before_tp1_or_when_disabled() -> None:
    falling = after_tp1()
    indicators(falling, 101.0, 20.0)
    indicators(falling, 101.0, 10.0)
    assert falling.price(101.02) == []
    thin = after_tp1()
    thin.feed(book(ask_usd_0_5pct=1_000.0))
    indicators(thin, 101.0, 10.0)
    indicators(thin, 101.0, 20.0)
    assert thin.price(101.02) == []
    disabled = after_tp1(add_on_enabled=False)
    indicators(disabled, 101.0, 10.0)
    indicators(disabled, 101.0, 20.0)
    assert disabled.price(101.02) == []
    early, _ = opened_harness()
    indicators(early, 100.5, 10.0)
    indicators(early, 100.5, 20.0)
    early.feed(book())
    assert early.price(100.5) == []
