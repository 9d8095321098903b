"""The reconcile pass over the in-memory store and the paper broker: an order whose answer
cannot be read is skipped and listed, and every other order is reconciled all the same; a
failed pass is retried soon only when its failure may pass by itself."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal

import pytest

from breakout.common.events import OrderAcknowledged, OrderFilled, OrderSubmitted
from breakout.common.store import InMemoryEventStore
from breakout.execution.broker import ExchangeOrder, ExchangeUnavailable, MalformedAnswer
from breakout.execution.paper import PaperBroker
from breakout.reconcile import service
from breakout.reconcile.service import Reconciler
from tests.unit.execution.test_paper import ASKS, BIDS, book, order, paper
from tests.unit.execution.test_router import append, types


class OneUnreadable:
    """The paper broker, but its answer about order `bad` cannot be read."""

    def __init__(self, broker: PaperBroker) -> None:
        self.inner = broker
        self.exchange = broker.exchange

    async def find(self, symbol: str, client_order_id: str) -> ExchangeOrder | None:
        if client_order_id == "bad":
            raise MalformedAnswer("order", "filled is None", {"clientOrderId": "bad"})
        return await self.inner.find(symbol, client_order_id)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


async def test_an_unreadable_order_is_skipped_and_the_others_reconciled() -> None:
    store = InMemoryEventStore()
    inner = await paper(store)
    inner.on_book(book(ASKS, BIDS))
    # Both placed at the exchange, neither answer recorded (execution died after placing).
    for order_id in ("bad", "good"):
        submitted = order(order_id, "buy", "0.5", "100.5", tif="IOC")
        await append(store, order_id, submitted)
        await inner.place(submitted)
    reconciler = Reconciler(store, OneUnreadable(inner), ("BTCUSDT",), interval_s=30)  # type: ignore[arg-type]

    written = await reconciler.run_once()

    assert written > 0 and reconciler.passes == 1
    good = await types(store, "good")
    assert good[:2] == [OrderSubmitted, OrderAcknowledged] and good[-1] is OrderFilled
    assert await types(store, "bad") == [OrderSubmitted]  # nothing from an unreadable answer
    assert reconciler.health()["unreadable_orders"] == ["bad"]
    assert "filled is None" in reconciler.unreadable["bad"]

    # Once the order is over in the log (here: the router recorded its fill), it is no longer
    # listed, readable or not.
    await append(store, "bad", OrderFilled(
        order_id="bad", exchange="binance", symbol="BTCUSDT", filled_qty=Decimal("0.5"),
        avg_price=Decimal("100.2"), ts_ms=2,
    ))  # fmt: skip
    await reconciler.run_once()
    assert reconciler.health()["unreadable_orders"] == []


class Failing:
    """The paper broker, but listing open orders always fails with `failure`."""

    def __init__(self, broker: PaperBroker, failure: ExchangeUnavailable) -> None:
        self.inner, self.failure, self.calls = broker, failure, 0
        self.exchange = broker.exchange

    async def open_orders(self, symbols: Sequence[str]) -> list[ExchangeOrder]:
        self.calls += 1
        raise self.failure

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


@pytest.mark.parametrize(
    ("failure", "passes"),
    [
        (ExchangeUnavailable("network", "NetworkError", "connection reset"), "soon"),
        (MalformedAnswer("orders", "expected a list, got dict", {}), "at the interval"),
        (ExchangeUnavailable("auth", "AuthenticationError", "invalid api key"), "at the interval"),
    ],
)
async def test_a_failed_pass_is_retried_soon_only_if_the_failure_may_pass(
    monkeypatch: pytest.MonkeyPatch, failure: ExchangeUnavailable, passes: str
) -> None:
    monkeypatch.setattr(service, "RETRY_S", 0.05)
    store = InMemoryEventStore()
    broker = Failing(await paper(store), failure)
    reconciler = Reconciler(store, broker, ("BTCUSDT",), interval_s=30)  # type: ignore[arg-type]
    running = asyncio.create_task(reconciler.run())
    await asyncio.sleep(0.5)
    reconciler.stop()
    await running
    assert (broker.calls > 3) == (passes == "soon"), broker.calls
