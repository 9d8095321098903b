"""Replay mode: recorded trades and books drive a symbol instead of the market simulator.

Recorded time is shifted so that the first event lands at the exchange's start; when the
recording ends it plays again from the start (shifted by its length), so a long demo keeps
running with ids and times still increasing.

Our orders still trade: a marketable order takes from the replayed book like on the simulator;
a resting order fills when a recorded trade reaches it: fully where the trade went through its
price, and at the trade's own price only for the part of the trade beyond the quantity queued
ahead of it. Those fills print as extra trades next to the recorded one, which prints unchanged.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from breakout.exchange_sim.accounts import Accounts
from breakout.exchange_sim.book import Fill, OrderBook
from breakout.exchange_sim.exchange import SimExchange, SymbolFeed
from breakout.exchange_sim.klines import MINUTE_MS, Bar, KlineSeries
from breakout.exchange_sim.market import execute_on_book
from breakout.exchange_sim.recordings import (
    BookShape,
    RecordedBook,
    RecordedEvent,
    RecordedQuote,
    RecordedTrade,
    SymbolRecording,
    load_recordings,
)
from breakout.exchange_sim.specs import WIRE_DECIMALS, SymbolSpec, make_spec
from breakout.exchange_sim.tape import Print, TradeTape

LOOP_GAP_MS = 1_000


def infer_decimals(values: list[float]) -> int:
    """Fewest decimals (up to eight) that write every value exactly."""
    for decimals in range(WIRE_DECIMALS + 1):
        scale = 10.0**decimals
        if all(abs(v * scale - round(v * scale)) < 1e-6 for v in values):
            return decimals
    return WIRE_DECIMALS


def _recorded_values(recording: SymbolRecording) -> tuple[list[float], list[float]]:
    prices: list[float] = []
    sizes: list[float] = []
    for event in recording.events:
        if isinstance(event, RecordedTrade):
            prices.append(event.price)
            sizes.append(event.qty)
        elif isinstance(event, RecordedQuote):
            prices += [event.bid, event.ask]
            sizes += [event.bid_qty, event.ask_qty]
        else:
            prices += [p for p, _ in event.bids + event.asks]
            sizes += [q for _, q in event.bids + event.asks]
    return prices, sizes


def replay_spec(recording: SymbolRecording) -> SymbolSpec:
    """The listing of a replayed symbol: its usual precisions, finer if a recorded number needs."""
    prices, sizes = _recorded_values(recording)
    if not prices:
        raise ValueError(f"{recording.symbol}: the recording has no prices")
    listed = make_spec(recording.symbol)
    return dataclasses.replace(
        listed,
        price_decimals=max(listed.price_decimals, infer_decimals(prices)),
        qty_decimals=max(listed.qty_decimals, infer_decimals(sizes)),
        start_price=prices[0],
    )


class ReplayFeed:
    """One symbol driven by its recording (a SymbolFeed)."""

    def __init__(
        self,
        spec: SymbolSpec,
        recording: SymbolRecording,
        *,
        start_ms: int,
        first_ts_ms: int,
        span_ms: int,
        shape: BookShape | None,
    ) -> None:
        self.spec = spec
        self.events: list[RecordedEvent] = recording.events
        self.shape = shape
        self.quoted = any(isinstance(e, RecordedQuote | RecordedBook) for e in self.events)
        self.book = OrderBook(first_update_id=1_000_000)
        self.tape = TradeTape(first_trade_id=1_000_000, first_agg_id=500_000)
        price = spec.to_ticks(spec.start_price)
        minute = start_ms // MINUTE_MS * MINUTE_MS
        self.klines = KlineSeries(
            [Bar(open_ms=minute, open=price, high=price, low=price, close=price)]
        )
        self.now_ms = start_ms
        self.step_stride = 1  # a recording is replayed at the exchange's own step
        self.offset_ms = start_ms - first_ts_ms
        self.span_ms = span_ms
        self.index = 0
        self.loops = 0
        self._prime_book(start_ms)

    def _prime_book(self, ts_ms: int) -> None:
        """Lay the first recorded book (or quotes around the first price) before any step."""
        first_book = next((e for e in self.events if not isinstance(e, RecordedTrade)), None)
        if first_book is not None:
            self._apply(first_book, ts_ms)
            return
        price = self.spec.to_ticks(self.spec.start_price)
        self._lay_book(price - 1, price, None, None, ts_ms)

    def step(self, dt_ms: int) -> list[Print]:
        """Apply every recorded event due by the new time."""
        self.now_ms += dt_ms
        prints: list[Print] = []
        while True:
            if self.index == len(self.events):
                self.index = 0
                self.offset_ms += self.span_ms
                self.loops += 1
            event = self.events[self.index]
            ts_ms = event.ts_ms + self.offset_ms
            if ts_ms > self.now_ms:
                break
            self.index += 1
            prints += self._apply(event, ts_ms)
        self.klines.extend_to(self.now_ms)
        return prints

    def execute_taker(
        self, taker_buys: bool, lots: int, limit: int | None, ts_ms: int, taker_owner: int = 0
    ) -> list[Print]:
        """Walk the replayed book with an aggressive order (ours) and print the fills."""
        taker = (taker_buys, lots, limit)
        return execute_on_book(
            self.book, self.tape, self.klines, taker, ts_ms=ts_ms, taker_owner=taker_owner
        )

    # ---- recorded events ------------------------------------------------------------------

    def _apply(self, event: RecordedEvent, ts_ms: int) -> list[Print]:
        spec = self.spec
        if isinstance(event, RecordedTrade):
            price, lots = spec.to_ticks(event.price), spec.to_lots(event.qty)
            prints = self._fill_ours(event.taker_buys, price, lots, ts_ms)
            recorded = self.tape.record(
                [Fill(price, lots, 0)], taker_buys=event.taker_buys, ts_ms=ts_ms
            )
            self.klines.add_trade(ts_ms, price, lots, event.taker_buys)
            prints += recorded
            if not self.quoted:  # a tape alone: quote around the last trade
                bid = price - 1 if event.taker_buys else price
                prints += self._lay_book(bid, bid + 1, None, None, ts_ms)
            return prints
        if isinstance(event, RecordedQuote):
            return self._lay_book(
                spec.to_ticks(event.bid),
                spec.to_ticks(event.ask),
                spec.to_lots(event.bid_qty),
                spec.to_lots(event.ask_qty),
                ts_ms,
            )
        bids = {spec.to_ticks(p): spec.to_lots(q) for p, q in event.bids if q > 0}
        asks = {spec.to_ticks(p): spec.to_lots(q) for p, q in event.asks if q > 0}
        return self._set_book(bids, asks, ts_ms)

    def _fill_ours(self, taker_buys: bool, price: int, lots: int, ts_ms: int) -> list[Print]:
        """Our resting orders that a recorded trade reached fill first (see module doc)."""
        is_bid = not taker_buys
        side = self.book.side(is_bid)
        fills: list[Fill] = []
        budget = lots
        for level in side.prices():
            if budget <= 0 or side.is_better(price, level):
                break
            for chunk in self.book.owned(is_bid, level):
                if level == price:
                    ahead = self.book.lots_ahead(is_bid, level, chunk.owner)
                    size = min(chunk.lots, budget, max(0, lots - ahead))
                else:
                    size = min(chunk.lots, budget)
                if size > 0:
                    fills.append(Fill(level, size, chunk.owner))
                    budget -= size
        for fill in fills:
            self.book.reduce_owner(is_bid, fill.price, fill.owner, fill.lots)
        if not fills:
            return []
        prints = self.tape.record(fills, taker_buys=taker_buys, ts_ms=ts_ms)
        for printed in prints:
            self.klines.add_trade(ts_ms, printed.price, printed.lots, taker_buys)
        return prints

    def _lay_book(
        self, bid: int, ask: int, bid_lots: int | None, ask_lots: int | None, ts_ms: int
    ) -> list[Print]:
        """Recorded best bid/ask, with the recorded book's shape behind them."""
        spec = self.spec
        shape = self.shape
        scale = (shape.ref_price / spec.price_float(bid)) if shape is not None and bid > 0 else 1.0
        bids: dict[int, int] = {}
        asks: dict[int, int] = {}
        for target, touch, touch_lots, levels, sign in (
            (bids, bid, bid_lots, shape.bids if shape else [], -1),
            (asks, ask, ask_lots, shape.asks if shape else [], 1),
        ):
            if touch <= 0:
                continue
            first = levels[0][1] if levels else 1.0
            target[touch] = touch_lots or spec.to_lots(first * scale)
            for offset_bps, qty in levels:
                price = round(touch * (1 + sign * offset_bps / 1e4))
                if price > 0 and price != touch:
                    target.setdefault(price, spec.to_lots(qty * scale))
        return self._set_book(bids, asks, ts_ms)

    def _set_book(self, bids: dict[int, int], asks: dict[int, int], ts_ms: int) -> list[Print]:
        """Make the recorded (non-our) liquidity equal `bids`/`asks`, keeping our orders."""
        for is_bid, target in ((True, bids), (False, asks)):
            side = self.book.side(is_bid)
            for price in side.prices():
                if price not in target:
                    self.book.cancel_sim(is_bid, price, side.totals[price])
        prints: list[Print] = []
        for is_bid, target in ((True, bids), (False, asks)):
            for price, lots in sorted(target.items(), reverse=is_bid):
                prints += self._set_level(is_bid, price, lots, ts_ms)
        return prints

    def _set_level(self, is_bid: bool, price: int, lots: int, ts_ms: int) -> list[Print]:
        book = self.book
        ours = sum(c.lots for c in book.owned(is_bid, price))
        current = book.total(is_bid, price) - ours
        if lots < current:
            book.cancel_sim(is_bid, price, current - lots)
            return []
        if lots == current:
            return []
        prints: list[Print] = []
        extra = lots - current
        opposite = book.side(not is_bid)
        best = opposite.best()
        if best is not None and not book.side(is_bid).is_better(best, price):
            # Only our orders can still be on the other side here: the recorded liquidity
            # trades with them, as a maker posting through them would.
            prints = self.execute_taker(is_bid, extra, price, ts_ms)
            extra -= sum(p.lots for p in prints)
            best = opposite.best()
        if extra > 0 and (best is None or book.side(is_bid).is_better(best, price)):
            book.add(is_bid, price, extra)
        return prints


def load_replay(
    path: Path, *, start_ms: int, step_ms: int = 100, accounts: Accounts | None = None
) -> SimExchange:
    """An exchange replaying a folder of samples or a .jsonl export of md events.

    An export is one timeline: its symbols keep their relative timing. The samples come from
    different years, so each of their symbols starts at `start_ms` and loops on its own.
    """
    recordings = load_recordings(path)
    default_shape = next((r.shape for r in recordings if r.shape is not None), None)
    common = (
        min(r.events[0].ts_ms for r in recordings),
        max(r.events[-1].ts_ms for r in recordings),
    )
    feeds: dict[str, SymbolFeed] = {}
    for recording in recordings:
        first, last = (recording.events[0].ts_ms, recording.events[-1].ts_ms)
        if not path.is_dir():
            first, last = common
        spec = replay_spec(recording)
        feeds[spec.symbol] = ReplayFeed(
            spec,
            recording,
            start_ms=start_ms,
            first_ts_ms=first,
            span_ms=last - first + LOOP_GAP_MS,
            shape=recording.shape or default_shape,
        )
    return SimExchange(feeds, start_ms=start_ms, step_ms=step_ms, accounts=accounts)
