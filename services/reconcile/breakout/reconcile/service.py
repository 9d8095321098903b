"""The reconcile loop: read the log's orders, ask the exchange, record what the log lacks.

One pass at start (so a restart after an outage repairs at once), then every `interval_s`; a
pass that cannot reach the exchange is retried every 2 s, so the first pass after the
connection comes back reconciles at once.
Calls go through ccxt with its rate limiter on, one order at a time. Corrections go to the
order's own stream; an append that writes nothing new (the execution router recorded the same
fill a moment earlier, under the same id) records no drift either. An order whose answer
cannot be read (`MalformedAnswer`) is skipped for that pass and listed in `/health`
(`unreadable_orders`); the others and the balance are reconciled all the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import structlog

from breakout.common.events import (
    BalanceObserved,
    MarketRulesObserved,
    NewEvent,
    OrderFillReceived,
    OrderSubmitted,
    RecordedEvent,
    order_stream,
    recon_stream,
)
from breakout.common.store.port import EventFilter, EventStore
from breakout.execution.broker import (
    Broker,
    ExchangeUnavailable,
    MalformedAnswer,
    OrderView,
    temporary,
)
from breakout.reconcile.core import Found, balance_drifts, external_orders, order_corrections

log = structlog.get_logger(__name__)
PRODUCER = "reconcile"
RETRY_S = 2.0
WATCHED = EventFilter(categories=("order", "account", "market"))


class Reconciler:
    """Compares the exchange's truth with the log and records corrections."""

    def __init__(
        self, store: EventStore, broker: Broker, symbols: tuple[str, ...], interval_s: float
    ) -> None:
        self.store, self.broker, self.symbols, self.interval_s = store, broker, symbols, interval_s
        self.views: dict[str, OrderView] = {}
        self.assets: dict[str, tuple[str, str]] = {}  # symbol -> (base, quote)
        self.baseline: dict[str, Decimal] | None = None  # the first balance the log recorded
        self.baseline_id: uuid.UUID | None = None  # and its event: what a balance drift is from
        self.moved: dict[str, Decimal] = {}  # what our recorded fills moved since then
        self.cursor = 0
        self.passes = 0
        self.unreadable: dict[str, str] = {}  # order id -> why its last answer was refused
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Reconcile now, then every `interval_s`, until `stop()`."""
        while not self._stopping.is_set():
            wait_s = self.interval_s
            try:
                await self.run_once()
            except ExchangeUnavailable as exc:
                log.warning("reconcile pass failed", error=exc.error, message=exc.message)
                if temporary(exc):  # soon: the first pass that gets through is the reconcile
                    wait_s = min(self.interval_s, RETRY_S)  # on reconnect
                # (bad keys, an unreadable balance: not in 2 s either; the next pass as usual)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), wait_s)

    def stop(self) -> None:
        """Leave `run()`."""
        self._stopping.set()

    def health(self) -> dict[str, object]:
        """Liveness for `/health`."""
        return {
            "ok": not self._stopping.is_set(),
            "passes": self.passes,
            "unreadable_orders": sorted(self.unreadable),
        }

    async def run_once(self) -> int:
        """One full comparison; the number of events recorded."""
        await self._sync_log()
        written = 0
        now = int(time.time() * 1000)
        for view in list(self.views.values()):
            if view.terminal is not None:
                self.unreadable.pop(view.submitted.order_id, None)  # over: nothing to read now
                continue
            try:
                written += await self._reconcile_order(view, now)
            except MalformedAnswer as exc:
                # One order the exchange answers unreadably (the router records it as an
                # exchange error) must not keep every other order and the balance unchecked.
                self.unreadable[view.submitted.order_id] = exc.message
                log.warning(
                    "order not reconciled: its answer cannot be read",
                    order_id=view.submitted.order_id,
                    message=exc.message,
                )
            else:
                self.unreadable.pop(view.submitted.order_id, None)
        written += await self._check_balances(now)
        known = {v.submitted.order_id for v in self.views.values()}
        opened = await self.broker.open_orders(self.symbols)
        written += await self._append(
            recon_stream(self.broker.exchange),
            external_orders(known, opened, self.broker.exchange, now),
        )
        self.passes += 1
        return written

    async def _reconcile_order(self, view: OrderView, now: int) -> int:
        sub = view.submitted
        order = await self.broker.find(sub.symbol, sub.order_id)
        trades = (
            await self.broker.trades(sub.symbol, order.exchange_order_id)
            if order and order.filled
            else []
        )
        corrections, audit = order_corrections(view, order, trades, now)
        # Both are caused by the order's OrderSubmitted, as the router's records of it are.
        if await self._append(order_stream(sub.order_id), corrections, view) or (
            audit and not corrections
        ):
            return len(corrections) + await self._append(recon_stream(sub.exchange), audit, view)
        return 0

    async def _check_balances(self, now: int) -> int:
        # Only when the log is at rest: a working order's fills may be on their way.
        await self._sync_log()
        if self.baseline is None or any(v.terminal is None for v in self.views.values()):
            return 0
        balance = await self.broker.balance(self.symbols)
        expected = dict(self.baseline)
        for pair in self.assets.values():  # every asset we trade, held or not
            for asset in pair:
                expected.setdefault(asset, Decimal(0))
        for asset, change in self.moved.items():
            expected[asset] = expected.get(asset, Decimal(0)) + change
        drifts = balance_drifts(expected, balance.total, self.broker.exchange, now)
        # A balance drift is measured from the recorded balance the expectation starts at.
        cause = self.baseline_id
        return await self._append(recon_stream(self.broker.exchange), drifts, cause=cause)

    async def _sync_log(self) -> None:
        while True:
            batch = await self.store.read_all(after=self.cursor, limit=1000, filter=WATCHED)
            for event in batch:
                self._fold(event)
                self.cursor = event.position
            if len(batch) < 1000:
                return

    def _fold(self, event: RecordedEvent) -> None:
        stream, data = event.stream, event.data
        match data:
            case MarketRulesObserved(symbol=symbol, base=base, quote=quote):
                self.assets[symbol] = (base, quote)
            case BalanceObserved(total=total) if self.baseline is None:
                self.baseline, self.baseline_id = dict(total), event.event_id
            case OrderSubmitted():
                self.views.setdefault(stream.removeprefix("order-"), OrderView.of(event))
            case OrderFillReceived() if self.baseline is not None and data.symbol in self.assets:
                base, quote = self.assets[data.symbol]
                sign = 1 if data.side == "buy" else -1
                self.moved[base] = self.moved.get(base, Decimal(0)) + sign * data.qty
                self.moved[quote] = self.moved.get(quote, Decimal(0)) - sign * data.quote_qty
                self.moved[data.fee_asset] = self.moved.get(data.fee_asset, Decimal(0)) - data.fee
        order_id = stream.removeprefix("order-")
        if order_id in self.views and not isinstance(data, OrderSubmitted):
            self.views[order_id].apply(data)

    async def _append(
        self,
        stream: str,
        found: list[Found],
        view: OrderView | None = None,
        *,
        cause: uuid.UUID | None = None,
    ) -> int:
        """Append what is not stored yet (caused by `view`'s order, else by `cause`).

        Orders on the exchange that the log does not know have no recorded cause (`cause`
        None): nothing in the log led to them, which is the finding.
        """
        if not found:
            return 0
        before = await self.store.stream_version(stream)
        now = datetime.now(UTC)
        if view is not None:
            news = view.news(found, occurred_at=now, producer=PRODUCER)
        else:
            news = [
                NewEvent(
                    event_id=eid, data=e, occurred_at=now, producer=PRODUCER, causation_id=cause
                )
                for eid, e in found
            ]
        after = await self.store.append(stream, news)
        return after - before
