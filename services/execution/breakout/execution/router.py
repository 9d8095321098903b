"""The order router: places, cancels and watches the orders the execution core decided on.

It follows the `order-*` streams of the store. An `OrderSubmitted` is already recorded when the
router first sees it (decision before action); the router then asks the exchange for that
client order id BEFORE placing, so an order placed by an earlier life of this process (killed
between the exchange call and recording the answer) is found, not placed twice. What the
exchange answers is appended to the order's stream with ids derived from the exchange's facts
(`broker.outcome_events`). The full protocol and its crash windows are in docs/execution.md.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import structlog

from breakout.common.clock import Clock
from breakout.common.events import (
    BalanceObserved,
    Event,
    ExchangeErrorOccurred,
    ExchangeRecovered,
    NewEvent,
    OrderCancelled,
    OrderRejected,
    OrderSubmitted,
    RecordedEvent,
    account_stream,
    broker_stream,
    market_stream,
    order_stream,
)
from breakout.common.ids import external_event_id
from breakout.common.store.port import EventFilter, EventStore
from breakout.execution.broker import (
    Broker,
    ExchangeOrder,
    ExchangeUnavailable,
    OrderRefused,
    OrderView,
    at_start,
    outcome_events,
)

log = structlog.get_logger(__name__)
PRODUCER = "execution-router"
ORDERS = EventFilter(categories=("order",))
# Risk times an outage from these (its disconnect kill switch): each one is recorded.
OUTAGE_KINDS = frozenset({"network", "rate_limited"})


class OrderRouter:
    """Carries the core's order decisions to a broker and records what comes back."""

    def __init__(
        self,
        store: EventStore,
        broker: Broker,
        symbols: Sequence[str],
        *,
        poll_s: float = 0.5,
        balance_every_s: float = 10.0,
        recv_window_s: float = 5.0,
        error_repeat_s: float = 60.0,
        clock: Clock | None = None,
    ) -> None:
        self.store, self.broker, self.symbols = store, broker, list(symbols)
        # Live: the wall clock (and the monotonic clock for waits). A backtest passes its
        # simulated clock, so holds, balance cadence and recorded times follow market time.
        self.clock = clock
        self.poll_s, self.balance_every_s = poll_s, balance_every_s
        # An order request older than the exchange's recvWindow is refused by the exchange, so
        # waiting that long (plus a margin) after an unknown outcome settles whether it landed.
        self.settle_s = recv_window_s + 1.0
        self.views: dict[str, OrderView] = {}
        self.cursor = 0
        self.hold_until: dict[str, float] = {}
        self.cancel_sent: set[str] = set()
        self.errors = 0
        # Any other error the same call keeps getting (an answer that stays malformed) is
        # recorded once per `error_repeat_s`, not on every pass: (monotonic time, repeats since).
        self.error_repeat_s = error_repeat_s
        self._repeating: dict[tuple[str, ...], tuple[float, int]] = {}
        self._last_balance: BalanceObserved | None = None
        self._next_balance = 0.0
        self._stopping = asyncio.Event()

    # -- lifecycle --------------------------------------------------------------------------

    async def run(self) -> None:
        """Record market rules, then route orders until `stop()`."""
        await at_start(self.record_rules, "market rules")
        await self.sync_log()
        # Orders without an answer at start may have been sent by a previous life just before
        # it died: give such a request time to land (or be refused as stale) before placing.
        for order_id, view in self.views.items():
            if view.terminal is None and view.exchange_order_id is None:
                self.hold_until[order_id] = 0.0  # look first; hold only if not found
        while not self._stopping.is_set():
            await self.step()
            await self.store.wait_for_append(self.poll_s)

    def stop(self) -> None:
        """Leave `run()` after the current step."""
        self._stopping.set()

    def health(self) -> dict[str, object]:
        """Liveness for `/health`."""
        working = sum(1 for v in self.views.values() if v.terminal is None)
        return {"ok": not self._stopping.is_set(), "working_orders": working, "errors": self.errors}

    async def step(self) -> None:
        """One pass: read the log, act on every order that needs it, refresh the balance."""
        await self.sync_log()
        for view in list(self.views.values()):
            if view.terminal is None:
                await self._guarded(self._work, view)
        if self._monotonic() >= self._next_balance:
            await self._guarded(self.record_balance)

    async def _guarded(self, action: Callable[..., Awaitable[None]], *args: Any) -> None:
        try:
            await action(*args)
        except ExchangeUnavailable as exc:
            # An error while working an order is caused by that order's OrderSubmitted.
            view = next((a for a in args if isinstance(a, OrderView)), None)
            await self._record_error(action.__name__, exc, view)
            return
        if self.errors:
            recovered = ExchangeRecovered(
                exchange=self.broker.exchange, errors=self.errors, ts_ms=self._now_ms()
            )
            await self._append(broker_stream(self.broker.exchange), recovered, uuid.uuid4())
            self.errors = 0

    def _monotonic(self) -> float:
        return time.monotonic() if self.clock is None else self.clock.now().timestamp()

    def _now(self) -> datetime:
        return datetime.now(UTC) if self.clock is None else self.clock.now()

    def _now_ms(self) -> int:
        return int(self._now().timestamp() * 1000)

    # -- the log ------------------------------------------------------------------------------

    async def sync_log(self) -> None:
        """Fold every order event recorded since the last call."""
        while True:
            batch = await self.store.read_all(after=self.cursor, limit=1000, filter=ORDERS)
            for event in batch:
                self._apply(event)
                self.cursor = event.position
            if len(batch) < 1000:
                return

    def _apply(self, event: RecordedEvent) -> None:
        order_id = event.stream.removeprefix("order-")
        if isinstance(event.data, OrderSubmitted):
            self.views.setdefault(order_id, OrderView.of(event))
        elif order_id in self.views:
            self.views[order_id].apply(event.data)

    async def _append(self, stream: str, event: Event, event_id: uuid.UUID) -> None:
        # Observations on the router's own schedule (rules, balances, recovery) have no cause.
        new = NewEvent(event_id=event_id, data=event, occurred_at=self._now(), producer=PRODUCER)
        await self.store.append(stream, [new])

    async def _record(self, view: OrderView, events: list[tuple[uuid.UUID, Event]]) -> None:
        if not events:
            return
        stream = order_stream(view.submitted.order_id)
        news = view.news(events, occurred_at=self._now(), producer=PRODUCER)
        await self.store.append(stream, news)  # ids already stored are skipped by the store
        for _, event in events:
            view.apply(event)
        if view.terminal is not None:
            self._next_balance = 0.0  # money moved: tell risk the new balance soon

    # -- one order ----------------------------------------------------------------------------

    async def _work(self, view: OrderView) -> None:
        sub = view.submitted
        if view.exchange_order_id is None:
            await self._place(view)
        elif view.cancel_requested and sub.order_id not in self.cancel_sent:
            self.cancel_sent.add(sub.order_id)
            ended = await self.broker.cancel(sub.symbol, sub.order_id)
            if ended is not None:
                await self._observe(view, ended)
        else:
            found = await self.broker.find(sub.symbol, sub.order_id)
            if found is not None:
                await self._observe(view, found)

    async def _observe(self, view: OrderView, order: ExchangeOrder) -> None:
        trades = (
            await self.broker.trades(view.submitted.symbol, order.exchange_order_id)
            if order.filled
            else []
        )
        await self._record(view, outcome_events(view, order, trades))

    async def _place(self, view: OrderView) -> None:
        sub = view.submitted
        hold = self.hold_until.get(sub.order_id)
        if hold is not None and self._monotonic() < hold:
            return
        found = await self.broker.find(sub.symbol, sub.order_id)
        if found is not None:  # placed before (an earlier life, or an unknown outcome)
            await self._observe(view, found)
            return
        if hold == 0.0:  # not found at start: it may still be on its way; look again later
            self.hold_until[sub.order_id] = self._monotonic() + self.settle_s
            return
        if view.cancel_requested:  # never placed and no longer wanted
            cancelled = OrderCancelled(
                order_id=sub.order_id,
                exchange=sub.exchange,
                symbol=sub.symbol,
                filled_qty=Decimal(0),
                reason="cancelled before it was placed",
                ts_ms=self._now_ms(),
            )
            await self._record(view, [(_end_id(sub), cancelled)])
            return
        started = time.perf_counter()
        try:
            placed = await self.broker.place(sub)
        except OrderRefused as refused:
            if "Duplicate" in refused.message:  # it exists after all: find it on the next pass
                self.hold_until[sub.order_id] = 0.0
                return
            await self._record(
                view,
                [(_end_id(sub), _rejected(sub, refused.error, refused.message, self._now_ms()))],
            )
            return
        except ExchangeUnavailable:
            self.hold_until[sub.order_id] = self._monotonic() + self.settle_s
            raise
        latency_ms = (time.perf_counter() - started) * 1000
        trades = (
            await self.broker.trades(sub.symbol, placed.exchange_order_id) if placed.filled else []
        )
        await self._record(view, outcome_events(view, placed, trades, latency_ms=latency_ms))

    # -- account ------------------------------------------------------------------------------

    async def record_rules(self) -> None:
        """Record each market's rules (once per distinct set of values)."""
        for rules in await self.broker.market_rules(self.symbols):
            key = (rules.tick_size, rules.step_size, rules.min_qty, rules.min_notional)
            eid = external_event_id(rules.exchange, "rules", rules.symbol, *map(str, key))
            await self._append(market_stream(rules.exchange, rules.symbol), rules, eid)

    async def record_balance(self) -> None:
        """Record the account's balance when it changed."""
        self._next_balance = self._monotonic() + self.balance_every_s
        balance = await self.broker.balance(self.symbols)
        last = self._last_balance
        if last is not None and (last.free, last.total) == (balance.free, balance.total):
            return
        self._last_balance = balance
        eid = external_event_id(balance.exchange, "balance", balance.ts_ms)
        await self._append(account_stream(balance.exchange), balance, eid)

    async def _record_error(
        self, operation: str, exc: ExchangeUnavailable, view: OrderView | None
    ) -> None:
        order_id = view.submitted.order_id if view is not None else ""
        key = (operation, order_id, exc.kind, exc.error, exc.message)
        now = self._monotonic()
        since, repeats = self._repeating.get(key, (-self.error_repeat_s, 0))
        if exc.kind not in OUTAGE_KINDS and now - since < self.error_repeat_s:
            self._repeating[key] = (since, repeats + 1)
            return
        self._repeating = {
            k: v for k, v in self._repeating.items() if now - v[0] < self.error_repeat_s
        }
        self._repeating[key] = (now, 0)
        self.errors += 1
        log.warning(
            "exchange call failed",
            operation=operation,
            order_id=order_id or None,
            error=exc.error,
            kind=exc.kind,
            message=exc.message,
            repeats=repeats,
        )
        error = ExchangeErrorOccurred(
            exchange=self.broker.exchange,
            kind=exc.kind,
            operation=operation,
            error=exc.error,
            message=exc.message,
            repeats=repeats,
            ts_ms=self._now_ms(),
        )
        if view is None:
            await self._append(broker_stream(self.broker.exchange), error, uuid.uuid4())
        else:
            news = view.news([(uuid.uuid4(), error)], occurred_at=self._now(), producer=PRODUCER)
            await self.store.append(broker_stream(self.broker.exchange), news)


def _end_id(sub: OrderSubmitted) -> uuid.UUID:
    return external_event_id(sub.exchange, sub.order_id, "end")


def _rejected(sub: OrderSubmitted, error: str, message: str, ts_ms: int) -> OrderRejected:
    return OrderRejected(
        order_id=sub.order_id,
        exchange=sub.exchange,
        symbol=sub.symbol,
        error=error,
        message=message,
        ts_ms=ts_ms,
    )
