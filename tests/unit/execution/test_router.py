"""The order router over the in-memory store with the paper broker: place once, record the
answers with exchange-derived ids, refusals and early cancels as final states."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from breakout.common.events import (
    Event,
    NewEvent,
    OrderAcknowledged,
    OrderCancelled,
    OrderCancelRequested,
    OrderFilled,
    OrderFillReceived,
    OrderRejected,
    OrderSubmitted,
    order_stream,
)
from breakout.common.store import InMemoryEventStore
from breakout.execution.router import OrderRouter
from tests.unit.execution.test_paper import ASKS, BIDS, book, order, paper


async def append(store: InMemoryEventStore, order_id: str, event: Event) -> None:
    new = NewEvent(
        event_id=uuid.uuid4(), data=event, occurred_at=datetime.now(UTC), producer="core"
    )
    await store.append(order_stream(order_id), [new])


async def types(store: InMemoryEventStore, order_id: str) -> list[type[Event]]:
    return [type(e.data) for e in await store.read_stream(order_stream(order_id))]


async def test_an_order_is_placed_once_and_its_answers_recorded_once() -> None:
    store = InMemoryEventStore()
    broker = await paper(store)
    broker.on_book(book(ASKS, BIDS))
    router = OrderRouter(store, broker, ["BTCUSDT"])
    await append(store, "a", order("a", "buy", "2", "100.5", tif="IOC"))
    await router.step()
    await router.step()  # a second pass finds nothing left to do
    assert await types(store, "a") == [
        OrderSubmitted,
        OrderAcknowledged,
        OrderFillReceived,
        OrderFillReceived,
        OrderFilled,
    ]
    assert len(broker.orders) == 1
    ack = (await store.read_stream(order_stream("a")))[1].data
    assert isinstance(ack, OrderAcknowledged) and ack.latency_ms is not None


async def test_refused_orders_and_cancels_before_placement_end_the_order() -> None:
    store = InMemoryEventStore()
    broker = await paper(store, usdt="10")
    broker.on_book(book(ASKS, BIDS))
    router = OrderRouter(store, broker, ["BTCUSDT"])
    await append(store, "poor", order("poor", "buy", "1", "100"))
    await append(store, "gone", order("gone", "buy", "0.01", "99"))
    await append(
        store,
        "gone",
        OrderCancelRequested(
            order_id="gone", exchange="binance", symbol="BTCUSDT", reason="t", ts_ms=1
        ),
    )
    await router.step()
    rejected = (await store.read_stream(order_stream("poor")))[-1].data
    assert isinstance(rejected, OrderRejected) and rejected.error == "InsufficientFunds"
    cancelled = (await store.read_stream(order_stream("gone")))[-1].data
    assert isinstance(cancelled, OrderCancelled) and cancelled.filled_qty == Decimal(0)
    assert "gone" not in broker.orders  # never sent
