"""End to end over NATS + Postgres + exchange_sim: a signal becomes an order, fills, takes TP1,
trails out, and the P&L in the log equals the change of the account at the exchange."""

from __future__ import annotations

from decimal import Decimal

import pytest

from breakout.common.config import InfraSettings
from breakout.common.events import (
    BalanceObserved,
    ExitTriggered,
    MarketRulesObserved,
    OrderFilled,
    OrderIntentApproved,
    OrderSubmitted,
    PositionClosed,
    PositionOpened,
    PositionReduced,
    StopMoved,
    TrailingActivated,
    signal_stream,
)
from breakout.common.events.regime import REGIME_STREAM
from tests.integration.trading_support import (
    OPENING_USDT,
    account,
    breakout_signal,
    e2e_preset,
    move_fair_price,
    trading_stack,
)
from tests.support.trading import regime

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_signal_to_tp1_to_trailing_exit_and_pnl_matches_the_exchange(
    infra: InfraSettings, bus_prefix: str
) -> None:
    preset = e2e_preset()
    async with trading_stack(infra, bus_prefix) as stack:
        await stack.start_risk([preset])
        await stack.start_execution([preset])
        await stack.wait_for(MarketRulesObserved)
        await stack.wait_for(BalanceObserved)
        await stack.append(REGIME_STREAM, regime("RISK_ON", presets=(preset.name,)))
        book = await stack.append_book()
        signal = breakout_signal(book.mid, preset)
        await stack.append(signal_stream(preset.name, "BTCUSDT"), signal)

        intent = await stack.wait_for(OrderIntentApproved)
        assert intent.signal_id == signal.signal_id and intent.sizing.capped_by == "risk"
        opened = await stack.wait_for(PositionOpened)
        await move_fair_price(stack, total_bps=60, steps=12, every_s=0.25)  # a rally
        await stack.wait_for(TrailingActivated, timeout_s=30)
        await move_fair_price(stack, total_bps=-40, steps=4, every_s=0.25)  # and a pullback
        closed = await stack.wait_for(PositionClosed, timeout_s=90)

        reduced = await stack.events(PositionReduced)
        moved = await stack.events(StopMoved)
        assert [r.reason for r in reduced][:1] == ["tp1"]
        assert moved[0].reason == "breakeven"
        assert await stack.events(TrailingActivated)
        assert closed.reason == "trail"
        exits = await stack.events(ExitTriggered)
        assert exits[0].reason == "tp1" and exits[-1].reason == "trail"

        # The log's P&L is the exchange's account change: USDT exactly, dust as base.
        after = await account(stack)
        assert after["USDT"] - OPENING_USDT == closed.realized_quote
        assert after.get("BTC", Decimal(0)) == closed.residual_qty
        assert closed.realized_r == closed.realized_quote / opened.initial_risk_quote
        # Every order the core decided on reached a final state at the exchange, once.
        submitted = await stack.events(OrderSubmitted)
        filled = await stack.events(OrderFilled)
        assert len({o.order_id for o in submitted}) == len(submitted)
        assert {f.order_id for f in filled} <= {o.order_id for o in submitted}
