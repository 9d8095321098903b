"""The broker port, what an exchange says about an order, and the events that follow from it.

`outcome_events` is the one place that turns an exchange's view of one of our orders into
events, used by the execution service after placing or polling and by the reconcile service
after comparing. Its ids are derived from the exchange's facts (the client order id, the trade
id), so when both record the same fill the store keeps it once.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol, TypeVar

import msgspec

from breakout.common.backoff import retrying
from breakout.common.events import (
    BalanceObserved,
    Event,
    MarketRulesObserved,
    NewEvent,
    OrderAcknowledged,
    OrderCancelled,
    OrderCancelRequested,
    OrderExpired,
    OrderFilled,
    OrderFillReceived,
    OrderRejected,
    OrderSubmitted,
    RecordedEvent,
)
from breakout.common.events.exec import ExchangeErrorKind
from breakout.common.ids import external_event_id

T = TypeVar("T")

OrderStatus = Literal["open", "closed", "canceled", "expired", "rejected"]


class ExchangeOrder(msgspec.Struct, frozen=True, kw_only=True):
    """An order as the exchange reports it."""

    exchange_order_id: str
    client_order_id: str | None
    symbol: str
    side: str
    order_type: str
    status: OrderStatus
    qty: Decimal
    filled: Decimal
    price: Decimal | None = None
    ts_ms: int


class ExchangeTrade(msgspec.Struct, frozen=True, kw_only=True):
    """One of our fills as the exchange reports it."""

    trade_id: str
    exchange_order_id: str
    side: str
    qty: Decimal
    price: Decimal
    fee: Decimal
    fee_asset: str
    liquidity: Literal["maker", "taker", "unknown"]
    ts_ms: int


def recordable(text: str, limit: int = 500) -> str:
    """Outside text (an exchange's error message) as events can hold it: at most `limit`
    characters, no NUL (JSONB refuses it) and no lone surrogate (UTF-8 cannot encode it)."""
    clean = text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    return clean[:limit]


class OrderRefused(Exception):
    """The exchange refused the order for good (bad parameters, funds): not worth retrying."""

    def __init__(self, error: str, message: str) -> None:
        error, message = recordable(error), recordable(message)
        super().__init__(f"{error}: {message}")
        self.error, self.message = error, message


class ExchangeUnavailable(Exception):
    """The call's outcome is unknown (network, timeout, rate limit): look again later."""

    def __init__(self, kind: ExchangeErrorKind, error: str, message: str) -> None:
        error, message = recordable(error), recordable(message)
        super().__init__(f"{error}: {message}")
        self.kind, self.error, self.message = kind, error, message


class MalformedAnswer(ExchangeUnavailable):
    """An answer of the exchange this adapter cannot read: a field missing, mistyped or out of
    range, or at odds with the order it answers about. Its outcome is unknown, like a timeout's."""

    def __init__(self, what: str, reason: str, raw: object) -> None:
        super().__init__("exchange", "MalformedAnswer", f"{what}: {reason}; got {raw!r:.200}")
        self.what, self.reason = what, reason


def temporary(failure: BaseException) -> bool:
    """Whether an exchange failure may pass by itself (network, rate limit; not auth, and not
    an answer that cannot be read: a start that waits on one would wait forever, quietly)."""
    return (
        isinstance(failure, ExchangeUnavailable)
        and failure.kind != "auth"
        and not isinstance(failure, MalformedAnswer)
    )


async def at_start(request: Callable[[], Awaitable[T]], what: str) -> T:
    """A call a start-up needs, retried while the exchange is away or still starting (the
    simulator answers 503 while it builds its markets), as ingest loads its markets."""
    return await retrying(request, (ExchangeUnavailable,), what=what, temporary=temporary)


class Broker(Protocol):
    """Where orders go: the live exchange through ccxt, or the paper broker."""

    exchange: str

    async def find(self, symbol: str, client_order_id: str) -> ExchangeOrder | None:
        """The order with this client id, or None if the exchange has never seen it."""
        ...

    async def place(self, order: OrderSubmitted) -> ExchangeOrder:
        """Place `order` under its client id; raise `OrderRefused` / `ExchangeUnavailable`."""
        ...

    async def cancel(self, symbol: str, client_order_id: str) -> ExchangeOrder | None:
        """Cancel it; the order as it ended (None if the exchange does not know it)."""
        ...

    async def trades(self, symbol: str, exchange_order_id: str) -> list[ExchangeTrade]:
        """Our fills of one order."""
        ...

    async def open_orders(self, symbols: Sequence[str]) -> list[ExchangeOrder]:
        """Every open order of the account on these symbols."""
        ...

    async def balance(self, symbols: Sequence[str]) -> BalanceObserved:
        """Balances and equity in the quote asset."""
        ...

    async def market_rules(self, symbols: Sequence[str]) -> list[MarketRulesObserved]:
        """Step, tick and minimums of each market."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class OrderView(msgspec.Struct, kw_only=True):
    """What the log says about one order (folded from its stream).

    `submitted_id` / `correlation_id` identify the recorded `OrderSubmitted` (when the view was
    built from the store): what the exchange answers about the order is caused by it.
    """

    submitted: OrderSubmitted
    submitted_id: uuid.UUID | None = None
    correlation_id: uuid.UUID | None = None
    exchange_order_id: str | None = None
    trade_ids: set[str] = msgspec.field(default_factory=set)
    cum_qty: Decimal = Decimal(0)
    terminal: str | None = None
    cancel_requested: bool = False

    @classmethod
    def of(cls, recorded: RecordedEvent) -> OrderView:
        """The view of an order from its recorded `OrderSubmitted`."""
        if not isinstance(recorded.data, OrderSubmitted):
            raise TypeError(f"an order view starts at OrderSubmitted, not {recorded.type}")
        return cls(
            submitted=recorded.data,
            submitted_id=recorded.event_id,
            correlation_id=recorded.correlation_id or recorded.event_id,
        )

    def news(
        self, found: Sequence[tuple[uuid.UUID, Event]], *, occurred_at: datetime, producer: str
    ) -> list[NewEvent]:
        """`found` as events to append, each caused by this order's `OrderSubmitted`.

        The router and reconcile record the same facts under the same ids and the same cause,
        so whichever of them appends first, `breakout audit` walks fill -> order -> intent.
        """
        return [
            NewEvent(
                event_id=event_id,
                data=event,
                occurred_at=occurred_at,
                producer=producer,
                causation_id=self.submitted_id,
                correlation_id=self.correlation_id,
            )
            for event_id, event in found
        ]

    def apply(self, event: Event) -> None:
        """Fold one event of this order's stream."""
        match event:
            case OrderAcknowledged(exchange_order_id=xid):
                self.exchange_order_id = xid
            case OrderFillReceived(trade_id=tid, qty=qty) if tid not in self.trade_ids:
                self.trade_ids.add(tid)
                self.cum_qty += qty
            case OrderFilled():
                self.terminal = "filled"
            case OrderCancelled():
                self.terminal = "cancelled"
            case OrderExpired():
                self.terminal = "expired"
            case OrderRejected():
                self.terminal = "rejected"
            case OrderCancelRequested():
                self.cancel_requested = True
            case _:
                pass


def outcome_events(
    view: OrderView,
    order: ExchangeOrder,
    trades: Sequence[ExchangeTrade],
    *,
    latency_ms: float | None = None,
) -> list[tuple[uuid.UUID, Event]]:
    """The events the log lacks about `order`, each with its derived id, in lifecycle order.

    Fills come before the terminal event; the terminal event is only produced once every fill
    the exchange reports for the executed quantity is known (fills lag the order on some venues).
    """
    sub = view.submitted
    key = (sub.exchange, sub.order_id)
    base = {"order_id": sub.order_id, "exchange": sub.exchange, "symbol": sub.symbol}
    out: list[tuple[uuid.UUID, Event]] = []
    if view.exchange_order_id is None:
        ack = OrderAcknowledged(
            **base,
            exchange_order_id=order.exchange_order_id,
            status=order.status,
            latency_ms=latency_ms,
            ts_ms=order.ts_ms,
        )
        out.append((external_event_id(*key, "ack"), ack))
    cum = view.cum_qty
    # A trade listed twice (pages of an answer overlap) is one fill, in the sum and the average.
    trades = list({t.trade_id: t for t in trades}.values())
    for trade in trades:  # a sell fill on a buy order moves money the other way: refuse it all
        if trade.side != sub.side:
            reason = f"fill {trade.trade_id} is a {trade.side}, order {sub.order_id} a {sub.side}"
            raise MalformedAnswer("trades", reason, trade)
    for trade in sorted(trades, key=lambda t: (t.ts_ms, t.trade_id)):
        if trade.trade_id in view.trade_ids:
            continue
        cum += trade.qty
        fill = OrderFillReceived(
            **base,
            trade_id=trade.trade_id,
            side=trade.side,  # type: ignore[arg-type]
            qty=trade.qty,
            price=trade.price,
            quote_qty=trade.qty * trade.price,
            fee=trade.fee,
            fee_asset=trade.fee_asset,
            cum_qty=cum,
            liquidity=trade.liquidity,
            ts_ms=trade.ts_ms,
        )
        out.append((external_event_id(sub.exchange, "trade", sub.symbol, trade.trade_id), fill))
    if view.terminal is None and order.status != "open" and cum >= order.filled:
        out.append((external_event_id(*key, "end"), _terminal(base, order, trades, cum)))
    return out


def _terminal(
    base: dict[str, str], order: ExchangeOrder, trades: Sequence[ExchangeTrade], cum: Decimal
) -> Event:
    ts = max([order.ts_ms, *(t.ts_ms for t in trades)])
    if order.status == "closed":
        quote = sum((t.qty * t.price for t in trades), Decimal(0))
        avg = quote / cum if cum else Decimal(0)
        return OrderFilled(**base, filled_qty=cum, avg_price=avg, ts_ms=ts)
    if order.status == "canceled":
        return OrderCancelled(**base, filled_qty=cum, reason="cancelled at the exchange", ts_ms=ts)
    if order.status == "expired":
        return OrderExpired(**base, filled_qty=cum, ts_ms=ts)
    return OrderRejected(
        **base, error="rejected", message="the exchange rejected the order", ts_ms=ts
    )
