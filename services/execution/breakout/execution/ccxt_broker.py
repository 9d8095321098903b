"""The live broker: our orders at a real exchange (or exchange_sim) through ccxt.

Exchange symbols (`BTCUSDT`) are the events'; ccxt's unified symbols (`BTC/USDT`) stay in here.
ccxt's answers are read by `ccxt_payload` (which refuses what it cannot read whole); quote
amounts are recomputed as qty x price in Decimal, as the exchange does. Errors are
sorted into "refused for good" and "outcome unknown", the distinction the crash-safe placement
protocol in docs/execution.md rests on.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import ccxt
import ccxt.pro

from breakout.common.events import BalanceObserved, MarketRulesObserved, OrderSubmitted
from breakout.execution.broker import (
    ExchangeOrder,
    ExchangeTrade,
    ExchangeUnavailable,
    OrderRefused,
)
from breakout.execution.ccxt_payload import (
    amount,
    last_price,
    to_balances,
    to_order,
    to_orders,
    to_trades,
)


def _dec(value: Any) -> Decimal:
    return Decimal(repr(float(value))) if value is not None else Decimal(0)


def _filter(info: dict[str, Any], kind: str, field: str, *, positive: bool = False) -> Decimal:
    for item in info.get("filters", []):
        if item.get("filterType") == kind and field in item:
            what = f"market {info.get('symbol')} {kind}"
            return amount(what, item, field, positive=positive).normalize()
    raise ValueError(f"market {info.get('symbol')} lists no {kind}.{field}")


class CcxtBroker:
    """A `Broker` over one ccxt.pro exchange instance (REST calls only)."""

    def __init__(self, client: ccxt.pro.Exchange, exchange: str = "binance") -> None:
        self.client = client
        self.exchange = exchange
        self._loaded = False

    async def _markets(self) -> None:
        if not self._loaded:
            await self._call("load_markets")
            self._loaded = True

    def unified(self, symbol: str) -> str:
        """`BTCUSDT` -> `BTC/USDT`."""
        market = self.client.markets_by_id.get(symbol) if self.client.markets_by_id else None
        if not market:
            raise OrderRefused("BadSymbol", f"unknown market {symbol}")
        return str(market[0]["symbol"])

    async def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return await getattr(self.client, name)(*args, **kwargs)
        except ccxt.OrderNotFound:
            raise
        except (ccxt.DDoSProtection, ccxt.RateLimitExceeded) as exc:
            raise ExchangeUnavailable("rate_limited", type(exc).__name__, str(exc)[:500]) from exc
        except (ccxt.NetworkError, ccxt.InvalidNonce) as exc:
            raise ExchangeUnavailable("network", type(exc).__name__, str(exc)[:500]) from exc
        except ccxt.AuthenticationError as exc:
            raise ExchangeUnavailable("auth", type(exc).__name__, str(exc)[:500]) from exc
        except ccxt.ExchangeError as exc:
            raise OrderRefused(type(exc).__name__, str(exc)[:500]) from exc

    async def find(self, symbol: str, client_order_id: str) -> ExchangeOrder | None:
        """The order with this client id, or None."""
        await self._markets()
        try:
            raw = await self._call(
                "fetch_order", "", self.unified(symbol), {"origClientOrderId": client_order_id}
            )
        except ccxt.OrderNotFound:
            return None
        return to_order(symbol, raw)

    async def place(self, order: OrderSubmitted) -> ExchangeOrder:
        """Place `order` under its client order id."""
        await self._markets()
        params: dict[str, Any] = {"newClientOrderId": order.order_id}
        kind: str = order.order_type
        if kind == "limit":
            params["timeInForce"] = order.time_in_force
        if kind == "stop_limit":
            kind = "STOP_LOSS_LIMIT"
            params["stopPrice"] = str(order.stop_price)
            params["timeInForce"] = "GTC"
        price = float(order.price) if order.price is not None else None
        raw = await self._call(
            "create_order",
            self.unified(order.symbol),
            kind,
            order.side,
            float(order.qty),
            price,
            params,
        )
        return to_order(order.symbol, raw)

    async def cancel(self, symbol: str, client_order_id: str) -> ExchangeOrder | None:
        """Cancel by client id; the order as it ended (None if unknown)."""
        await self._markets()
        # Already over (filled, expired) or never placed: either way, look at what it is now.
        with contextlib.suppress(ccxt.OrderNotFound, OrderRefused):
            await self._call(
                "cancel_order", "", self.unified(symbol), {"origClientOrderId": client_order_id}
            )
        return await self.find(symbol, client_order_id)

    async def trades(self, symbol: str, exchange_order_id: str) -> list[ExchangeTrade]:
        """Our fills of one order."""
        await self._markets()
        raw = await self._call(
            "fetch_my_trades", self.unified(symbol), None, None, {"orderId": exchange_order_id}
        )
        return to_trades(raw, exchange_order_id)

    async def open_orders(self, symbols: Sequence[str]) -> list[ExchangeOrder]:
        """Open orders on `symbols`."""
        await self._markets()
        found: list[ExchangeOrder] = []
        for symbol in symbols:
            raw = await self._call("fetch_open_orders", self.unified(symbol))
            found += to_orders(symbol, raw)
        return found

    async def balance(self, symbols: Sequence[str]) -> BalanceObserved:
        """Balances, valued in the quote asset of the first symbol at last prices."""
        await self._markets()
        raw = await self._call("fetch_balance")
        free, total = to_balances(raw)
        quote = str(self.client.markets[self.unified(symbols[0])]["quote"]) if symbols else "USDT"
        equity = total.get(quote, Decimal(0))
        for symbol in symbols:
            market = self.client.markets[self.unified(symbol)]
            held = total.get(str(market["base"]), Decimal(0))
            if held and market["quote"] == quote:
                ticker = await self._call("fetch_ticker", market["symbol"])
                equity += held * last_price(ticker)
        return BalanceObserved(
            exchange=self.exchange,
            quote=quote,
            free=free,
            total=total,
            equity_quote=equity,
            ts_ms=int(time.time() * 1000),
        )

    async def market_rules(self, symbols: Sequence[str]) -> list[MarketRulesObserved]:
        """Tick, step and minimums from the exchange's own filters."""
        await self._markets()
        rules = []
        for symbol in symbols:
            market = self.client.markets[self.unified(symbol)]
            info = market["info"]
            rules.append(
                MarketRulesObserved(
                    exchange=self.exchange,
                    symbol=symbol,
                    base=str(market["base"]),
                    quote=str(market["quote"]),
                    tick_size=_filter(info, "PRICE_FILTER", "tickSize", positive=True),
                    step_size=_filter(info, "LOT_SIZE", "stepSize", positive=True),
                    min_qty=_filter(info, "LOT_SIZE", "minQty"),
                    min_notional=_filter(info, "NOTIONAL", "minNotional"),
                    taker_fee=_dec(market.get("taker") or 0.001),
                    maker_fee=_dec(market.get("maker") or 0.001),
                    ts_ms=int(time.time() * 1000),
                )
            )
        return rules

    async def close(self) -> None:
        """Close the ccxt client."""
        await self.client.close()
