"""Execution events: the order lifecycle, the exchange's answers, balances and market rules.

One stream per order, `order-<client_order_id>`: the decision to place it (`OrderSubmitted`,
recorded BEFORE the exchange is called), then what the exchange said (acknowledged, fills,
filled, cancelled, rejected, expired). Fills are one event per exchange trade, keyed by the
exchange's trade id, so the execution service and the reconcile service can both record what
they saw and the store keeps each fill once. Subjects: `exec.order.<kind>.<SYMBOL>`.

Broker health (`exec.broker.<exchange>`, stream `broker-<exchange>`), balances
(`exec.account.<exchange>`, stream `account-<exchange>`) and market rules
(`exec.market.<exchange>.<SYMBOL>`, stream `market-<exchange>.<SYMBOL>`) are observations of
the exchange the risk and execution cores need (equity, step sizes, minimums), recorded so a
replay decides with what was known at the time. Amounts are Decimal: money is counted here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from breakout.common.events.base import Event, subject_token

OrderSide = Literal["buy", "sell"]
OrderType = Literal["market", "limit", "stop_limit"]
TimeInForce = Literal["GTC", "IOC"]
OrderPurpose = Literal[
    "entry",
    "add_on",
    "tp1",
    "tp2",
    "stop",
    "trail",
    "time_stop",
    "time_decay",
    "panic",
    "close",
    "flatten",
]
ExchangeErrorKind = Literal["network", "rate_limited", "auth", "exchange", "unknown"]


def order_stream(order_id: str) -> str:
    """The store stream of one order, e.g. `order-bk3f2a...`."""
    return f"order-{order_id}"


def broker_stream(exchange: str) -> str:
    """The store stream of one exchange connection's health, e.g. `broker-binance`."""
    return f"broker-{subject_token(exchange)}"


def account_stream(exchange: str) -> str:
    """The store stream of balances observed at one exchange, e.g. `account-binance`."""
    return f"account-{subject_token(exchange)}"


def market_stream(exchange: str, symbol: str) -> str:
    """The store stream of one market's trading rules, e.g. `market-binance.BTCUSDT`."""
    return f"market-{subject_token(exchange)}.{subject_token(symbol)}"


class OrderSubmitted(Event, frozen=True, kw_only=True, tag="exec.order_submitted.v1"):
    """The decision to place an order (recorded before any exchange call; see docs/execution.md).

    `order_id` is the client order id sent to the exchange, derived from `intent_id` and
    `purpose` (and a sequence for exits), so a resubmission finds the same order.
    """

    order_id: str
    exchange: str
    symbol: str
    intent_id: str
    position_id: str
    purpose: OrderPurpose
    side: OrderSide
    order_type: OrderType
    time_in_force: TimeInForce = "GTC"
    qty: Decimal
    price: Decimal | None = None
    stop_price: Decimal | None = None
    reason: str = ""
    ts_ms: int

    def subject(self) -> str:
        """`exec.order.submitted.<SYMBOL>`."""
        return f"exec.order.submitted.{subject_token(self.symbol)}"


class OrderCancelRequested(Event, frozen=True, kw_only=True, tag="exec.order_cancel_requested.v1"):
    """The decision to cancel a working order (timeout, anti-squeeze, flatten, operator)."""

    order_id: str
    exchange: str
    symbol: str
    reason: str
    ts_ms: int

    def subject(self) -> str:
        """`exec.order.cancel_requested.<SYMBOL>`."""
        return f"exec.order.cancel_requested.{subject_token(self.symbol)}"


class OrderAcknowledged(Event, frozen=True, kw_only=True, tag="exec.order_acknowledged.v1"):
    """The exchange holds the order: its id, and how long placing took (None if found later)."""

    order_id: str
    exchange: str
    symbol: str
    exchange_order_id: str
    status: str
    latency_ms: float | None = None
    ts_ms: int

    def subject(self) -> str:
        """`exec.order.acknowledged.<SYMBOL>`."""
        return f"exec.order.acknowledged.{subject_token(self.symbol)}"


class OrderFillReceived(Event, frozen=True, kw_only=True, tag="exec.order_fill.v1"):
    """One exchange trade of the order; `cum_qty` below the order's qty means partially filled."""

    order_id: str
    exchange: str
    symbol: str
    trade_id: str
    side: OrderSide
    qty: Decimal
    price: Decimal
    quote_qty: Decimal
    fee: Decimal
    fee_asset: str
    cum_qty: Decimal
    liquidity: Literal["maker", "taker", "unknown"] = "unknown"
    ts_ms: int

    def subject(self) -> str:
        """`exec.order.fill.<SYMBOL>`."""
        return f"exec.order.fill.{subject_token(self.symbol)}"


class OrderFilled(Event, frozen=True, kw_only=True, tag="exec.order_filled.v1"):
    """The order is completely filled (its fills are recorded before this event)."""

    order_id: str
    exchange: str
    symbol: str
    filled_qty: Decimal
    avg_price: Decimal
    ts_ms: int

    def subject(self) -> str:
        """`exec.order.filled.<SYMBOL>`."""
        return f"exec.order.filled.{subject_token(self.symbol)}"


class OrderCancelled(Event, frozen=True, kw_only=True, tag="exec.order_cancelled.v1"):
    """The order is cancelled; `filled_qty` of it had filled before."""

    order_id: str
    exchange: str
    symbol: str
    filled_qty: Decimal
    reason: str = ""
    ts_ms: int

    def subject(self) -> str:
        """`exec.order.cancelled.<SYMBOL>`."""
        return f"exec.order.cancelled.{subject_token(self.symbol)}"


class OrderExpired(Event, frozen=True, kw_only=True, tag="exec.order_expired.v1"):
    """The exchange expired the order (IOC remainder, thin book); `filled_qty` had filled."""

    order_id: str
    exchange: str
    symbol: str
    filled_qty: Decimal
    ts_ms: int

    def subject(self) -> str:
        """`exec.order.expired.<SYMBOL>`."""
        return f"exec.order.expired.{subject_token(self.symbol)}"


class OrderRejected(Event, frozen=True, kw_only=True, tag="exec.order_rejected.v1"):
    """The exchange refused the order: the error as the exchange said it."""

    order_id: str
    exchange: str
    symbol: str
    error: str
    message: str
    ts_ms: int

    def subject(self) -> str:
        """`exec.order.rejected.<SYMBOL>`."""
        return f"exec.order.rejected.{subject_token(self.symbol)}"


class ExchangeErrorOccurred(Event, frozen=True, kw_only=True, tag="exec.exchange_error.v1"):
    """A call to the exchange failed (network, rate limit, auth); the kill switch watches.

    `repeats`: how many times the same call failed the same way since this error was last
    recorded, unrecorded (the router records a persisting error other than an outage's once a
    minute, not on every pass).
    """

    exchange: str
    kind: ExchangeErrorKind
    operation: str
    error: str
    message: str
    ts_ms: int
    repeats: int = 0

    def subject(self) -> str:
        """`exec.broker.<exchange>`."""
        return f"exec.broker.{subject_token(self.exchange)}"


class ExchangeRecovered(Event, frozen=True, kw_only=True, tag="exec.exchange_recovered.v1"):
    """A call to the exchange succeeded again after errors."""

    exchange: str
    errors: int
    ts_ms: int

    def subject(self) -> str:
        """`exec.broker.<exchange>`."""
        return f"exec.broker.{subject_token(self.exchange)}"


class BalanceObserved(Event, frozen=True, kw_only=True, tag="exec.balance.v1"):
    """Balances read from the exchange; `equity_quote` values every asset in `quote`."""

    exchange: str
    quote: str
    free: dict[str, Decimal]
    total: dict[str, Decimal]
    equity_quote: Decimal
    ts_ms: int

    def subject(self) -> str:
        """`exec.account.<exchange>`."""
        return f"exec.account.{subject_token(self.exchange)}"


class MarketRulesObserved(Event, frozen=True, kw_only=True, tag="exec.market_rules.v1"):
    """A market's precision and minimums as the exchange lists them (from ccxt's markets)."""

    exchange: str
    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    min_notional: Decimal
    taker_fee: Decimal = Decimal("0.001")
    maker_fee: Decimal = Decimal("0.001")
    ts_ms: int

    def subject(self) -> str:
        """`exec.market.<exchange>.<SYMBOL>`."""
        return f"exec.market.{subject_token(self.exchange)}.{subject_token(self.symbol)}"


OrderOutcome = (
    OrderAcknowledged
    | OrderFillReceived
    | OrderFilled
    | OrderCancelled
    | OrderExpired
    | OrderRejected
)

TERMINAL_STATES: frozenset[str] = frozenset({"filled", "cancelled", "expired", "rejected"})
