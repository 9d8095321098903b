"""Our orders on the simulated exchange, and the parsing of Binance's order parameters.

Parsing turns the request's text into ticks and lots and applies the symbol's filters the way
Binance does (LOT_SIZE, PRICE_FILTER, NOTIONAL), so a request our code builds wrongly fails here
the same way it would fail live.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TypeVar

from breakout.exchange_sim import errors
from breakout.exchange_sim.accounts import ZERO
from breakout.exchange_sim.specs import SymbolSpec


class OrderSide(StrEnum):
    """Buy or sell."""

    BUY = "BUY"
    SELL = "SELL"


class OrderType(StrEnum):
    """Order types the simulator accepts."""

    LIMIT = "LIMIT"
    MARKET = "MARKET"
    LIMIT_MAKER = "LIMIT_MAKER"
    STOP_LOSS_LIMIT = "STOP_LOSS_LIMIT"
    TAKE_PROFIT_LIMIT = "TAKE_PROFIT_LIMIT"


class TimeInForce(StrEnum):
    """How long a limit order stays."""

    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


class OrderStatus(StrEnum):
    """Binance order states."""

    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"


E = TypeVar("E", bound=StrEnum)

OPEN_STATUSES = frozenset({OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED})
STOP_TYPES = frozenset({OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT_LIMIT})
LIMIT_TYPES = frozenset({OrderType.LIMIT, OrderType.LIMIT_MAKER}) | STOP_TYPES


@dataclass(frozen=True, kw_only=True)
class OrderRequest:
    """A validated new-order request in exchange units."""

    symbol: str
    side: OrderSide
    type: OrderType
    time_in_force: TimeInForce | None
    lots: int | None
    quote_qty: Decimal | None
    price: int | None
    stop_price: int | None
    client_order_id: str | None
    response_type: str


@dataclass(frozen=True, slots=True)
class OrderFill:
    """One fill of an order, for the FULL response."""

    price: int
    lots: int
    commission: Decimal
    commission_asset: str
    trade_id: int


@dataclass(slots=True, kw_only=True)
class Order:
    """One of our orders and its progress."""

    order_id: int
    client_order_id: str
    api_key: str
    symbol: str
    side: OrderSide
    type: OrderType
    time_in_force: TimeInForce
    price: int | None
    stop_price: int | None
    orig_lots: int
    orig_quote_qty: Decimal
    time_ms: int
    update_ms: int
    status: OrderStatus = OrderStatus.NEW
    executed_lots: int = 0
    cum_quote: Decimal = ZERO
    reserved: Decimal = ZERO
    working: bool = True
    working_ms: int = -1
    resting: bool = False
    fills: list[OrderFill] = field(default_factory=list)

    @property
    def is_buy(self) -> bool:
        """Whether this order buys."""
        return self.side is OrderSide.BUY

    @property
    def remaining_lots(self) -> int:
        """Quantity not yet filled."""
        return self.orig_lots - self.executed_lots

    @property
    def is_open(self) -> bool:
        """NEW or PARTIALLY_FILLED."""
        return self.status in OPEN_STATUSES


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """A change of one of our orders, for the user data stream (`executionReport`).

    `execution` is Binance's execution type: NEW, TRADE, CANCELED or EXPIRED; `order` is a
    snapshot taken when it happened; `fill` and `is_maker` describe a TRADE.
    """

    execution: str
    order: Order
    event_ms: int
    fill: OrderFill | None = None
    is_maker: bool = False


def _decimal(params: dict[str, str], name: str) -> Decimal | None:
    text = params.get(name)
    if text is None or text == "":
        return None
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise errors.BinanceError(
            -1100, f"Illegal characters found in parameter '{name}'."
        ) from exc
    if not value.is_finite():
        raise errors.BinanceError(-1100, f"Illegal characters found in parameter '{name}'.")
    return value


def _units(value: Decimal, decimals: int, filter_name: str) -> int:
    scaled = value.scaleb(decimals)
    if scaled != scaled.to_integral_value() or scaled <= 0:
        raise errors.filter_failure(filter_name)
    return int(scaled)


def _enum(kind: type[E], text: str | None, name: str, code: int, msg: str) -> E:
    if text is None or text == "":
        raise errors.mandatory(name)
    try:
        return kind(text.upper())
    except ValueError as exc:
        raise errors.BinanceError(code, msg) from exc


def parse_order_request(params: dict[str, str], spec: SymbolSpec) -> OrderRequest:
    """Validate `POST /api/v3/order` parameters against the symbol's filters."""
    side = _enum(OrderSide, params.get("side"), "side", -1117, "Invalid side.")
    order_type = _enum(OrderType, params.get("type"), "type", -1116, "Invalid orderType.")
    quantity = _decimal(params, "quantity")
    quote_qty = _decimal(params, "quoteOrderQty")
    price = _decimal(params, "price")
    stop = _decimal(params, "stopPrice")
    tif: TimeInForce | None = None
    if order_type in (OrderType.LIMIT, *STOP_TYPES):
        tif = _enum(
            TimeInForce, params.get("timeInForce"), "timeInForce", -1115, "Invalid timeInForce."
        )
    if order_type in LIMIT_TYPES and price is None:
        raise errors.mandatory("price")
    if order_type in STOP_TYPES and stop is None:
        raise errors.mandatory("stopPrice")
    if quantity is None and not (order_type is OrderType.MARKET and quote_qty is not None):
        raise errors.mandatory("quantity")
    lots = _units(quantity, spec.qty_decimals, "LOT_SIZE") if quantity is not None else None
    if lots is not None and not spec.min_qty_lots <= lots <= spec.max_qty_lots:
        raise errors.filter_failure("LOT_SIZE")
    if quote_qty is not None and quote_qty <= 0:
        raise errors.filter_failure("NOTIONAL")
    price_ticks = _units(price, spec.price_decimals, "PRICE_FILTER") if price is not None else None
    stop_ticks = _units(stop, spec.price_decimals, "PRICE_FILTER") if stop is not None else None
    notional = spec.price(price_ticks) * spec.qty(lots) if price_ticks and lots else None
    if notional is not None and notional < spec.min_notional:
        raise errors.filter_failure("NOTIONAL")
    return OrderRequest(
        symbol=spec.symbol,
        side=side,
        type=order_type,
        time_in_force=tif,
        lots=lots,
        quote_qty=quote_qty if lots is None else None,
        price=price_ticks,
        stop_price=stop_ticks,
        client_order_id=params.get("newClientOrderId") or None,
        response_type=(params.get("newOrderRespType") or "FULL").upper(),
    )
