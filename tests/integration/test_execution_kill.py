"""The kill switch end to end: operator commands -> risk -> execution -> exchange_sim.

`entries` stops new entries and leaves open positions managed; `flatten` closes every position
at market; a reset lets entries through again."""

from __future__ import annotations

from decimal import Decimal

import pytest

from breakout.common.config import InfraSettings
from breakout.common.events import (
    BalanceObserved,
    KillRequested,
    KillResetRequested,
    KillSwitchReset,
    KillSwitchTripped,
    MarketRulesObserved,
    OrderDenied,
    OrderIntentApproved,
    PositionClosed,
    PositionOpened,
    ctl_stream,
    signal_stream,
)
from breakout.common.events.regime import REGIME_STREAM
from tests.integration.trading_support import (
    TradingStack,
    account,
    breakout_signal,
    e2e_preset,
    trading_stack,
)
from tests.support.trading import regime

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def send_signal(stack: TradingStack, mid: float) -> str:
    preset = e2e_preset()
    signal = breakout_signal(mid, preset)
    await stack.append(signal_stream(preset.name, "BTCUSDT"), signal)
    return signal.signal_id


async def test_kill_entries_then_flatten_then_reset(infra: InfraSettings, bus_prefix: str) -> None:
    preset = e2e_preset()
    async with trading_stack(infra, bus_prefix, ingest=False) as stack:
        await stack.start_risk([preset])
        await stack.start_execution([preset])
        await stack.wait_for(MarketRulesObserved)
        await stack.wait_for(BalanceObserved)
        await stack.append(REGIME_STREAM, regime("RISK_ON", presets=(preset.name,)))
        book = await stack.append_book()
        await send_signal(stack, book.mid)
        opened = await stack.wait_for(PositionOpened)

        await stack.append(ctl_stream("kill"), KillRequested(level="entries", requested_by="test"))
        await stack.wait_for(KillSwitchTripped, lambda k: k.level == "entries")
        denied_id = await send_signal(stack, book.mid)
        denied = await stack.wait_for(OrderDenied, lambda d: d.signal_id == denied_id)
        assert denied.limit == "kill_switch"
        assert await stack.events(PositionClosed) == []  # open positions are still managed

        await stack.append(ctl_stream("kill"), KillRequested(level="flatten", requested_by="test"))
        await stack.wait_for(KillSwitchTripped, lambda k: k.level == "flatten")
        closed = await stack.wait_for(PositionClosed, lambda c: c.position_id == opened.position_id)
        assert closed.reason == "flatten"
        held = await account(stack)
        assert held.get("BTC", Decimal(0)) == closed.residual_qty  # flat at the exchange

        await stack.append(ctl_stream("kill_reset"), KillResetRequested(requested_by="test"))
        reset = await stack.wait_for(KillSwitchReset)
        assert reset.previous_level == "flatten"
        await stack.append_book()
        allowed_id = await send_signal(stack, book.mid)
        await stack.wait_for(OrderIntentApproved, lambda i: i.signal_id == allowed_id)
