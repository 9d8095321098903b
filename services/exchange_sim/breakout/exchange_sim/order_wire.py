"""Binance JSON of our orders, fills and accounts."""

from __future__ import annotations

import zlib
from decimal import Decimal

from breakout.exchange_sim.accounts import Account, Accounts, AccountTrade
from breakout.exchange_sim.orders import Order, OrderEvent
from breakout.exchange_sim.protocol import JsonDict
from breakout.exchange_sim.specs import SymbolSpec


def money(value: Decimal) -> str:
    """A Decimal amount with Binance's eight decimals."""
    return f"{value:.8f}"


def _price(spec: SymbolSpec, ticks: int | None) -> str:
    return spec.price_text(ticks) if ticks is not None else "0.00000000"


def order_json(spec: SymbolSpec, order: Order) -> JsonDict:
    """An order as `GET /api/v3/order`, `openOrders` and `allOrders` show it."""
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "price": _price(spec, order.price),
        "origQty": spec.qty_text(order.orig_lots),
        "executedQty": spec.qty_text(order.executed_lots),
        "cummulativeQuoteQty": money(order.cum_quote),
        "status": order.status.value,
        "timeInForce": order.time_in_force.value,
        "type": order.type.value,
        "side": order.side.value,
        "stopPrice": _price(spec, order.stop_price),
        "icebergQty": "0.00000000",
        "time": order.time_ms,
        "updateTime": order.update_ms,
        "isWorking": order.working,
        "workingTime": order.working_ms,
        "origQuoteOrderQty": money(order.orig_quote_qty),
        "selfTradePreventionMode": "NONE",
    }


def new_order_json(spec: SymbolSpec, order: Order, response_type: str) -> JsonDict:
    """The answer to `POST /api/v3/order` (ACK, RESULT or FULL)."""
    ack: JsonDict = {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "transactTime": order.time_ms,
    }
    if response_type == "ACK":
        return ack
    full = order_json(spec, order)
    result = {
        **ack,
        **{k: full[k] for k in ("price", "origQty", "executedQty", "origQuoteOrderQty")},
        "cummulativeQuoteQty": full["cummulativeQuoteQty"],
        "status": full["status"],
        "timeInForce": full["timeInForce"],
        "type": full["type"],
        "side": full["side"],
        "workingTime": full["workingTime"],
        "selfTradePreventionMode": "NONE",
    }
    if order.stop_price is not None:
        result["stopPrice"] = full["stopPrice"]
    if response_type == "FULL":
        result["fills"] = [
            {
                "price": spec.price_text(fill.price),
                "qty": spec.qty_text(fill.lots),
                "commission": money(fill.commission),
                "commissionAsset": fill.commission_asset,
                "tradeId": fill.trade_id,
            }
            for fill in order.fills
        ]
    return result


def cancel_json(spec: SymbolSpec, order: Order, transact_ms: int) -> JsonDict:
    """The answer to `DELETE /api/v3/order`."""
    full = order_json(spec, order)
    return {
        "symbol": order.symbol,
        "origClientOrderId": order.client_order_id,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": f"cancel-{order.order_id}",
        "transactTime": transact_ms,
        **{
            k: full[k]
            for k in (
                "price",
                "origQty",
                "executedQty",
                "cummulativeQuoteQty",
                "status",
                "timeInForce",
                "type",
                "side",
                "stopPrice",
                "selfTradePreventionMode",
            )
        },
    }


def my_trade_json(spec: SymbolSpec, trade: AccountTrade) -> JsonDict:
    """One entry of `GET /api/v3/myTrades`."""
    return {
        "symbol": trade.symbol,
        "id": trade.trade_id,
        "orderId": trade.order_id,
        "orderListId": -1,
        "price": spec.price_text(trade.price),
        "qty": spec.qty_text(trade.lots),
        "quoteQty": money(trade.quote),
        "commission": money(trade.commission),
        "commissionAsset": trade.commission_asset,
        "time": trade.ts_ms,
        "isBuyer": trade.is_buyer,
        "isMaker": trade.is_maker,
        "isBestMatch": True,
    }


def account_json(accounts: Accounts, account: Account) -> JsonDict:
    """`GET /api/v3/account`."""
    maker = accounts.maker_fee_bps / Decimal(10_000)
    taker = accounts.taker_fee_bps / Decimal(10_000)
    return {
        "makerCommission": int(accounts.maker_fee_bps),
        "takerCommission": int(accounts.taker_fee_bps),
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": money(maker),
            "taker": money(taker),
            "buyer": "0.00000000",
            "seller": "0.00000000",
        },
        "canTrade": True,
        "canWithdraw": False,
        "canDeposit": False,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": account.update_ms,
        "accountType": "SPOT",
        "balances": [
            {"asset": asset, "free": money(b.free), "locked": money(b.locked)}
            for asset, b in sorted(account.balances.items())
        ],
        "permissions": ["SPOT"],
        "uid": zlib.crc32(account.api_key.encode()),
    }


def execution_report(spec: SymbolSpec, event: OrderEvent) -> JsonDict:
    """`executionReport` of the user data stream."""
    order, fill = event.order, event.fill
    last_quote = spec.price(fill.price) * spec.qty(fill.lots) if fill is not None else Decimal(0)
    return {
        "e": "executionReport",
        "E": event.event_ms,
        "s": order.symbol,
        "c": order.client_order_id,
        "S": order.side.value,
        "o": order.type.value,
        "f": order.time_in_force.value,
        "q": spec.qty_text(order.orig_lots),
        "p": _price(spec, order.price),
        "P": _price(spec, order.stop_price),
        "F": "0.00000000",
        "g": -1,
        "C": order.client_order_id if event.execution == "CANCELED" else "",
        "x": event.execution,
        "X": order.status.value,
        "r": "NONE",
        "i": order.order_id,
        "l": spec.qty_text(fill.lots) if fill else "0.00000000",
        "z": spec.qty_text(order.executed_lots),
        "L": spec.price_text(fill.price) if fill else "0.00000000",
        "n": money(fill.commission) if fill else "0",
        "N": fill.commission_asset if fill else None,
        "T": event.event_ms,
        "t": fill.trade_id if fill else -1,
        "I": 0,
        "w": order.is_open and order.working,
        "m": event.is_maker,
        "M": False,
        "O": order.time_ms,
        "Z": money(order.cum_quote),
        "Y": money(last_quote),
        "Q": money(order.orig_quote_qty),
        "W": order.working_ms,
        "V": "NONE",
    }


def account_position(account: Account, assets: list[str], event_ms: int) -> JsonDict:
    """`outboundAccountPosition`: the balances of the assets an event changed."""
    return {
        "e": "outboundAccountPosition",
        "E": event_ms,
        "u": event_ms,
        "B": [
            {
                "a": asset,
                "f": money(account.balance(asset).free),
                "l": money(account.balance(asset).locked),
            }
            for asset in assets
        ],
    }
