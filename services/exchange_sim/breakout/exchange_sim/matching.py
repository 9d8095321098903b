"""Matching our orders against the simulated book, with fees and balances as Binance keeps them.

- An order first takes what it can from the book (the taker part: MARKET, marketable LIMIT,
  IOC, FOK), printing on the public tape; a GTC remainder rests in the book, queued behind the
  liquidity already at its price, and fills as maker when simulated flow reaches it.
- STOP_LOSS_LIMIT / TAKE_PROFIT_LIMIT wait for the last trade price to reach the stop, then
  work as a LIMIT order. LIMIT_MAKER is refused if it would take.
- Funds are reserved when an order is placed (quote for buys at the limit price, base for
  sells), released as it fills; the buyer pays the fee in base, the seller in quote.
"""

from __future__ import annotations

import dataclasses
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from breakout.exchange_sim import errors
from breakout.exchange_sim.accounts import ZERO, Account, Accounts, AccountTrade
from breakout.exchange_sim.orders import (
    STOP_TYPES,
    Order,
    OrderEvent,
    OrderFill,
    OrderRequest,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from breakout.exchange_sim.specs import SymbolSpec
from breakout.exchange_sim.tape import Print

if TYPE_CHECKING:
    from breakout.exchange_sim.book import OrderBook
    from breakout.exchange_sim.exchange import SimExchange, SymbolFeed

EIGHT_DECIMALS = Decimal("0.00000001")
BPS = Decimal(10_000)


def walk_book(
    book: OrderBook, spec: SymbolSpec, taker_buys: bool, lots: int | None, quote: Decimal | None
) -> tuple[int, Decimal]:
    """Lots an aggressor gets and what they cost, for a size in lots or a budget in quote."""
    side = book.side(not taker_buys)
    got, cost = 0, ZERO
    for price in side.prices():
        level = side.totals[price]
        unit = spec.price(price) * spec.qty(1)
        if lots is not None:
            take = min(level, lots - got)
        else:
            assert quote is not None
            take = min(level, int((quote - cost) / unit))
        got += take
        cost += unit * take
        if (lots is not None and got >= lots) or take < level:
            break
    return got, cost


def stop_triggered(order_type: OrderType, buys: bool, stop: int, last: int) -> bool:
    """Binance's trigger rule: stop-loss buys above / sells below, take-profit the reverse."""
    rises_to_stop = (order_type is OrderType.STOP_LOSS_LIMIT) == buys
    return last >= stop if rises_to_stop else last <= stop


class MatchingEngine:
    """Our orders, their fills and the accounts they move."""

    def __init__(self, exchange: SimExchange, accounts: Accounts, first_order_id: int = 1_000_001):
        self.exchange = exchange
        self.accounts = accounts
        self.next_order_id = first_order_id
        self.orders: dict[int, Order] = {}
        self.stops: dict[str, list[int]] = {}
        self.events: list[OrderEvent] = []

    # ---- placing --------------------------------------------------------------------------

    def place(self, api_key: str, request: OrderRequest, now_ms: int) -> Order:
        """Accept (and work) a new order, or raise Binance's rejection."""
        account = self.accounts.get(api_key)
        feed = self.exchange.feed(request.symbol)
        if request.client_order_id and request.client_order_id in account.open_by_client_id:
            raise errors.order_rejected("Duplicate order sent.")
        self._check_type_rules(feed, request)
        lots, asset, reserve = self._reservation(feed, request)
        account.lock(asset, reserve)
        order_id = self.next_order_id
        self.next_order_id += 1
        order = Order(
            order_id=order_id,
            client_order_id=request.client_order_id or f"sim-{order_id}",
            api_key=api_key,
            symbol=request.symbol,
            side=request.side,
            type=request.type,
            time_in_force=request.time_in_force or TimeInForce.GTC,
            price=request.price,
            stop_price=request.stop_price,
            orig_lots=lots,
            orig_quote_qty=request.quote_qty or ZERO,
            time_ms=now_ms,
            update_ms=now_ms,
            reserved=reserve,
        )
        self.orders[order_id] = order
        account.orders[order_id] = order
        account.open_by_client_id[order.client_order_id] = order_id
        account.update_ms = now_ms
        if request.type in STOP_TYPES:
            order.working = False
        self._emit("NEW", order, now_ms)
        if request.type in STOP_TYPES:
            self.stops.setdefault(request.symbol, []).append(order_id)
        else:
            self._work(order, feed, now_ms)
        return order

    def _check_type_rules(self, feed: SymbolFeed, request: OrderRequest) -> None:
        book = feed.book
        buys = request.side == "BUY"
        if request.type is OrderType.LIMIT_MAKER:
            assert request.price is not None
            opposite = book.best_ask() if buys else book.best_bid()
            if opposite is not None and (
                request.price >= opposite if buys else request.price <= opposite
            ):
                raise errors.order_rejected("Order would immediately match and take.")
        if request.type in STOP_TYPES:
            assert request.stop_price is not None
            last = feed.klines.bars[-1].close
            if stop_triggered(request.type, buys, request.stop_price, last):
                raise errors.order_rejected("Stop price would trigger immediately.")

    def _reservation(self, feed: SymbolFeed, request: OrderRequest) -> tuple[int, str, Decimal]:
        """Order size in lots and the funds it locks (asset, amount)."""
        spec = feed.spec
        buys = request.side == "BUY"
        if request.type is OrderType.MARKET:
            lots, cost = walk_book(feed.book, spec, buys, request.lots, request.quote_qty)
            if lots <= 0:
                raise errors.order_rejected(
                    "Order book liquidity is less than LOT_SIZE filter minimum quantity."
                )
            if cost < spec.min_notional:
                raise errors.filter_failure("NOTIONAL")
            # A thin book fills part of a market order; the rest expires (origQty stays asked).
            ordered = request.lots if request.lots is not None else lots
            return (
                ordered,
                (spec.quote if buys else spec.base),
                (cost if buys else spec.qty(ordered)),
            )
        assert request.lots is not None and request.price is not None
        if buys:
            return request.lots, spec.quote, spec.price(request.price) * spec.qty(request.lots)
        return request.lots, spec.base, spec.qty(request.lots)

    def _work(self, order: Order, feed: SymbolFeed, now_ms: int) -> None:
        """Take what the book offers, then rest, expire or finish."""
        order.working = True
        order.working_ms = now_ms
        limit = None if order.type is OrderType.MARKET else order.price
        fok = order.time_in_force is TimeInForce.FOK
        if fok and feed.book.available(order.is_buy, limit) < order.remaining_lots:
            self._finish(order, OrderStatus.EXPIRED, now_ms)  # fill or kill: nothing at all
            return
        prints = feed.execute_taker(
            order.is_buy, order.remaining_lots, limit, now_ms, taker_owner=order.order_id
        )
        self.apply_prints(feed.spec, prints, taker=order)
        self.exchange.record_prints(order.symbol, prints)
        if not order.is_open:
            return
        if order.type is OrderType.MARKET or order.time_in_force is not TimeInForce.GTC:
            self._finish(order, OrderStatus.EXPIRED, now_ms)
            return
        assert order.price is not None
        feed.book.add(order.is_buy, order.price, order.remaining_lots, owner=order.order_id)
        order.resting = True

    # ---- fills ----------------------------------------------------------------------------

    def apply_prints(
        self, spec: SymbolSpec, prints: list[Print], taker: Order | None = None
    ) -> None:
        """Book the fills of our orders in a run of public trades (as taker and/or maker)."""
        for printed in prints:
            if taker is not None:
                self._fill(spec, taker, printed, is_maker=False)
            if printed.maker_owner > 0:
                maker = self.orders.get(printed.maker_owner)
                if maker is not None:
                    self._fill(spec, maker, printed, is_maker=True)

    def _fill(self, spec: SymbolSpec, order: Order, printed: Print, *, is_maker: bool) -> None:
        account = self.accounts.by_key[order.api_key]
        base = spec.qty(printed.lots)
        quote = spec.price(printed.price) * base
        fee_bps = self.accounts.maker_fee_bps if is_maker else self.accounts.taker_fee_bps
        commission, fee_asset = self._pay(
            account, spec, order, base=base, quote=quote, fee_bps=fee_bps
        )
        order.executed_lots += printed.lots
        order.cum_quote += quote
        order.update_ms = printed.ts_ms
        order.fills.append(
            OrderFill(printed.price, printed.lots, commission, fee_asset, printed.trade_id)
        )
        account.trades.append(
            AccountTrade(
                trade_id=printed.trade_id,
                order_id=order.order_id,
                symbol=order.symbol,
                price=printed.price,
                lots=printed.lots,
                quote=quote,
                commission=commission,
                commission_asset=fee_asset,
                ts_ms=printed.ts_ms,
                is_buyer=order.is_buy,
                is_maker=is_maker,
            )
        )
        account.update_ms = printed.ts_ms
        if order.remaining_lots == 0:
            self._finish(order, OrderStatus.FILLED, printed.ts_ms)
        else:
            order.status = OrderStatus.PARTIALLY_FILLED
        self._emit("TRADE", order, printed.ts_ms, fill=order.fills[-1], is_maker=is_maker)

    def _pay(
        self,
        account: Account,
        spec: SymbolSpec,
        order: Order,
        *,
        base: Decimal,
        quote: Decimal,
        fee_bps: Decimal,
    ) -> tuple[Decimal, str]:
        """Move the funds of one fill; the fee is paid in the asset received."""
        if order.is_buy:
            commission = (base * fee_bps / BPS).quantize(EIGHT_DECIMALS, ROUND_HALF_UP)
            # A limit buy reserved its limit price; a market buy what the book would cost.
            release = spec.price(order.price) * base if order.price is not None else quote
            release = min(release, order.reserved)
            self._settle(account, spec.quote, release, quote)
            account.balance(spec.base).free += base - commission
            order.reserved -= release
            return commission, spec.base
        commission = (quote * fee_bps / BPS).quantize(EIGHT_DECIMALS, ROUND_HALF_UP)
        self._settle(account, spec.base, base, base)
        account.balance(spec.quote).free += quote - commission
        order.reserved -= base
        return commission, spec.quote

    @staticmethod
    def _settle(account: Account, asset: str, released: Decimal, spent: Decimal) -> None:
        """Pay `spent` out of a reservation of `released` (the difference goes back to free)."""
        balance = account.balance(asset)
        balance.locked -= released
        balance.free += released - spent
        if balance.free < 0 or balance.locked < 0:
            raise AssertionError(f"{asset} balance went negative settling a fill: {balance}")

    def _finish(self, order: Order, status: OrderStatus, now_ms: int) -> None:
        """Close an order: leave the book, release what it still reserves."""
        account = self.accounts.by_key[order.api_key]
        if order.resting and order.price is not None:
            self.exchange.feed(order.symbol).book.remove_owner(
                order.is_buy, order.price, order.order_id
            )
            order.resting = False
        if order.reserved > 0:
            spec = self.exchange.feed(order.symbol).spec
            account.unlock(spec.quote if order.is_buy else spec.base, order.reserved)
            order.reserved = ZERO
        order.status = status
        order.update_ms = now_ms
        account.update_ms = now_ms
        account.open_by_client_id.pop(order.client_order_id, None)
        if status is not OrderStatus.FILLED:  # a fill reports itself as a TRADE
            self._emit(status.value, order, now_ms)
        if order.type in STOP_TYPES:
            waiting = self.stops.get(order.symbol, [])
            if order.order_id in waiting:
                waiting.remove(order.order_id)

    def _emit(
        self,
        execution: str,
        order: Order,
        ts_ms: int,
        fill: OrderFill | None = None,
        *,
        is_maker: bool = False,
    ) -> None:
        snapshot = dataclasses.replace(order, fills=[])
        self.events.append(OrderEvent(execution, snapshot, ts_ms, fill, is_maker))

    def drain_events(self) -> list[OrderEvent]:
        """Order changes since the last call (for the user data stream)."""
        events, self.events = self.events, []
        return events

    def on_prints(self, symbol: str, prints: list[Print]) -> None:
        """Simulated flow reached our resting orders; the last price may trigger stops."""
        if not prints:
            return
        feed = self.exchange.feed(symbol)
        self.apply_prints(feed.spec, prints)
        # Any print through the stop triggers it, not only the last one of the step.
        low = min(p.price for p in prints)
        high = max(p.price for p in prints)
        for order_id in list(self.stops.get(symbol, [])):
            order = self.orders[order_id]
            assert order.stop_price is not None
            reached = stop_triggered(
                order.type, order.is_buy, order.stop_price, high
            ) or stop_triggered(order.type, order.is_buy, order.stop_price, low)
            if reached:
                self.stops[symbol].remove(order_id)
                self._work(order, feed, prints[-1].ts_ms)

    # ---- cancelling and queries -----------------------------------------------------------

    def find(self, api_key: str, symbol: str, order_id: int | None, client_id: str | None) -> Order:
        """An order of this account by id or client id, or Binance's -2013."""
        account = self.accounts.get(api_key)
        self.exchange.feed(symbol)
        if order_id is None and not client_id:
            raise errors.mandatory("orderId")
        order: Order | None = None
        if order_id is not None:
            order = account.orders.get(order_id)
        else:
            matches = [o for o in account.orders.values() if o.client_order_id == client_id]
            order = matches[-1] if matches else None
        if order is None or order.symbol != symbol.upper():
            raise errors.unknown_order()
        return order

    def cancel(
        self, api_key: str, symbol: str, order_id: int | None, client_id: str | None, now_ms: int
    ) -> Order:
        """Cancel an open order, or Binance's -2011."""
        try:
            order = self.find(api_key, symbol, order_id, client_id)
        except errors.BinanceError as exc:
            if exc.code == -2013:
                raise errors.cancel_rejected() from exc
            raise
        if not order.is_open:
            raise errors.cancel_rejected()
        self._finish(order, OrderStatus.CANCELED, now_ms)
        return order

    def open_orders(self, api_key: str, symbol: str | None) -> list[Order]:
        """Open orders of an account, one symbol or all."""
        account = self.accounts.get(api_key)
        wanted = self.exchange.feed(symbol).spec.symbol if symbol else None
        return [
            o
            for o in account.orders.values()
            if o.is_open and (wanted is None or o.symbol == wanted)
        ]
