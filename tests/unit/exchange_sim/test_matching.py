"""Matching our orders: every order type, partial fills, queue priority, fees and balances."""

from __future__ import annotations

from decimal import Decimal

import pytest

from breakout.exchange_sim.accounts import AccountConfig, Accounts
from breakout.exchange_sim.book import OrderBook
from breakout.exchange_sim.errors import BinanceError
from breakout.exchange_sim.exchange import SimExchange
from breakout.exchange_sim.market import MarketConfig, SymbolMarket
from breakout.exchange_sim.orders import Order, OrderStatus, parse_order_request

KEY = "key"
START_MS = 1_700_000_000_000
BTC = 100_000  # lots per BTC (BTCUSDT trades in 0.00001)
USD = 100  # ticks per USDT


def make_exchange(balances: dict[str, str] | None = None) -> tuple[SimExchange, SymbolMarket]:
    """BTCUSDT with a hand-laid book: asks 60000 (1), 60001 (2); bids 59999 (1), 59998 (2)."""
    opening = {k: Decimal(v) for k, v in (balances or {"USDT": "100000", "BTC": "1"}).items()}
    accounts = Accounts(
        [AccountConfig(api_key=KEY, secret="s", balances=opening)],
        maker_fee_bps=Decimal(2),
        taker_fee_bps=Decimal(10),
    )
    exchange = SimExchange.simulated(
        ["BTCUSDT"], start_ms=START_MS, config=MarketConfig(history_days=0.01), accounts=accounts
    )
    market = exchange.feeds["BTCUSDT"]
    assert isinstance(market, SymbolMarket)
    market.book = OrderBook()
    market.book.add(False, 60_000 * USD, 1 * BTC)
    market.book.add(False, 60_001 * USD, 2 * BTC)
    market.book.add(True, 59_999 * USD, 1 * BTC)
    market.book.add(True, 59_998 * USD, 2 * BTC)
    return exchange, market


def place(exchange: SimExchange, **params: str) -> Order:
    spec = exchange.feeds["BTCUSDT"].spec
    request = parse_order_request({"symbol": "BTCUSDT", **params}, spec)
    return exchange.matching.place(KEY, request, exchange.now_ms)


def balance(exchange: SimExchange, asset: str) -> tuple[Decimal, Decimal]:
    b = exchange.matching.accounts.get(KEY).balance(asset)
    return b.free, b.locked


def sim_sells(exchange: SimExchange, market: SymbolMarket, lots: int, limit: int) -> None:
    """Simulated aggressive selling reaches the bids (and our resting orders among them)."""
    prints = market.execute_taker(False, lots, limit, exchange.now_ms + 1)
    exchange.matching.on_prints("BTCUSDT", prints)


def test_market_buy_walks_the_book_and_pays_the_taker_fee_in_base() -> None:
    exchange, _ = make_exchange()
    order = place(exchange, side="BUY", type="MARKET", quantity="1.5")
    assert order.status is OrderStatus.FILLED
    assert [(f.price, f.lots) for f in order.fills] == [
        (60_000 * USD, BTC),
        (60_001 * USD, BTC // 2),
    ]
    assert order.cum_quote == Decimal("90000.5")
    assert sum(f.commission for f in order.fills) == Decimal("0.0015")
    assert balance(exchange, "USDT") == (Decimal("100000") - Decimal("90000.5"), 0)
    assert balance(exchange, "BTC") == (Decimal("1") + Decimal("1.5") - Decimal("0.0015"), 0)


def test_market_sell_pays_the_fee_in_quote() -> None:
    exchange, _ = make_exchange()
    order = place(exchange, side="SELL", type="MARKET", quantity="0.5")
    assert order.status is OrderStatus.FILLED
    assert order.fills[0].commission_asset == "USDT"
    assert balance(exchange, "USDT")[0] == Decimal("100000") + Decimal("29999.5") * Decimal("0.999")
    assert balance(exchange, "BTC") == (Decimal("0.5"), 0)


def test_market_buy_by_quote_amount() -> None:
    exchange, _ = make_exchange()
    order = place(exchange, side="BUY", type="MARKET", quoteOrderQty="600")
    assert order.executed_lots == 1_000  # 0.01 BTC at 60000
    assert order.cum_quote == Decimal("600")


def test_resting_limit_buy_locks_funds_and_fills_as_maker_behind_the_queue() -> None:
    exchange, market = make_exchange()
    order = place(
        exchange, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.5", price="59999"
    )
    assert order.status is OrderStatus.NEW and order.resting
    assert balance(exchange, "USDT") == (Decimal("100000") - Decimal("29999.5"), Decimal("29999.5"))
    sim_sells(exchange, market, BTC, 59_999 * USD)  # eats the 1 BTC queued ahead of us
    assert order.executed_lots == 0
    sim_sells(exchange, market, BTC // 5, 59_999 * USD)
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert order.executed_lots == BTC // 5
    assert exchange.matching.accounts.get(KEY).trades[-1].is_maker
    assert order.fills[-1].commission == Decimal("0.2") * Decimal("0.0002")
    sim_sells(exchange, market, BTC, 59_999 * USD)
    assert order.status is OrderStatus.FILLED
    assert balance(exchange, "USDT") == (Decimal("100000") - Decimal("29999.5"), 0)


def test_marketable_limit_takes_then_rests_the_remainder() -> None:
    exchange, market = make_exchange()
    order = place(
        exchange, side="BUY", type="LIMIT", timeInForce="GTC", quantity="1.2", price="60000"
    )
    assert order.executed_lots == BTC
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert market.book.best_bid() == 60_000 * USD  # the rest is now the best bid
    assert market.book.total(True, 60_000 * USD) == BTC // 5
    cancelled = exchange.matching.cancel(KEY, "BTCUSDT", order.order_id, None, exchange.now_ms)
    assert cancelled.status is OrderStatus.CANCELED
    assert market.book.best_bid() == 59_999 * USD
    assert balance(exchange, "USDT")[1] == 0


def test_ioc_fills_what_it_can_and_expires() -> None:
    exchange, market = make_exchange({"USDT": "0", "BTC": "4"})
    order = place(
        exchange, side="SELL", type="LIMIT", timeInForce="IOC", quantity="0.8", price="59999"
    )
    assert order.status is OrderStatus.FILLED
    order = place(
        exchange, side="SELL", type="LIMIT", timeInForce="IOC", quantity="0.5", price="59999"
    )
    assert order.status is OrderStatus.EXPIRED  # only 0.2 was left at 59999 or better
    assert order.executed_lots == BTC // 5
    order = place(
        exchange, side="SELL", type="LIMIT", timeInForce="IOC", quantity="2.5", price="59998"
    )
    assert order.status is OrderStatus.EXPIRED
    assert order.executed_lots == 2 * BTC
    assert market.book.best_bid() is None
    assert balance(exchange, "BTC") == (Decimal("4") - Decimal("3"), 0)  # expired parts released


def test_fok_fills_all_or_nothing() -> None:
    exchange, _ = make_exchange({"USDT": "200000"})
    killed = place(
        exchange, side="BUY", type="LIMIT", timeInForce="FOK", quantity="2", price="60000"
    )
    assert killed.status is OrderStatus.EXPIRED and killed.executed_lots == 0
    filled = place(
        exchange, side="BUY", type="LIMIT", timeInForce="FOK", quantity="2", price="60001"
    )
    assert filled.status is OrderStatus.FILLED
    assert balance(exchange, "USDT")[1] == 0


def test_limit_maker_that_would_take_is_rejected() -> None:
    exchange, market = make_exchange()
    with pytest.raises(BinanceError) as rejected:
        place(exchange, side="BUY", type="LIMIT_MAKER", quantity="0.1", price="60000")
    assert (rejected.value.code, rejected.value.msg) == (
        -2010,
        "Order would immediately match and take.",
    )
    order = place(exchange, side="BUY", type="LIMIT_MAKER", quantity="0.1", price="59999.5")
    assert order.status is OrderStatus.NEW
    assert market.book.best_bid() == 5_999_950


def test_stop_loss_limit_waits_for_the_trigger_then_works() -> None:
    exchange, market = make_exchange()
    prints = market.execute_taker(True, BTC // 10, None, exchange.now_ms + 1)  # last: 60000
    exchange.matching.on_prints("BTCUSDT", prints)
    with pytest.raises(BinanceError, match="Stop price would trigger immediately"):
        place(
            exchange,
            side="SELL",
            type="TAKE_PROFIT_LIMIT",
            timeInForce="GTC",
            quantity="0.1",
            price="59999",
            stopPrice="59999",
        )
    order = place(
        exchange,
        side="SELL",
        type="STOP_LOSS_LIMIT",
        timeInForce="GTC",
        quantity="0.1",
        price="59998",
        stopPrice="59999",
    )
    assert not order.working and order.status is OrderStatus.NEW
    assert balance(exchange, "BTC")[1] == Decimal("0.1")
    sim_sells(exchange, market, BTC // 2, 59_999 * USD)  # prints 59999: the stop triggers
    assert order.working
    assert order.status is OrderStatus.FILLED
    assert [f.price for f in order.fills] == [59_999 * USD]  # the bid left at 59999 takes it
    assert balance(exchange, "BTC") == (Decimal("0.9"), 0)


def test_insufficient_balance_is_refused_and_changes_nothing() -> None:
    exchange, _ = make_exchange({"USDT": "100"})
    with pytest.raises(BinanceError) as refused:
        place(exchange, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.01", price="59000")
    assert refused.value.msg == "Account has insufficient balance for requested action."
    assert balance(exchange, "USDT") == (Decimal("100"), 0)
    assert exchange.matching.accounts.get(KEY).orders == {}


def test_duplicate_client_order_id_of_an_open_order_is_refused() -> None:
    exchange, _ = make_exchange()
    first = place(
        exchange,
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.01",
        price="59000",
        newClientOrderId="abc",
    )
    with pytest.raises(BinanceError, match="Duplicate order sent"):
        place(
            exchange,
            side="BUY",
            type="LIMIT",
            timeInForce="GTC",
            quantity="0.01",
            price="59000",
            newClientOrderId="abc",
        )
    exchange.matching.cancel(KEY, "BTCUSDT", None, "abc", exchange.now_ms)
    again = place(
        exchange,
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.01",
        price="59000",
        newClientOrderId="abc",
    )
    assert again.order_id != first.order_id
    found = exchange.matching.find(KEY, "BTCUSDT", None, "abc")
    assert found.order_id == again.order_id


def test_unknown_orders() -> None:
    exchange, _ = make_exchange()
    with pytest.raises(BinanceError) as cancel:
        exchange.matching.cancel(KEY, "BTCUSDT", 42, None, exchange.now_ms)
    assert cancel.value.code == -2011
    with pytest.raises(BinanceError) as query:
        exchange.matching.find(KEY, "BTCUSDT", 42, None)
    assert query.value.code == -2013


@pytest.mark.parametrize(
    ("params", "code", "msg"),
    [
        ({"quantity": "0.000001", "price": "60000"}, -1013, "Filter failure: LOT_SIZE"),
        ({"quantity": "0.01", "price": "60000.001"}, -1013, "Filter failure: PRICE_FILTER"),
        ({"quantity": "0.00001", "price": "60000"}, -1013, "Filter failure: NOTIONAL"),
        (
            {"price": "60000"},
            -1102,
            "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.",
        ),
        (
            {"quantity": "x", "price": "60000"},
            -1100,
            "Illegal characters found in parameter 'quantity'.",
        ),
    ],
)
def test_filters_refuse_bad_orders_like_binance(
    params: dict[str, str], code: int, msg: str
) -> None:
    exchange, _ = make_exchange()
    with pytest.raises(BinanceError) as refused:
        place(exchange, side="BUY", type="LIMIT", timeInForce="GTC", **params)
    assert (refused.value.code, refused.value.msg) == (code, msg)


def test_our_fills_print_on_the_public_tape() -> None:
    exchange, market = make_exchange()
    before = market.tape.next_trade_id
    place(exchange, side="BUY", type="MARKET", quantity="1.5")
    updates = exchange.step()
    ours = [p for p in updates[0].prints if p.trade_id < before + 2]
    assert [(p.trade_id, p.price, p.buyer_maker) for p in ours] == [
        (before, 60_000 * USD, False),
        (before + 1, 60_001 * USD, False),
    ]


def test_order_events_for_the_user_data_stream() -> None:
    exchange, market = make_exchange()
    exchange.matching.drain_events()
    resting = place(
        exchange, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.5", price="59999"
    )
    sim_sells(exchange, market, BTC + BTC // 10, 59_999 * USD)  # 0.1 of ours fills
    exchange.matching.cancel(KEY, "BTCUSDT", resting.order_id, None, exchange.now_ms)
    taken = place(exchange, side="BUY", type="MARKET", quantity="1.5")
    events = exchange.matching.drain_events()
    assert [(e.order.order_id, e.execution, e.order.status.value) for e in events] == [
        (resting.order_id, "NEW", "NEW"),
        (resting.order_id, "TRADE", "PARTIALLY_FILLED"),
        (resting.order_id, "CANCELED", "CANCELED"),
        (taken.order_id, "NEW", "NEW"),
        (taken.order_id, "TRADE", "PARTIALLY_FILLED"),
        (taken.order_id, "TRADE", "FILLED"),
    ]
    assert events[1].is_maker and not events[4].is_maker
    assert events[1].fill is not None and events[1].fill.lots == BTC // 10
    assert events[1].order.executed_lots == BTC // 10  # a snapshot, not the live order
    assert exchange.matching.drain_events() == []


def test_a_spike_through_the_stop_within_one_step_triggers_it() -> None:
    exchange, market = make_exchange()
    order = place(
        exchange,
        side="SELL",
        type="STOP_LOSS_LIMIT",
        timeInForce="GTC",
        quantity="0.1",
        price="59000",
        stopPrice="59999",
    )
    spike = market.execute_taker(
        False, BTC // 2, 59_999 * USD, exchange.now_ms + 1
    )  # down to 59999
    back = market.execute_taker(True, BTC // 2, None, exchange.now_ms + 2)  # and back up
    exchange.matching.on_prints("BTCUSDT", spike + back)
    assert order.working and order.status is OrderStatus.FILLED
