"""The public trade tape of one symbol: trade ids, aggregate trade ids and recent history.

A taker order that eats several maker chunks prints one trade per chunk (ids `t`), and the
consecutive prints of one taker at one price form one aggregate trade (id `a`, first/last trade
ids `f`/`l`), as Binance's `@trade` and `aggTrades` do. The tape keeps a bounded history so
REST backfills by id or by time can be answered.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from breakout.exchange_sim.book import Fill

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Print:
    """One public trade."""

    trade_id: int
    agg_id: int
    price: int
    lots: int
    ts_ms: int
    buyer_maker: bool
    maker_owner: int
    taker_owner: int


@dataclass(frozen=True, slots=True)
class AggTrade:
    """Consecutive prints of one taker at one price."""

    agg_id: int
    price: int
    lots: int
    first_trade_id: int
    last_trade_id: int
    ts_ms: int
    buyer_maker: bool


class IdWindow(Generic[T]):
    """The most recent items of an id sequence without holes, indexable by id."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: list[T] = []
        self._first_id = 0

    def append(self, item_id: int, item: T) -> None:
        """Add the next item; ids must follow each other."""
        if not self._items:
            self._first_id = item_id
        elif item_id != self._first_id + len(self._items):
            raise ValueError(
                f"id {item_id} does not follow {self._first_id + len(self._items) - 1}"
            )
        self._items.append(item)
        if len(self._items) > self.capacity + self.capacity // 4 + 1:
            # Trim in batches so appends stay O(1) amortised.
            drop = len(self._items) - self.capacity
            del self._items[:drop]
            self._first_id += drop

    def from_id(self, item_id: int, limit: int) -> list[T]:
        """Up to `limit` items starting at `item_id` (or the oldest kept, if that one is gone)."""
        start = max(0, item_id - self._first_id)
        return self._items[start : start + limit]

    def last(self, limit: int) -> list[T]:
        """The most recent `limit` items, oldest first."""
        return self._items[-limit:] if limit > 0 else []

    def items(self) -> list[T]:
        """Every kept item, oldest first (do not mutate)."""
        return self._items

    def __len__(self) -> int:
        return len(self._items)


class TradeTape:
    """Assigns ids to prints and keeps the recent trades and aggregate trades."""

    def __init__(self, *, first_trade_id: int, first_agg_id: int, capacity: int = 20_000) -> None:
        self.next_trade_id = first_trade_id
        self.next_agg_id = first_agg_id
        self.trades: IdWindow[Print] = IdWindow(capacity)
        self.aggs: IdWindow[AggTrade] = IdWindow(capacity)
        self.last_print: Print | None = None

    def record(
        self, fills: Iterable[Fill], *, taker_buys: bool, ts_ms: int, taker_owner: int = 0
    ) -> list[Print]:
        """Print the fills of one taker order; returns the new public trades."""
        prints: list[Print] = []
        for fill in fills:
            if not prints or prints[-1].price != fill.price:
                agg_id = self.next_agg_id
                self.next_agg_id += 1
            else:
                agg_id = prints[-1].agg_id
            printed = Print(
                trade_id=self.next_trade_id,
                agg_id=agg_id,
                price=fill.price,
                lots=fill.lots,
                ts_ms=ts_ms,
                buyer_maker=not taker_buys,
                maker_owner=fill.owner,
                taker_owner=taker_owner,
            )
            self.next_trade_id += 1
            self.trades.append(printed.trade_id, printed)
            prints.append(printed)
        for agg in aggregate(prints):
            self.aggs.append(agg.agg_id, agg)
        if prints:
            self.last_print = prints[-1]
        return prints

    def aggs_between(self, start_ms: int, end_ms: int, limit: int) -> list[AggTrade]:
        """Aggregate trades with `start_ms <= T <= end_ms`, oldest first, at most `limit`."""
        items = self.aggs.items()
        start = bisect.bisect_left(items, start_ms, key=lambda a: a.ts_ms)
        out: list[AggTrade] = []
        for agg in items[start:]:
            if agg.ts_ms > end_ms or len(out) >= limit:
                break
            out.append(agg)
        return out


def aggregate(prints: list[Print]) -> list[AggTrade]:
    """Aggregate trades of a run of prints (the prints of one aggregate id are consecutive)."""
    aggs: list[AggTrade] = []
    for p in prints:
        last = aggs[-1] if aggs else None
        if last is not None and last.agg_id == p.agg_id:
            aggs[-1] = AggTrade(
                last.agg_id, last.price, last.lots + p.lots, last.first_trade_id,
                p.trade_id, last.ts_ms, last.buyer_maker,
            )  # fmt: skip
        else:
            aggs.append(
                AggTrade(p.agg_id, p.price, p.lots, p.trade_id, p.trade_id, p.ts_ms, p.buyer_maker)
            )
    return aggs
