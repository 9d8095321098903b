"""Reconciliation as pure functions: missing fills, idempotent ids, external orders."""

from __future__ import annotations

from decimal import Decimal

from breakout.common.events import (
    DriftDetected,
    DriftResolved,
    ExternalOrderDetected,
    OrderAcknowledged,
    OrderFilled,
    OrderFillReceived,
    OrderSubmitted,
)
from breakout.execution.broker import ExchangeOrder, ExchangeTrade, OrderView
from breakout.reconcile.core import external_orders, order_corrections

SUB = OrderSubmitted(
    order_id="bk" + "0" * 30,
    exchange="binance",
    symbol="BTCUSDT",
    intent_id="i",
    position_id="i",
    purpose="entry",
    side="buy",
    order_type="limit",
    qty=Decimal("0.5"),
    price=Decimal("100"),
    ts_ms=1,
)


def exchange_order(status: str = "closed", filled: str = "0.5") -> ExchangeOrder:
    return ExchangeOrder(
        exchange_order_id="77",
        client_order_id=SUB.order_id,
        symbol="BTCUSDT",
        side="buy",
        order_type="limit",
        status=status,  # type: ignore[arg-type]
        qty=Decimal("0.5"),
        filled=Decimal(filled),
        price=Decimal(100),
        ts_ms=5,
    )


def trade(tid: str, qty: str) -> ExchangeTrade:
    return ExchangeTrade(
        trade_id=tid,
        exchange_order_id="77",
        side="buy",
        qty=Decimal(qty),
        price=Decimal(100),
        fee=Decimal(qty) / 1000,
        fee_asset="BTC",
        liquidity="maker",
        ts_ms=4,
    )


def acked_view() -> OrderView:
    view = OrderView(submitted=SUB)
    view.apply(
        OrderAcknowledged(
            order_id=SUB.order_id,
            exchange="binance",
            symbol="BTCUSDT",
            exchange_order_id="77",
            status="open",
            ts_ms=2,
        )
    )
    return view


def test_a_fill_missed_while_down_is_appended_with_an_audit_pair() -> None:
    view = acked_view()
    events, audit = order_corrections(
        view, exchange_order(), [trade("t1", "0.2"), trade("t2", "0.3")], 10
    )
    kinds = [type(e) for _, e in events]
    assert kinds == [OrderFillReceived, OrderFillReceived, OrderFilled]
    assert [e.cum_qty for _, e in events[:2]] == [Decimal("0.2"), Decimal("0.5")]  # type: ignore[attr-defined]
    detected, resolved = (e for _, e in audit)
    assert isinstance(detected, DriftDetected) and detected.kind == "missing_fill"
    assert isinstance(resolved, DriftResolved) and resolved.appended[-1] == "exec.order_filled.v1"
    again, audit_again = order_corrections(
        acked_view(), exchange_order(), [trade("t2", "0.3"), trade("t1", "0.2")], 99
    )
    assert [i for i, _ in again] == [i for i, _ in events]  # the same correction, the same ids
    assert [i for i, _ in audit_again] == [i for i, _ in audit]


def test_nothing_to_do_when_the_log_agrees_and_no_final_state_before_all_fills() -> None:
    view = acked_view()
    events, _ = order_corrections(
        view, exchange_order(), [trade("t1", "0.2"), trade("t2", "0.3")], 10
    )
    for _, event in events:
        view.apply(event)
    assert order_corrections(
        view, exchange_order(), [trade("t1", "0.2"), trade("t2", "0.3")], 11
    ) == ([], [])
    partial, _ = order_corrections(acked_view(), exchange_order(), [trade("t1", "0.2")], 10)
    assert [type(e) for _, e in partial] == [OrderFillReceived]  # the last fill is not known yet


def test_an_unplaced_order_is_not_a_drift_but_an_unknown_acknowledged_one_is() -> None:
    assert order_corrections(OrderView(submitted=SUB), None, [], 10) == ([], [])
    events, audit = order_corrections(acked_view(), None, [], 10)
    assert events == [] and isinstance(audit[0][1], DriftDetected) and audit[0][1].kind == "status"


def test_orders_no_intent_claims_are_external_once() -> None:
    manual = ExchangeOrder(
        exchange_order_id="900",
        client_order_id="web_abc",
        symbol="BTCUSDT",
        side="sell",
        order_type="limit",
        status="open",
        qty=Decimal(1),
        filled=Decimal(0),
        price=Decimal(200),
        ts_ms=3,
    )
    found = external_orders({SUB.order_id}, [exchange_order("open", "0"), manual], "binance", 10)
    assert len(found) == 1 and isinstance(found[0][1], ExternalOrderDetected)
    assert found[0][1].exchange_order_id == "900"
    assert external_orders({SUB.order_id}, [manual], "binance", 20)[0][0] == found[0][0]


def test_balance_drifts_only_where_the_exchange_differs_and_with_stable_ids() -> None:
    from breakout.reconcile.core import balance_drifts

    expected = {"USDT": Decimal(1000), "BTC": Decimal("0.5")}
    assert (
        balance_drifts(expected, {"USDT": Decimal("1000.0"), "BTC": Decimal("0.5")}, "binance", 1)
        == []
    )
    found = balance_drifts(expected, {"USDT": Decimal(1000), "BTC": Decimal("0.6")}, "binance", 1)
    detected = found[0][1]
    assert (
        isinstance(detected, DriftDetected)
        and detected.kind == "balance"
        and detected.symbol == "BTC"
    )
    again = balance_drifts(expected, {"USDT": Decimal(1000), "BTC": Decimal("0.6")}, "binance", 99)
    assert [i for i, _ in again] == [i for i, _ in found]
