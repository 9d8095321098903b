"""Paper trading over the real stack: the paper broker fills against the books ingest recorded
from exchange_sim (via the store, the relay and NATS); nothing reaches the exchange; a restarted
paper broker rebuilds the same account from the log."""

from __future__ import annotations

from decimal import Decimal

import pytest

from breakout.backtest.audit import Step
from breakout.backtest.audit_cli import run_audit
from breakout.common.config import InfraSettings
from breakout.common.events import (
    BalanceObserved,
    MarketRulesObserved,
    OrderFillReceived,
    PositionOpened,
    risk_stream,
    signal_stream,
)
from breakout.common.events.regime import REGIME_STREAM
from breakout.common.presets import Preset
from breakout.execution.ccxt_broker import CcxtBroker
from breakout.execution.paper import PaperBroker
from tests.integration.trading_support import (
    OPENING_USDT,
    OURS,
    TradingStack,
    account,
    approved_intent,
    breakout_signal,
    client,
    e2e_preset,
    trading_stack,
)
from tests.support.trading import regime

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def paper_broker(stack: TradingStack) -> PaperBroker:
    public = CcxtBroker(client(stack.sim, ("", "")))
    return PaperBroker(
        public,
        stack.store,
        stack.bus,
        ["BTCUSDT"],
        exchange="binance",
        balances={"USDT": Decimal(50_000)},
        latency_ms=20,
    )


async def paper_trading(stack: TradingStack, preset: Preset) -> PaperBroker:
    """The paper broker and execution on it, once rules, a balance and a book are in."""
    paper = paper_broker(stack)
    stack.start("paper", paper)
    await stack.start_execution([preset], broker=paper)
    await stack.wait_for(MarketRulesObserved)
    await stack.wait_for(BalanceObserved)
    await stack.wait_for_book(paper)
    return paper


async def test_paper_fills_against_the_recorded_book_and_touches_no_exchange_account(
    infra: InfraSettings, bus_prefix: str
) -> None:
    preset = e2e_preset()
    async with trading_stack(infra, bus_prefix) as stack:
        paper = await paper_trading(stack, preset)
        intent = await approved_intent(stack, preset)
        await stack.append(risk_stream(preset.name), intent)
        opened = await stack.wait_for(PositionOpened)
        fills = await stack.events(OrderFillReceived)
        assert fills and all(f.trade_id.startswith("p") for f in fills)
        assert all(f.price <= Decimal(repr(intent.slippage_limit_price)) for f in fills)
        assert sum(f.qty for f in fills) == intent.qty
        assert opened.qty == intent.qty - sum(f.fee for f in fills)  # the buyer's fee in base
        # Nothing reached the exchange: our account there is untouched.
        assert await account(stack) == {"USDT": OPENING_USDT}
        ours = client(stack.sim, OURS)
        try:
            assert await ours.fetch_orders("BTC/USDT") == []
        finally:
            await ours.close()
        await stack.stop("router")
        await stack.stop("paper")
        again = paper_broker(stack)
        await again.market_rules(["BTCUSDT"])
        await again.recover()
        assert again.balances == paper.balances
        await again.close()
        await paper.close()


def _first_causes(step: Step) -> list[tuple[str, str]]:
    """(type, link) from a step back along its first causes."""
    chain = [(step.type, step.link)]
    while step.causes:
        step = step.causes[0]
        chain.append((step.type, step.link))
    return chain


async def test_an_audit_of_a_paper_position_walks_fill_order_intent_signal_by_causation(
    infra: InfraSettings, bus_prefix: str
) -> None:
    preset = e2e_preset()
    async with trading_stack(infra, bus_prefix) as stack:
        await stack.start_risk([preset])
        paper = await paper_trading(stack, preset)
        await stack.append(REGIME_STREAM, regime("RISK_ON", presets=(preset.name,)))
        book = await stack.append_book()
        signal = breakout_signal(book.mid, preset)
        await stack.append(signal_stream(preset.name, "BTCUSDT"), signal)
        opened = await stack.wait_for(PositionOpened)
        await stack.wait_for(OrderFillReceived)

        trail = await run_audit(stack.dsn, "position", opened.position_id)
        chain = _first_causes(trail.events[0])
        assert chain[0][0] == "pos.opened.v1"
        # Every link is a recorded causation id (not the order stream's fallback), and no
        # cause is missing before the signal, which the test appended without one.
        assert chain[1] in (("exec.order_fill.v1", "caused"), ("exec.order_filled.v1", "caused"))
        assert chain[2:] == [
            ("exec.order_submitted.v1", "caused"),
            ("risk.intent_approved.v1", "caused"),
            ("sig.signal_generated.v1", "caused"),
        ]
        step = trail.events[0]
        while step.causes:
            assert step.missing_cause is None
            step = step.causes[0]
        assert step.reasons["signal_id"] == signal.signal_id
        await paper.close()
