"""The paper broker: fills our orders against the live book from the bus, on a paper account.

- Books: every `md.book` snapshot of the traded symbols (published by the relay from what the
  ingest service recorded); an order placed before any book is seen is refused (fail closed).
- Matching (`paper_matching`): takers walk the book's depth up to their limit (partial fills;
  the IOC or market rest expires), resting limits fill when a later book crosses them, stop-limits
  wait for their trigger; fees at the market's taker/maker rates, charged like Binance spot.
- Latency: each placement waits `paper_latency_ms` before matching, as a round trip would.
- The paper account is a projection of the log: on start it is rebuilt from the recorded fills
  of our orders (from `paper_balances`), so a restart neither forgets nor repeats a paper trade.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

import msgspec
import structlog

from breakout.common.bus.port import Bus
from breakout.common.clock import Clock, LiveClock
from breakout.common.events import (
    BalanceObserved,
    BookSnapshot,
    MarketRulesObserved,
    OrderFillReceived,
    OrderSubmitted,
    decode_wire,
)
from breakout.common.store.port import EventFilter, EventStore
from breakout.execution.broker import (
    ExchangeOrder,
    ExchangeTrade,
    OrderRefused,
    OrderStatus,
    OrderView,
    at_start,
)
from breakout.execution.paper_matching import PaperFill, crosses, triggered, walk

log = structlog.get_logger(__name__)
ZERO = Decimal(0)
ORDERS = EventFilter(categories=("order",))


class RulesSource(Protocol):
    """Where the real market's rules come from (the live broker's public market list)."""

    async def market_rules(self, symbols: Sequence[str]) -> list[MarketRulesObserved]:
        """Step, tick and minimums of each market."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


@dataclass
class PaperOrder:
    """One paper order and its fills."""

    sub: OrderSubmitted
    exchange_order_id: str
    status: OrderStatus = "open"
    filled: Decimal = ZERO
    trades: list[ExchangeTrade] = field(default_factory=list)
    armed: bool = True  # a stop-limit is not working until triggered
    ts_ms: int = 0

    def view(self) -> ExchangeOrder:
        """As an exchange would report it."""
        sub = self.sub
        return ExchangeOrder(
            exchange_order_id=self.exchange_order_id,
            client_order_id=sub.order_id,
            symbol=sub.symbol,
            side=sub.side,
            order_type=sub.order_type,
            status=self.status,
            qty=sub.qty,
            filled=self.filled,
            price=sub.price,
            ts_ms=self.ts_ms,
        )


class PaperBroker:
    """A `Broker` that trades on paper against the books on the bus."""

    def __init__(
        self,
        rules_source: RulesSource,
        store: EventStore,
        bus: Bus | None,
        symbols: Sequence[str],
        *,
        exchange: str,
        balances: dict[str, Decimal],
        latency_ms: float = 50.0,
        clock: Clock | None = None,
    ) -> None:
        # `bus` None: the owner feeds `on_book` itself (a backtest); `clock` stamps the fills
        # (a simulated clock in a backtest, so its fills carry market time).
        self.rules_source, self.store, self.bus = rules_source, store, bus
        self.clock = clock or LiveClock()
        self.symbols, self.exchange, self.latency_s = list(symbols), exchange, latency_ms / 1000
        self.balances = dict(balances)
        self.orders: dict[str, PaperOrder] = {}
        self.books: dict[str, BookSnapshot] = {}
        self.consumed: dict[str, dict[Decimal, Decimal]] = {}
        self.rules: dict[str, MarketRulesObserved] = {}
        self._next_id = 1
        self._stopping = asyncio.Event()

    # -- lifecycle: rebuild from the log, then follow the books ------------------------------

    async def run(self) -> None:
        """Follow book snapshots of the traded symbols until `stop()`."""
        await at_start(lambda: self.market_rules(self.symbols), "market rules")
        await self.recover()
        feeds = [asyncio.create_task(self._follow(symbol)) for symbol in self.symbols]
        await self._stopping.wait()
        for feed in feeds:
            feed.cancel()
        for feed in feeds:
            with contextlib.suppress(asyncio.CancelledError):
                await feed

    def stop(self) -> None:
        """Stop following the books."""
        self._stopping.set()

    async def recover(self) -> None:
        """Rebuild paper orders and balances from what the log recorded of them."""
        views: dict[str, OrderView] = {}
        fills: list[OrderFillReceived] = []
        cursor = 0
        while True:
            batch = await self.store.read_all(after=cursor, limit=1000, filter=ORDERS)
            for event in batch:
                order_id = event.stream.removeprefix("order-")
                if isinstance(event.data, OrderSubmitted):
                    views.setdefault(order_id, OrderView(submitted=event.data))
                elif order_id in views:
                    views[order_id].apply(event.data)
                    if isinstance(event.data, OrderFillReceived):
                        fills.append(event.data)
                cursor = event.position
            if len(batch) < 1000:
                break
        for order_id, view in views.items():
            if view.exchange_order_id is None:
                continue  # it never reached the paper exchange, which lived in this process
            self.orders[order_id] = PaperOrder(
                sub=view.submitted,
                exchange_order_id=view.exchange_order_id,
                status=_status(view.terminal),
            )
            self._next_id = max(self._next_id, int(view.exchange_order_id) + 1)
        for fill in fills:
            if fill.order_id in self.orders:
                self._account(
                    self.orders[fill.order_id], fill.qty, fill.price, fill.fee, fill.fee_asset
                )
                self.orders[fill.order_id].trades.append(
                    ExchangeTrade(
                        trade_id=fill.trade_id,
                        exchange_order_id=self.orders[fill.order_id].exchange_order_id,
                        side=fill.side,
                        qty=fill.qty,
                        price=fill.price,
                        fee=fill.fee,
                        fee_asset=fill.fee_asset,
                        liquidity=fill.liquidity,
                        ts_ms=fill.ts_ms,
                    )
                )

    async def _follow(self, symbol: str) -> None:
        if self.bus is None:
            raise RuntimeError("PaperBroker.run() needs a bus to follow the books")
        async for message in self.bus.subscribe(f"md.book.*.{symbol}"):
            event = decode_wire(message.data).decode().data
            if isinstance(event, BookSnapshot):
                self.on_book(event)

    def on_book(self, book: BookSnapshot) -> None:
        """A new snapshot: fresh liquidity, and resting orders may now fill."""
        self.books[book.symbol] = book
        self.consumed[book.symbol] = {}
        for order in list(self.orders.values()):
            if order.status != "open" or order.sub.symbol != book.symbol:
                continue
            sub = order.sub
            if sub.order_type == "stop_limit" and order.armed and sub.stop_price is not None:
                if not triggered(book, sub.side, sub.stop_price):
                    continue
                order.armed = False  # triggered: a plain limit from now on
            if sub.price is not None and crosses(book, sub.side, sub.price):
                self._take(order, book, maker=True)

    # -- the Broker port ----------------------------------------------------------------------

    async def find(self, symbol: str, client_order_id: str) -> ExchangeOrder | None:
        """The paper order with this client id."""
        order = self.orders.get(client_order_id)
        return order.view() if order else None

    async def place(self, order: OrderSubmitted) -> ExchangeOrder:
        """Match after the simulated latency; refuse without a book or funds."""
        await asyncio.sleep(self.latency_s)
        book = self.books.get(order.symbol)
        if book is None:
            raise OrderRefused("NoBook", f"no book seen for {order.symbol}: paper refuses to guess")
        self._check_funds(order, book)
        paper = PaperOrder(sub=order, exchange_order_id=str(self._next_id), ts_ms=self._now_ms())
        self._next_id += 1
        self.orders[order.order_id] = paper
        if order.order_type == "stop_limit" and order.stop_price is not None:
            if not triggered(book, order.side, order.stop_price):
                return paper.view()  # waits for its trigger (checked on every book)
            paper.armed = False
        self._take(paper, book, maker=False)
        if paper.status == "open" and (
            order.order_type == "market" or order.time_in_force == "IOC"
        ):
            paper.status = "expired"
        return paper.view()

    async def cancel(self, symbol: str, client_order_id: str) -> ExchangeOrder | None:
        """Cancel if still open."""
        order = self.orders.get(client_order_id)
        if order is None:
            return None
        if order.status == "open":
            order.status = "canceled"
        return order.view()

    async def trades(self, symbol: str, exchange_order_id: str) -> list[ExchangeTrade]:
        """The paper fills of one order."""
        for order in self.orders.values():
            if order.exchange_order_id == exchange_order_id:
                return list(order.trades)
        return []

    async def open_orders(self, symbols: Sequence[str]) -> list[ExchangeOrder]:
        """Open paper orders."""
        return [
            o.view() for o in self.orders.values() if o.status == "open" and o.sub.symbol in symbols
        ]

    async def balance(self, symbols: Sequence[str]) -> BalanceObserved:
        """The paper account, valued at the books' mids."""
        quote = self.rules[symbols[0]].quote if symbols and symbols[0] in self.rules else "USDT"
        equity = self.balances.get(quote, ZERO)
        for symbol in symbols:
            rules, book = self.rules.get(symbol), self.books.get(symbol)
            if rules and book and book.bids and book.asks:
                mid = (Decimal(repr(book.bids[0][0])) + Decimal(repr(book.asks[0][0]))) / 2
                equity += self.balances.get(rules.base, ZERO) * mid
        held = {k: v for k, v in self.balances.items() if v}
        return BalanceObserved(
            exchange=self.exchange,
            quote=quote,
            free=held,
            total=held,
            equity_quote=equity,
            ts_ms=self._now_ms(),
        )

    async def market_rules(self, symbols: Sequence[str]) -> list[MarketRulesObserved]:
        """The real market's rules (public data), so paper orders obey them too."""
        if not self.rules:
            for rules in await self.rules_source.market_rules(symbols):
                self.rules[rules.symbol] = msgspec.structs.replace(rules, exchange=self.exchange)
        return [self.rules[s] for s in symbols if s in self.rules]

    async def close(self) -> None:
        """Close the rules source."""
        await self.rules_source.close()

    # -- matching and accounting ------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    def _check_funds(self, order: OrderSubmitted, book: BookSnapshot) -> None:
        rules = self.rules.get(order.symbol)
        if rules is None:
            raise OrderRefused("BadSymbol", f"no market rules for {order.symbol}")
        if order.side == "buy":
            top = Decimal(repr(book.asks[0][0])) if book.asks else ZERO
            need = order.qty * (order.price or top)
            have = self.balances.get(rules.quote, ZERO)
        else:
            need, have = order.qty, self.balances.get(rules.base, ZERO)
        if need > have:
            raise OrderRefused("InsufficientFunds", f"needs {need}, has {have}")

    def _take(self, order: PaperOrder, book: BookSnapshot, *, maker: bool) -> None:
        sub = order.sub
        limit = None if sub.order_type == "market" else sub.price
        fills = walk(
            book, sub.side, sub.qty - order.filled, limit, self.consumed.setdefault(sub.symbol, {})
        )
        for fill in fills:
            self.book_fill(order, fill, maker=maker, ts_ms=self._now_ms())
        if order.filled >= sub.qty:
            order.status = "closed"

    def book_fill(self, order: PaperOrder, fill: PaperFill, *, maker: bool, ts_ms: int) -> None:
        """Move the paper balances for one fill and keep it as the order's trade."""
        rules = self.rules[order.sub.symbol]
        rate = rules.maker_fee if maker else rules.taker_fee
        if order.sub.side == "buy":
            fee, fee_asset = fill.qty * rate, rules.base
        else:
            fee, fee_asset = fill.qty * fill.price * rate, rules.quote
        self._account(order, fill.qty, fill.price, fee, fee_asset)
        order.ts_ms = ts_ms
        order.trades.append(
            ExchangeTrade(
                trade_id=f"p{order.exchange_order_id}-{len(order.trades) + 1}",
                exchange_order_id=order.exchange_order_id,
                side=order.sub.side,
                qty=fill.qty,
                price=fill.price,
                fee=fee,
                fee_asset=fee_asset,
                liquidity="maker" if maker else "taker",
                ts_ms=ts_ms,
            )
        )

    def _account(
        self, order: PaperOrder, qty: Decimal, price: Decimal, fee: Decimal, fee_asset: str
    ) -> None:
        rules = self.rules.get(order.sub.symbol)
        base = rules.base if rules else order.sub.symbol.removesuffix("USDT")
        quote = rules.quote if rules else "USDT"
        sign = 1 if order.sub.side == "buy" else -1
        self.balances[base] = self.balances.get(base, ZERO) + sign * qty
        self.balances[quote] = self.balances.get(quote, ZERO) - sign * qty * price
        self.balances[fee_asset] = self.balances.get(fee_asset, ZERO) - fee
        order.filled += qty


def _status(terminal: str | None) -> OrderStatus:
    return {
        "filled": "closed",
        "cancelled": "canceled",
        "expired": "expired",
        "rejected": "rejected",
    }.get(terminal or "", "open")  # type: ignore[return-value]
