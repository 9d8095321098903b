"""Fuzz: what the exchange answers about our orders, fills and balances (ccxt's unified
structures) into the broker's views and the events the router records.

Every answer is either read whole or refused with `MalformedAnswer` (never another exception,
never a defaulted amount). Refused is fail-closed: the router records an `exec.exchange_error`
and nothing about the order (no fill, no final state), so a malformed fill never moves a
position; what it does record is what the position core decodes, and adds up.

The valid samples are ccxt's own parse of Binance's answers. The exchange client is a stand-in
that hands back the fuzzed structure, because the thing under test is the reading of it.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import ccxt
import ccxt.pro
from hypothesis import event as note_event
from hypothesis import example, given
from hypothesis import strategies as st

from breakout.common.events import (
    BalanceObserved,
    ExchangeErrorOccurred,
    OrderAcknowledged,
    OrderFilled,
    OrderFillReceived,
    OrderSubmitted,
    RecordedEvent,
    decode_event,
    encode_event,
)
from breakout.common.store import InMemoryEventStore
from breakout.execution.broker import MalformedAnswer
from breakout.execution.ccxt_broker import CcxtBroker
from breakout.execution.ccxt_payload import (
    SIDES,
    to_balances,
    to_order,
    to_trade,
)
from breakout.execution.router import OrderRouter
from breakout.reconcile.service import Reconciler
from tests.fuzz.strategies import FUZZ, json_values, mutated
from tests.unit.execution.test_paper import order as submitted
from tests.unit.execution.test_router import append

# Binance's answers (REST v3) as ccxt parses them: its unified order and trades.
BINANCE_ORDER = {
    "symbol": "BTCUSDT", "orderId": 28, "clientOrderId": "a", "transactTime": 1_700_000_000_000,
    "price": "100.5", "origQty": "0.25", "executedQty": "0.25", "cummulativeQuoteQty": "25.12",
    "status": "FILLED", "timeInForce": "IOC", "type": "LIMIT", "side": "BUY",
}  # fmt: skip
BINANCE_TRADES = [
    {
        "symbol": "BTCUSDT", "id": trade_id, "orderId": 28, "price": price, "qty": qty,
        "commission": "0.0001", "commissionAsset": "BTC", "time": 1_700_000_000_000,
        "isBuyer": True, "isMaker": False,
    }
    for trade_id, price, qty in ((1, "100.4", "0.1"), (2, "100.5", "0.15"))
]  # fmt: skip


def _unified(parsed: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in parsed.items() if k != "info"}  # (info: the raw answer again)


_binance = ccxt.binance()
ORDER = _unified(_binance.parse_order(BINANCE_ORDER))
TRADES = [_unified(_binance.parse_trade(t)) for t in BINANCE_TRADES]
BALANCE = {
    "free": {"BTC": 1.5, "USDT": 1000.0, "ETH": 0.0},
    "used": {"BTC": 0.5, "USDT": 0.0},
    "total": {"BTC": 2.0, "USDT": 1000.0, "ETH": 0.0},
}


def _refused_or(convert: Any, raw: Any) -> Any:
    try:
        return convert(raw)
    except MalformedAnswer as refused:
        assert refused.what and refused.reason and refused.kind == "exchange"
        return None


def _finite(value: Decimal, *, positive: bool = False) -> bool:
    return value.is_finite() and (value > 0 if positive else value >= 0)


def test_the_valid_samples_read() -> None:
    order = to_order("BTCUSDT", ORDER)
    assert (order.status, order.filled, order.client_order_id) == ("closed", Decimal("0.25"), "a")
    assert [to_trade(t).qty for t in TRADES] == [Decimal("0.1"), Decimal("0.15")]
    assert to_balances(BALANCE) == (
        {"BTC": Decimal("1.5"), "USDT": Decimal("1000.0")},
        {"BTC": Decimal("2.0"), "USDT": Decimal("1000.0")},
    )


@FUZZ
@given(st.one_of(mutated(ORDER), json_values))
def test_orders(raw: Any) -> None:
    order = _refused_or(lambda r: to_order("BTCUSDT", r), raw)
    if order is not None:
        assert order.exchange_order_id and order.side in SIDES
        assert _finite(order.qty) and _finite(order.filled) and order.filled <= order.qty
        assert order.status != "closed" or order.filled > 0
        assert order.price is None or _finite(order.price, positive=True)


@FUZZ
@given(st.one_of(*(mutated(t) for t in TRADES), json_values))
def test_trades(raw: Any) -> None:
    trade = _refused_or(to_trade, raw)
    if trade is not None:
        assert trade.trade_id and trade.exchange_order_id and trade.side in SIDES
        assert _finite(trade.qty, positive=True) and _finite(trade.price, positive=True)
        assert _finite(trade.fee) and trade.fee_asset


@FUZZ
@given(st.one_of(mutated(BALANCE), json_values))
def test_balances(raw: Any) -> None:
    found = _refused_or(to_balances, raw)
    if found is not None:
        assert all(_finite(v, positive=True) for part in found for v in part.values())


# -- through the router: what a malformed answer records ----------------------------------


class Exchange:
    """Stands in for a ccxt.pro client: one market, and the fuzzed answers."""

    def __init__(self, order: Any, trades: Any, balance: Any, *, placed: bool = False) -> None:
        market = {"id": "BTCUSDT", "symbol": "BTC/USDT", "base": "BTC", "quote": "USDT"}
        self.markets = {"BTC/USDT": market}
        self.markets_by_id = {"BTCUSDT": [market]}
        self.answers = {"order": order, "trades": trades, "balance": balance}
        self.placed = placed

    async def load_markets(self) -> None:
        """Loaded already."""

    async def fetch_order(self, *_: Any) -> Any:
        if not self.placed:
            raise ccxt.OrderNotFound("not placed yet")
        return self.answers["order"]

    async def fetch_open_orders(self, _: str) -> Any:
        return [self.answers["order"]]

    async def create_order(self, *_: Any) -> Any:
        return self.answers["order"]

    async def fetch_my_trades(self, *_: Any) -> Any:
        return self.answers["trades"]

    async def fetch_balance(self) -> Any:
        return self.answers["balance"]

    async def fetch_ticker(self, _: str) -> Any:
        return {"last": 100.0}


def _route(order: Any, trades: Any, balance: Any) -> list[RecordedEvent]:
    async def run() -> list[RecordedEvent]:
        store = InMemoryEventStore()
        client: ccxt.pro.Exchange = Exchange(order, trades, balance)  # type: ignore[assignment]
        router = OrderRouter(store, CcxtBroker(client), ["BTCUSDT"])
        await append(store, "a", submitted("a", "buy", "0.25", "100.5", tif="IOC"))
        await router.step()
        return await store.read_all(after=0, limit=100)

    return asyncio.run(run())


@FUZZ
@given(
    order=st.one_of(mutated(ORDER), st.just(ORDER), json_values),
    trades=st.one_of(mutated(TRADES), st.just(TRADES), st.just(TRADES + TRADES)),
    balance=st.one_of(mutated(BALANCE), st.just(BALANCE)),
)
@example(order=ORDER, trades=TRADES, balance=BALANCE)
def test_a_malformed_answer_never_moves_money(order: Any, trades: Any, balance: Any) -> None:
    events = _route(order, trades, balance)
    for event in events:  # everything recorded is what its consumers decode (and JSONB holds)
        assert decode_event(event.type, encoded := encode_event(event.data)) == event.data
        assert b"\\u0000" not in encoded
    answers = [e.data for e in events if e.stream == "order-a"][1:]
    errors = [e.data for e in events if isinstance(e.data, ExchangeErrorOccurred)]
    assert all(e.error == "MalformedAnswer" and e.kind == "exchange" for e in errors)
    placing = [e for e in errors if e.operation == "_work"]
    # The order's answer was read whole, or it was refused and nothing about the order written.
    assert bool(answers) != bool(placing), (answers, placing)
    note_event("order answer refused" if placing else "order answer read")
    if answers:
        assert isinstance(answers[0], OrderAcknowledged)
        _assert_fills_add_up(answers)
    balances = [e.data for e in events if isinstance(e.data, BalanceObserved)]
    assert len(balances) + len(errors) - len(placing) == 1
    for observed in balances:
        assert all(_finite(v, positive=True) for v in observed.total.values())
        assert observed.equity_quote.is_finite()


def _assert_fills_add_up(answers: list[Any]) -> None:
    fills = [e for e in answers if isinstance(e, OrderFillReceived)]
    cum = Decimal(0)
    for fill in fills:
        cum += fill.qty
        assert fill.cum_qty == cum and fill.side in SIDES
        assert fill.qty > 0 and fill.price > 0 and fill.quote_qty.is_finite()
    assert len({f.trade_id for f in fills}) == len(fills)  # a fill listed twice counts once
    done = [e for e in answers if isinstance(e, OrderFilled)]
    for filled in done:
        assert filled.filled_qty == cum > 0
        assert min(f.price for f in fills) <= filled.avg_price <= max(f.price for f in fills)
    assert not isinstance(answers[-1], OrderSubmitted)


def _reconcile(order: Any, trades: Any) -> tuple[list[RecordedEvent], bool]:
    async def run() -> tuple[list[RecordedEvent], bool]:
        store = InMemoryEventStore()
        client: ccxt.pro.Exchange = Exchange(order, trades, None, placed=True)  # type: ignore[assignment]
        reconciler = Reconciler(store, CcxtBroker(client), ("BTCUSDT",), interval_s=1)
        await append(store, "a", submitted("a", "buy", "0.25", "100.5", tif="IOC"))
        try:
            await reconciler.run_once()
        except MalformedAnswer:  # the balance or open orders: `run()` retries the pass
            return await store.read_all(after=1, limit=100), True
        refused = "a" in reconciler.unreadable  # the order: skipped for this pass
        return await store.read_all(after=1, limit=100), refused

    return asyncio.run(run())


@FUZZ
@given(
    order=st.one_of(mutated(ORDER), st.just(ORDER), json_values),
    trades=st.one_of(mutated(TRADES), st.just(TRADES), st.just(TRADES + TRADES)),
)
@example(order=ORDER, trades=TRADES)
def test_reconcile_corrects_from_a_readable_answer_only(order: Any, trades: Any) -> None:
    events, refused = _reconcile(order, trades)
    for event in events:
        assert decode_event(event.type, encoded := encode_event(event.data)) == event.data
        assert b"\\u0000" not in encoded
    corrections = [e.data for e in events if e.stream == "order-a"]
    if refused:  # the order or its fills unreadable: nothing corrected, no drift claimed
        assert corrections == [], corrections
        return
    if corrections:
        assert isinstance(corrections[0], OrderAcknowledged)
        _assert_fills_add_up(corrections)
