"""ccxt's unified answers about our account -> the broker's typed views, or `MalformedAnswer`.

The exchange's wire format stops here, as it does in ingest's `ccxt_adapter`. Money rides on
these values, so nothing is defaulted: an order without a `filled` is not an order with nothing
filled (the router would record it as filled with nothing, then never fetch its fills), a fill
without a side is neither a buy nor a sell. What cannot be read is refused, and a refusal is an
unknown outcome (`ExchangeUnavailable`): the router records an `exec.exchange_error`, records no
fill or final state from that answer, and asks again on its next pass; reconcile retries the
pass. Amounts cross as the Decimal of ccxt's float (its shortest repr is the exchange's text).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from breakout.execution.broker import ExchangeOrder, ExchangeTrade, MalformedAnswer, OrderStatus

_STATUSES: dict[str, OrderStatus] = {
    "open": "open",
    "closed": "closed",
    "canceled": "canceled",
    "cancelled": "canceled",
    "expired": "expired",
    "rejected": "rejected",
}
SIDES = ("buy", "sell")


def _mapping(what: str, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise MalformedAnswer(what, f"expected an object, got {type(raw).__name__}", raw)
    return raw


def amount(what: str, raw: dict[str, Any], key: str, *, positive: bool = False) -> Decimal:
    """`raw[key]` as a finite Decimal >= 0 (> 0 if `positive`)."""
    value = raw.get(key)
    try:
        if isinstance(value, bool) or value is None:
            raise TypeError(value)
        number = float(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise MalformedAnswer(what, f"{key} is {value!r:.40}", raw) from exc
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        raise MalformedAnswer(what, f"{key} {number!r} must be {'>' if positive else '>='} 0", raw)
    return Decimal(repr(number))


def _name(value: Any) -> bool:
    # Ids, assets and order types: printable text (no NUL, no control or lone surrogate).
    return isinstance(value, str) and value.isprintable() and value.isascii() and value != ""


def _text(what: str, raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not _name(value):
        raise MalformedAnswer(what, f"{key} is {value!r:.40}", raw)
    return str(value)


def _side(what: str, raw: dict[str, Any]) -> str:
    side = raw.get("side")
    if side not in SIDES:
        raise MalformedAnswer(what, f"side is {side!r:.40}, not buy or sell", raw)
    return str(side)


def _ts_ms(what: str, raw: dict[str, Any], *keys: str) -> int:
    # The first of `keys` that holds a time. Binance answers -1 for a time that has not
    # happened yet (`workingTime` of a stop order not yet triggered), which ccxt takes for the
    # order's `timestamp`: that is no time, not a malformed answer, while a later key has one.
    for key in keys:
        value = raw.get(key)
        if not isinstance(value, bool) and isinstance(value, int | float) and 0 <= value < 2**53:
            return int(value)
    seen = ", ".join(f"{key} {raw.get(key)!r:.40}" for key in keys)
    raise MalformedAnswer(what, f"no time in {seen}", raw)


def to_order(symbol: str, raw: Any) -> ExchangeOrder:
    """A ccxt order (create / fetch / cancel / open orders) as the broker's view of it.

    A status ccxt leaves unknown (None, or one it does not unify) reads as `open`: still
    working, so nothing final is recorded from it and the router looks again.
    """
    what = "order"
    raw = _mapping(what, raw)
    client_order_id = raw.get("clientOrderId")
    if client_order_id is not None and not _name(client_order_id):
        raise MalformedAnswer(what, f"clientOrderId is {client_order_id!r:.40}", raw)
    order_type = _text(what, raw, "type")
    status = _STATUSES.get(raw["status"], "open") if isinstance(raw.get("status"), str) else "open"
    qty, filled = amount(what, raw, "amount"), amount(what, raw, "filled")
    if filled > qty:
        raise MalformedAnswer(what, f"filled {filled} exceeds amount {qty}", raw)
    if status == "closed" and not filled:
        raise MalformedAnswer(what, "closed with nothing filled", raw)
    return ExchangeOrder(
        exchange_order_id=_text(what, raw, "id"),
        client_order_id=client_order_id,
        symbol=symbol,
        side=_side(what, raw),
        order_type=order_type,
        status=status,
        qty=qty,
        filled=filled,
        price=amount(what, raw, "price", positive=True) if raw.get("price") else None,
        # (`lastUpdateTimestamp`: `transactTime` of a placement, when `timestamp` is -1)
        ts_ms=_ts_ms(what, raw, "lastTradeTimestamp", "timestamp", "lastUpdateTimestamp"),
    )


def to_trade(raw: Any) -> ExchangeTrade:
    """A ccxt trade of ours (`fetch_my_trades`) as the broker's view of one fill."""
    what = "trade"
    raw = _mapping(what, raw)
    fee = _mapping("trade fee", raw.get("fee"))
    asset = _text("trade fee", fee, "currency")
    maker = raw.get("takerOrMaker")
    return ExchangeTrade(
        trade_id=_text(what, raw, "id"),
        exchange_order_id=_text(what, raw, "order"),
        side=_side(what, raw),
        qty=amount(what, raw, "amount", positive=True),
        price=amount(what, raw, "price", positive=True),
        fee=amount("trade fee", fee, "cost"),
        fee_asset=asset,
        liquidity=maker if maker in ("maker", "taker") else "unknown",
        ts_ms=_ts_ms(what, raw, "timestamp"),
    )


def to_trades(raw: Any, exchange_order_id: str) -> list[ExchangeTrade]:
    """The fills of one order in a ccxt trade list (others are left out)."""
    if not isinstance(raw, list):
        raise MalformedAnswer("trades", f"expected a list, got {type(raw).__name__}", raw)
    return [t for t in map(to_trade, raw) if t.exchange_order_id == exchange_order_id]


def to_orders(symbol: str, raw: Any) -> list[ExchangeOrder]:
    """A ccxt order list."""
    if not isinstance(raw, list):
        raise MalformedAnswer("orders", f"expected a list, got {type(raw).__name__}", raw)
    return [to_order(symbol, o) for o in raw]


def to_balances(raw: Any) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """(free, total) per asset from a ccxt balance, assets at zero or unreported left out."""
    raw = _mapping("balance", raw)
    found: list[dict[str, Decimal]] = []
    for part in ("free", "total"):
        what = f"balance.{part}"
        held: dict[str, Decimal] = {}
        for asset, value in _mapping(what, raw.get(part, {})).items():
            if not _name(asset):
                raise MalformedAnswer(what, f"asset {asset!r:.40}", raw)
            if value is not None and (number := amount(what, {asset: value}, asset)):
                held[asset] = number
        found.append(held)
    return found[0], found[1]


def last_price(raw: Any) -> Decimal:
    """The last price of a ccxt ticker."""
    return amount("ticker", _mapping("ticker", raw), "last", positive=True)
