"""Reconciliation as pure functions: the log's view of our orders against the exchange's.

For each order the log still thinks is working, the exchange's order and fills are turned into
the events the log lacks (`breakout.execution.broker.outcome_events`, ids derived from the
exchange's facts), framed by a `DriftDetected` / `DriftResolved` pair for the audit. An open
order at the exchange whose client order id no intent claims is reported as external. Every id
here is derived from what was found, so running a pass twice records nothing new.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal

from breakout.common.events import (
    DriftDetected,
    DriftResolved,
    Event,
    ExternalOrderDetected,
    OrderFillReceived,
)
from breakout.common.events.recon import DriftKind
from breakout.common.ids import external_event_id
from breakout.execution.broker import ExchangeOrder, ExchangeTrade, OrderView, outcome_events

Found = tuple[uuid.UUID, Event]


def order_corrections(
    view: OrderView,
    order: ExchangeOrder | None,
    trades: Sequence[ExchangeTrade],
    ts_ms: int,
) -> tuple[list[Found], list[Found]]:
    """(events for the order's stream, audit events) that bring the log in line with `order`."""
    sub = view.submitted
    if order is None:
        if view.exchange_order_id is None:
            return [], []  # not placed yet: the execution router's job, not a drift
        drift_id = external_event_id(sub.exchange, "drift", sub.order_id, "missing").hex
        detected = DriftDetected(
            drift_id=drift_id,
            exchange=sub.exchange,
            kind="status",
            symbol=sub.symbol,
            order_id=sub.order_id,
            log_value=f"acknowledged as {view.exchange_order_id}",
            exchange_value="unknown to the exchange",
            ts_ms=ts_ms,
        )
        resolved = DriftResolved(
            drift_id=drift_id,
            exchange=sub.exchange,
            action="none",
            appended=[],
            note="left for an operator: the exchange does not know an order it acknowledged",
            ts_ms=ts_ms,
        )
        return [], [(uuid.UUID(drift_id), detected), (_resolved_id(drift_id), resolved)]
    missing = outcome_events(view, order, trades)
    if not missing:
        return [], []
    drift_id = external_event_id(
        sub.exchange, "drift", sub.order_id, *sorted(str(i) for i, _ in missing)
    ).hex
    fills = [e for _, e in missing if isinstance(e, OrderFillReceived)]
    kind: DriftKind = (
        "missing_fill" if fills else "missing_ack" if view.exchange_order_id is None else "status"
    )
    detected = DriftDetected(
        drift_id=drift_id,
        exchange=sub.exchange,
        kind=kind,
        symbol=sub.symbol,
        order_id=sub.order_id,
        log_value=f"filled {view.cum_qty}, final state {view.terminal or 'none'}",
        exchange_value=f"filled {order.filled}, status {order.status}",
        ts_ms=ts_ms,
    )
    resolved = DriftResolved(
        drift_id=drift_id,
        exchange=sub.exchange,
        action="appended",
        appended=[type(e).type_tag() for _, e in missing],
        ts_ms=ts_ms,
    )
    return missing, [(uuid.UUID(drift_id), detected), (_resolved_id(drift_id), resolved)]


def external_orders(
    known_client_ids: set[str], open_orders: Sequence[ExchangeOrder], exchange: str, ts_ms: int
) -> list[Found]:
    """An `ExternalOrderDetected` for each open order no intent in the log claims."""
    found: list[Found] = []
    for order in open_orders:
        if order.client_order_id in known_client_ids:
            continue
        event = ExternalOrderDetected(
            exchange=exchange,
            symbol=order.symbol,
            exchange_order_id=order.exchange_order_id,
            client_order_id=order.client_order_id,
            side=order.side,
            order_type=order.order_type,
            qty=order.qty,
            price=order.price,
            status=order.status,
            ts_ms=ts_ms,
        )
        found.append(
            (external_event_id(exchange, "external", order.symbol, order.exchange_order_id), event)
        )
    return found


def _resolved_id(drift_id: str) -> uuid.UUID:
    return external_event_id("drift-resolved", drift_id)


def balance_drifts(
    expected: dict[str, Decimal], actual: dict[str, Decimal], exchange: str, ts_ms: int
) -> list[Found]:
    """A `balance` drift pair for each asset whose exchange balance differs from the log's.

    `expected` is the first balance the log recorded plus every fill of our orders since; a
    difference is money that moved outside the log (a hand trade, a deposit, a lost fill). It is
    reported for an operator, not corrected: the log cannot know what it was.
    """
    found: list[Found] = []
    for asset, want in sorted(expected.items()):
        have = actual.get(asset, Decimal(0))
        if have == want:
            continue
        drift_id = external_event_id(exchange, "balance-drift", asset, str(want), str(have)).hex
        detected = DriftDetected(
            drift_id=drift_id,
            exchange=exchange,
            kind="balance",
            symbol=asset,
            log_value=str(want),
            exchange_value=str(have),
            ts_ms=ts_ms,
        )
        resolved = DriftResolved(
            drift_id=drift_id,
            exchange=exchange,
            action="none",
            appended=[],
            note=f"{asset} moved by {have - want} outside the log; left for an operator",
            ts_ms=ts_ms,
        )
        found += [(uuid.UUID(drift_id), detected), (_resolved_id(drift_id), resolved)]
    return found
