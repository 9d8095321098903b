"""The router's failures: an answer that stays malformed is recorded once a minute (an outage
on every pass, for risk's timer), and a fill on the wrong side of its order is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from breakout.common.clock import SimulatedClock
from breakout.common.events import ExchangeErrorOccurred, OrderSubmitted
from breakout.common.store import InMemoryEventStore
from breakout.execution.broker import (
    ExchangeOrder,
    ExchangeTrade,
    ExchangeUnavailable,
    MalformedAnswer,
)
from breakout.execution.paper import PaperBroker
from breakout.execution.router import OrderRouter
from tests.unit.execution.test_paper import ASKS, BIDS, book, order, paper
from tests.unit.execution.test_router import append, types


class Failing:
    """Every lookup of an order fails with `failure` (the paper broker answers the rest)."""

    def __init__(self, broker: PaperBroker, failure: ExchangeUnavailable) -> None:
        self.inner, self.failure = broker, failure
        self.exchange = broker.exchange

    async def find(self, symbol: str, client_order_id: str) -> ExchangeOrder | None:
        raise self.failure

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


class WrongSide:
    """The paper broker, but its fills are reported on the other side of the order."""

    def __init__(self, broker: PaperBroker) -> None:
        self.inner = broker
        self.exchange = broker.exchange

    async def trades(self, symbol: str, exchange_order_id: str) -> list[ExchangeTrade]:
        fills = await self.inner.trades(symbol, exchange_order_id)
        flip = {"buy": "sell", "sell": "buy"}
        return [msgspec.structs.replace(t, side=flip[t.side]) for t in fills]

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


async def _errors(store: InMemoryEventStore) -> list[ExchangeErrorOccurred]:
    return [
        e.data
        for e in await store.read_all(after=0, limit=1000)
        if isinstance(e.data, ExchangeErrorOccurred)
    ]


async def _passes(router: OrderRouter, clock: SimulatedClock, n: int) -> None:
    for _ in range(n):
        await router.step()
        clock.advance(router.poll_s)


async def test_an_answer_that_stays_malformed_is_recorded_once_a_minute_with_its_repeats() -> None:
    store, clock = InMemoryEventStore(), SimulatedClock(datetime(2026, 1, 1, tzinfo=UTC))
    malformed = MalformedAnswer("order", "filled is None", {"id": "1"})
    broker = Failing(await paper(store), malformed)
    router = OrderRouter(store, broker, ["BTCUSDT"], clock=clock)  # type: ignore[arg-type]
    await append(store, "a", order("a", "buy", "1", "100"))
    await _passes(router, clock, 100)  # 50 s of passes
    (first,) = await _errors(store)
    assert (first.error, first.operation, first.repeats) == ("MalformedAnswer", "_work", 0)
    await _passes(router, clock, 40)  # past the minute: recorded again, with what it skipped
    first, again = await _errors(store)
    assert again.message == first.message and again.repeats == 119
    assert await types(store, "a") == [OrderSubmitted]  # nothing about the order from it


async def test_an_outage_is_recorded_on_every_pass_for_the_kill_switch_timer() -> None:
    store, clock = InMemoryEventStore(), SimulatedClock(datetime(2026, 1, 1, tzinfo=UTC))
    down = ExchangeUnavailable("network", "NetworkError", "connection refused")
    router = OrderRouter(store, Failing(await paper(store), down), ["BTCUSDT"], clock=clock)  # type: ignore[arg-type]
    await append(store, "a", order("a", "buy", "1", "100"))
    await _passes(router, clock, 10)
    errors = await _errors(store)
    assert [e.kind for e in errors] == ["network"] * 10
    assert [e.ts_ms for e in errors] == sorted({e.ts_ms for e in errors})


async def test_a_fill_on_the_other_side_of_its_order_is_refused_and_nothing_recorded() -> None:
    store = InMemoryEventStore()
    inner = await paper(store)
    inner.on_book(book(ASKS, BIDS))
    router = OrderRouter(store, WrongSide(inner), ["BTCUSDT"])  # type: ignore[arg-type]
    await append(store, "a", order("a", "buy", "2", "100.5", tif="IOC"))
    await router.step()
    await router.step()  # found at the exchange, its fills still the wrong side: refused again
    assert await types(store, "a") == [OrderSubmitted]
    assert len(inner.orders) == 1  # placed once, not again for the refused answer
    (error,) = await _errors(store)
    assert error.error == "MalformedAnswer" and "is a sell, order a a buy" in error.message
