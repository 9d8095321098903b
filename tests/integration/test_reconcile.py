"""Reconcile over Postgres + exchange_sim: a fill that happened while execution was down is
repaired once; an order placed by hand at the exchange is reported as external, once."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from breakout.common.config import InfraSettings
from breakout.common.events import (
    BalanceObserved,
    DriftDetected,
    DriftResolved,
    Event,
    ExternalOrderDetected,
    MarketRulesObserved,
    OrderAcknowledged,
    OrderFilled,
    OrderFillReceived,
    OrderSubmitted,
    PositionOpened,
    RecordedEvent,
    risk_stream,
)
from breakout.common.presets import load_preset
from breakout.common.store.port import EventFilter
from breakout.execution.ccxt_broker import CcxtBroker
from breakout.reconcile.service import Reconciler
from tests.integration.trading_support import (
    OURS,
    TradingStack,
    approved_intent,
    client,
    move_fair_price,
    order_at_exchange,
    trading_stack,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def reconcile_once(stack: TradingStack) -> int:
    broker = CcxtBroker(client(stack.sim, OURS))
    try:
        return await Reconciler(stack.store, broker, ("BTCUSDT",), 30.0).run_once()
    finally:
        await broker.close()


async def wait_closed_at_exchange(
    stack: TradingStack, client_order_id: str, timeout_s: float = 30
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        (order,) = await order_at_exchange(stack, client_order_id)
        if order["status"] == "closed":
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"order still {order['status']} after {timeout_s}s")
        await asyncio.sleep(0.3)


async def _recorded(stack: TradingStack, *types: type[Event]) -> list[RecordedEvent]:
    tags = tuple(t.type_tag() for t in types)
    return await stack.store.read_all(limit=10_000, filter=EventFilter(types=tags))


async def test_reconcile_repairs_a_fill_made_while_execution_was_down(
    infra: InfraSettings, bus_prefix: str
) -> None:
    preset = load_preset("breakout_v1")
    async with trading_stack(infra, bus_prefix, ingest=False) as stack:
        await stack.start_execution([preset])
        await stack.wait_for(MarketRulesObserved)
        book = await stack.book_metrics()
        # A limit entry resting 10 bps under the market (a retest entry waiting for its level).
        intent = await approved_intent(
            stack, preset, entry_order="limit", limit_price=round(book.mid * 0.999, 2)
        )
        await stack.append(risk_stream(preset.name), intent)
        submitted = await stack.wait_for(OrderSubmitted)
        ack = await stack.wait_for(OrderAcknowledged)
        assert ack.status == "open"
        await stack.stop("router")
        await stack.stop("execution")
        await move_fair_price(stack, total_bps=-30, steps=6, every_s=0.2)  # down through the bid
        await wait_closed_at_exchange(stack, submitted.order_id)
        assert await stack.events(OrderFillReceived) == []  # nobody recorded it: execution is down

        assert await reconcile_once(stack) > 0
        fills = await stack.events(OrderFillReceived)
        assert fills and sum(f.qty for f in fills) == intent.qty
        assert len(await stack.events(OrderFilled)) == 1
        (drift,) = await stack.events(DriftDetected)
        assert drift.kind == "missing_fill" and drift.order_id == submitted.order_id
        (resolved,) = await stack.events(DriftResolved)
        assert (
            resolved.drift_id == drift.drift_id and resolved.appended[-1] == "exec.order_filled.v1"
        )
        assert await reconcile_once(stack) == 0  # the same correction is never applied twice
        # The repair and its audit name the order's decision as their cause, as the router's
        # records would: an audit walks from the repaired fill to the intent.
        (recorded_submit,) = await _recorded(stack, OrderSubmitted)
        repaired = await _recorded(stack, OrderFillReceived, OrderFilled, DriftDetected)
        assert {r.causation_id for r in repaired} == {recorded_submit.event_id}

        # Execution restarts, folds the repaired fills into its position, and adds nothing.
        await stack.start_execution([preset])
        opened = await stack.wait_for(PositionOpened)
        # A resting limit fills at its own price: compare in Decimal (the float 59941.64 is a
        # hair under Decimal("59941.64"), so a fill exactly at the limit failed half the time).
        assert intent.limit_price is not None
        assert opened.entry_price <= Decimal(repr(intent.limit_price))
        await asyncio.sleep(1.0)  # a few router polls
        entry_fills = [
            f for f in await stack.events(OrderFillReceived) if f.order_id == submitted.order_id
        ]
        assert len(entry_fills) == len(fills)


async def test_an_order_placed_by_hand_is_detected_as_external_once(
    infra: InfraSettings, bus_prefix: str
) -> None:
    async with trading_stack(infra, bus_prefix, ingest=False) as stack:
        by_hand = client(stack.sim, OURS)
        try:
            last = (await by_hand.fetch_ticker("BTC/USDT"))["last"]
            placed = await by_hand.create_order(
                "BTC/USDT", "limit", "buy", 0.01, round(last * 0.9, 2)
            )
        finally:
            await by_hand.close()
        assert await reconcile_once(stack) == 1
        (external,) = await stack.events(ExternalOrderDetected)
        assert external.exchange_order_id == str(placed["id"]) and external.side == "buy"
        assert await reconcile_once(stack) == 0


async def test_money_moved_outside_the_log_is_a_balance_drift(
    infra: InfraSettings, bus_prefix: str
) -> None:
    async with trading_stack(infra, bus_prefix, ingest=False) as stack:
        await stack.start_execution([load_preset("breakout_v1")])
        await stack.wait_for(MarketRulesObserved)
        await stack.wait_for(BalanceObserved)  # the log's first view of the account
        assert await reconcile_once(stack) == 0  # nothing moved: no drift
        by_hand = client(stack.sim, OURS)
        try:
            await by_hand.create_order("BTC/USDT", "market", "buy", 0.01)
        finally:
            await by_hand.close()
        assert await reconcile_once(stack) > 0
        drifts = {d.symbol: d for d in await stack.events(DriftDetected)}
        assert set(drifts) == {"BTC", "USDT"} and all(d.kind == "balance" for d in drifts.values())
        assert Decimal(drifts["BTC"].exchange_value) - Decimal(drifts["BTC"].log_value) == Decimal(
            "0.00999"
        )
        assert await reconcile_once(stack) == 0  # the same drift is recorded once
