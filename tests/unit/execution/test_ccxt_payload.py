"""Reading ccxt's answers about our orders: nothing defaulted where money rides on it, a trade
listed twice counted once, and an exchange's error text always recordable."""

from __future__ import annotations

from decimal import Decimal

import pytest

from breakout.common.events import OrderFilled, OrderFillReceived
from breakout.execution.broker import (
    ExchangeUnavailable,
    MalformedAnswer,
    OrderRefused,
    OrderView,
    outcome_events,
)
from breakout.execution.ccxt_payload import to_balances, to_order, to_trade
from tests.unit.execution.test_paper import order as submitted

ORDER = {
    "id": "28", "clientOrderId": "a", "timestamp": 1_700_000_000_000, "type": "limit",
    "side": "buy", "price": 100.5, "amount": 0.25, "filled": 0.25, "status": "closed",
}  # fmt: skip
TRADE = {
    "id": "1", "order": "28", "side": "buy", "price": 100.4, "amount": 0.25,
    "timestamp": 1_700_000_000_000, "fee": {"cost": 0.0001, "currency": "BTC"},
}  # fmt: skip


def test_a_closed_order_without_filled_is_refused_not_filled_with_nothing() -> None:
    # Read as 0 filled, it became OrderFilled(filled_qty=0) and its fills were never fetched.
    with pytest.raises(MalformedAnswer, match="filled is None"):
        to_order("BTCUSDT", {**ORDER, "filled": None})
    with pytest.raises(MalformedAnswer, match="closed with nothing filled"):
        to_order("BTCUSDT", {**ORDER, "filled": 0})
    with pytest.raises(MalformedAnswer, match=r"filled 0\.5 exceeds amount"):
        to_order("BTCUSDT", {**ORDER, "filled": 0.5})


@pytest.mark.parametrize(
    ("field", "value"),
    [("side", None), ("amount", float("nan")), ("price", 0), ("id", None), ("timestamp", None)],
)
def test_a_fill_missing_a_fact_is_refused(field: str, value: object) -> None:
    # A missing side read as "None", NaN as Decimal('NaN'): recorded, then undecodable or poison.
    with pytest.raises(MalformedAnswer) as refused:
        to_trade({**TRADE, field: value})
    assert isinstance(refused.value, ExchangeUnavailable) and refused.value.kind == "exchange"


def test_a_trade_listed_twice_is_one_fill_in_the_sum_and_the_average() -> None:
    trade = to_trade(TRADE)
    events = [
        e
        for _, e in outcome_events(
            OrderView(submitted=submitted("a", "buy", "0.25", "100.5")),
            to_order("BTCUSDT", ORDER),
            [trade, trade],
        )
    ]
    fills = [e for e in events if isinstance(e, OrderFillReceived)]
    (done,) = [e for e in events if isinstance(e, OrderFilled)]
    assert len(fills) == 1 and fills[0].cum_qty == Decimal("0.25")
    assert (done.filled_qty, done.avg_price) == (Decimal("0.25"), Decimal("100.4"))


def test_balances_leave_out_zeros_and_refuse_negatives() -> None:
    assert to_balances({"free": {"BTC": "0", "USDT": 5.0}, "total": {"USDT": 5.0}}) == (
        {"USDT": Decimal("5.0")},
        {"USDT": Decimal("5.0")},
    )
    with pytest.raises(MalformedAnswer, match=r"USDT -1\.0 must be >= 0"):
        to_balances({"total": {"USDT": -1}})


def test_an_exchange_error_text_is_recordable() -> None:
    # An error body with half a UTF-16 pair or a NUL failed to encode when recorded.
    refused = OrderRefused("InvalidOrder", "bad \ud800 and \x00 here")
    away = ExchangeUnavailable("network", "Err\ud800", "x" * 900)
    assert refused.message == "bad \\ud800 and \\x00 here"
    assert away.error == "Err\\ud800" and len(away.message) == 500
    for text in (refused.message, away.error):
        assert "\x00" not in text.encode("utf-8").decode()


def test_a_time_that_has_not_happened_yet_is_skipped_not_refused() -> None:
    # Binance answers `workingTime: -1` for a stop order not yet triggered, and ccxt takes it
    # for the order's `timestamp`; the placement's own time is `transactTime`, which ccxt
    # gives as `lastUpdateTimestamp`. The long chaos run refused such an answer from
    # exchange_sim and recorded a needless exchange error (both of its sessions).
    placed = {**ORDER, "lastTradeTimestamp": None, "timestamp": -1}
    assert to_order("BTCUSDT", {**placed, "lastUpdateTimestamp": 1_700_000_000_700}).ts_ms == (
        1_700_000_000_700
    )
    assert to_order("BTCUSDT", {**ORDER, "lastTradeTimestamp": -1}).ts_ms == ORDER["timestamp"]
    assert to_order("BTCUSDT", {**ORDER, "lastTradeTimestamp": 1_700_000_000_500}).ts_ms == (
        1_700_000_000_500
    )
    with pytest.raises(MalformedAnswer, match="no time in lastTradeTimestamp None, timestamp -1"):
        to_order("BTCUSDT", {**placed, "lastUpdateTimestamp": -1})
