"""The paper broker: depth walking, fees, partial fills, resting and stop orders, refusals, and
the paper account rebuilt from the log after a restart."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from breakout.common.bus.memory import InMemoryBus
from breakout.common.events import (
    BalanceObserved,
    BookSnapshot,
    MarketRulesObserved,
    NewEvent,
    OrderSubmitted,
    order_stream,
)
from breakout.common.store import InMemoryEventStore
from breakout.execution.broker import (
    ExchangeOrder,
    ExchangeTrade,
    OrderRefused,
    OrderView,
    outcome_events,
)
from breakout.execution.paper import PaperBroker
from breakout.execution.paper_matching import walk
from tests.support.trading import rules

D = Decimal


class RulesOnly:
    """A rules source (the real one reads the exchange's public market list)."""

    exchange = "binance"

    async def market_rules(self, symbols: Sequence[str]) -> list[MarketRulesObserved]:
        return [rules(s) for s in symbols]

    async def close(self) -> None:
        return None


def book(
    asks: list[tuple[float, float]], bids: list[tuple[float, float]], seq: int = 1
) -> BookSnapshot:
    return BookSnapshot(
        exchange="binance",
        symbol="BTCUSDT",
        sequence=seq,
        depth=20,
        bids=bids,
        asks=asks,
        exchange_ts_ms=1,
        received_ts_ms=1,
    )


def order(  # noqa: PLR0917 - an order's fields, positionally for short tests
    oid: str,
    side: str,
    qty: str,
    price: str | None,
    kind: str = "limit",
    tif: str = "GTC",
    stop: str | None = None,
) -> OrderSubmitted:
    return OrderSubmitted(
        order_id=oid,
        exchange="binance",
        symbol="BTCUSDT",
        intent_id="i",
        position_id="i",
        purpose="entry",
        side=side,  # type: ignore[arg-type]
        order_type=kind,  # type: ignore[arg-type]
        time_in_force=tif,  # type: ignore[arg-type]
        qty=D(qty),
        price=D(price) if price else None,
        stop_price=D(stop) if stop else None,
        ts_ms=1,
    )


async def paper(store: InMemoryEventStore | None = None, usdt: str = "10000") -> PaperBroker:
    broker = PaperBroker(
        RulesOnly(),
        store or InMemoryEventStore(),
        InMemoryBus(),
        ["BTCUSDT"],
        exchange="binance",
        balances={"USDT": D(usdt)},
        latency_ms=0,
    )
    await broker.market_rules(["BTCUSDT"])
    return broker


ASKS = [(100.0, 1.0), (100.5, 2.0), (101.0, 5.0)]
BIDS = [(99.5, 1.0), (99.0, 3.0)]


def test_walk_takes_levels_up_to_the_limit_and_never_twice() -> None:
    consumed: dict[Decimal, Decimal] = {}
    fills = walk(book(ASKS, BIDS), "buy", D("2.5"), D("100.5"), consumed)
    assert [(f.price, f.qty) for f in fills] == [(D("100.0"), D("1.0")), (D("100.5"), D("1.5"))]
    again = walk(book(ASKS, BIDS), "buy", D(5), D("100.5"), consumed)
    assert [(f.price, f.qty) for f in again] == [(D("100.5"), D("0.5"))]
    sell = walk(book(ASKS, BIDS), "sell", D(2), None, {})
    assert [(f.price, f.qty) for f in sell] == [(D("99.5"), D("1.0")), (D("99.0"), D("1.0"))]


async def test_ioc_buy_walks_the_book_pays_fee_in_base_and_expires_the_rest() -> None:
    broker = await paper()
    broker.on_book(book(ASKS, BIDS))
    placed = await broker.place(order("a", "buy", "4", "100.5", tif="IOC"))
    assert placed.status == "expired" and placed.filled == D(3)
    trades = await broker.trades("BTCUSDT", placed.exchange_order_id)
    assert [t.price for t in trades] == [D("100.0"), D("100.5")]
    assert trades[0].fee == D("0.001") and trades[0].fee_asset == "BTC"  # 0.1 % of 1 BTC
    assert broker.balances["BTC"] == D(3) - D("0.003")
    assert broker.balances["USDT"] == D(10_000) - D(100) - D(201)


async def test_a_resting_limit_fills_as_maker_when_a_later_book_crosses_it() -> None:
    broker = await paper()
    broker.on_book(book(ASKS, BIDS))
    placed = await broker.place(order("r", "buy", "1", "99.8"))
    assert placed.status == "open" and placed.filled == 0
    broker.on_book(book([(99.7, 2.0)], [(99.0, 1.0)], seq=2))
    (found,) = [await broker.find("BTCUSDT", "r")]
    assert found is not None and found.status == "closed"
    (trade,) = await broker.trades("BTCUSDT", found.exchange_order_id)
    assert trade.liquidity == "maker" and trade.price == D("99.7")


async def test_stop_limit_waits_for_its_trigger_and_market_sell_pays_fee_in_quote() -> None:
    broker = await paper()
    broker.on_book(book(ASKS, BIDS))
    stop = await broker.place(order("s", "buy", "1", "102.1", kind="stop_limit", stop="102"))
    assert stop.status == "open" and stop.filled == 0
    broker.on_book(book([(102.0, 3.0)], [(101.9, 1.0)], seq=2))
    filled = await broker.find("BTCUSDT", "s")
    assert filled is not None and filled.status == "closed"
    sell = await broker.place(order("m", "sell", "0.5", None, kind="market"))
    (trade,) = await broker.trades("BTCUSDT", sell.exchange_order_id)
    assert trade.fee_asset == "USDT" and trade.fee == D("0.5") * D("101.9") * D("0.001")


async def test_refusals_fail_closed() -> None:
    broker = await paper(usdt="50")
    with pytest.raises(OrderRefused, match="no book"):
        await broker.place(order("x", "buy", "1", "100"))
    broker.on_book(book(ASKS, BIDS))
    with pytest.raises(OrderRefused, match="needs"):
        await broker.place(order("y", "buy", "1", "100"))


async def test_the_paper_account_is_rebuilt_from_the_log() -> None:
    store = InMemoryEventStore()
    first = await paper(store)
    first.on_book(book(ASKS, BIDS))
    sub = order("a", "buy", "2", "100.5", tif="IOC")
    placed = await first.place(sub)
    trades = await first.trades("BTCUSDT", placed.exchange_order_id)
    await _record(store, sub, placed, trades)
    second = await paper(store)
    await second.recover()
    assert second.balances == first.balances
    assert (await second.find("BTCUSDT", "a")) is not None
    balance = await second.balance(["BTCUSDT"])
    assert isinstance(balance, BalanceObserved) and balance.total["BTC"] == D(2) - D("0.002")


async def _record(
    store: InMemoryEventStore,
    sub: OrderSubmitted,
    placed: ExchangeOrder,
    trades: list[ExchangeTrade],
) -> None:
    now = datetime.now(UTC)
    news = [NewEvent(event_id=uuid.uuid4(), data=sub, occurred_at=now, producer="t")]
    news += [
        NewEvent(event_id=i, data=e, occurred_at=now, producer="t")
        for i, e in outcome_events(OrderView(submitted=sub), placed, trades)
    ]
    await store.append(order_stream(sub.order_id), news)
