"""The public trade tape of one symbol: trade ids, aggregate trade ids and recent history.

A taker order that eats several maker chunks prints one trade per chunk (ids `t`), and the
consecutive prints of one taker at one price form one aggregate trade (id `a`, first/last trade
ids `f`/`l`), as Binance's `@trade` and `aggTrades` do. The tape keeps a bounded history so
REST backfills by id or by time can be answered: at most `capacity` trades a symbol, none older
than `keep_ms` (`--tape-capacity`, `--tape-minutes`).
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, fields
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
    """The most recent records of an id sequence without holes, indexable by id.

    Records are dataclasses of integers (and booleans) with a `ts_ms`; the window keeps at
    most `capacity` of them, none older than `keep_ms` before the newest (when given). They
    are held column by column in arrays of 64-bit integers, 8 bytes a field, and built again
    when read (REST pages of at most 1,000): a print and its aggregate trade take ~120 bytes
    kept this way, against ~330 as objects, which filled 20,000-trade tapes to ~2 GB at 300
    symbols (docs/exchange_sim.md, "Memory").
    """

    def __init__(self, kind: type[T], capacity: int, keep_ms: int | None = None) -> None:
        self.kind = kind
        self.capacity = capacity
        self.keep_ms = keep_ms
        names = [f.name for f in fields(kind)]  # type: ignore[arg-type]
        self._names = names
        self._bools = [f.type in ("bool", bool) for f in fields(kind)]  # type: ignore[arg-type]
        self._columns = [array("q") for _ in names]
        self._ts = self._columns[names.index("ts_ms")]
        self._first_id = 0

    def append(self, item_id: int, item: T) -> None:
        """Add the next record; ids must follow each other."""
        count = len(self._ts)
        if not count:
            self._first_id = item_id
        elif item_id != self._first_id + count:
            raise ValueError(f"id {item_id} does not follow {self._first_id + count - 1}")
        for name, column in zip(self._names, self._columns, strict=True):
            column.append(getattr(item, name))
        # Trim in batches (an eighth of the bound) so appends stay O(1) amortised: each cut
        # moves at most 8 records per record it drops.
        drop = count + 1 - self.capacity if count + 1 > self.capacity + self.capacity // 8 else 0
        if self.keep_ms is not None:
            cutoff = self._ts[-1] - self.keep_ms
            if self._ts[0] < cutoff - self.keep_ms // 8:
                drop = max(drop, bisect.bisect_left(self._ts, cutoff))
        if drop:
            for column in self._columns:
                del column[:drop]
            self._first_id += drop

    def _rows(self, start: int, stop: int) -> list[T]:
        rows = zip(*(column[start:stop] for column in self._columns), strict=True)
        bools = self._bools
        return [
            self.kind(*(bool(v) if b else v for v, b in zip(row, bools, strict=True)))
            for row in rows
        ]

    def from_id(self, item_id: int, limit: int) -> list[T]:
        """Up to `limit` records from `item_id` (or the oldest kept, if that one is gone)."""
        start = max(0, item_id - self._first_id)
        return self._rows(start, start + max(0, limit))

    def from_ts(self, ts_ms: int, limit: int) -> list[T]:
        """Up to `limit` records from the first one at or after `ts_ms`."""
        start = bisect.bisect_left(self._ts, ts_ms)
        return self._rows(start, start + max(0, limit))

    def last(self, limit: int) -> list[T]:
        """The most recent `limit` records, oldest first."""
        return self._rows(max(0, len(self._ts) - limit), len(self._ts)) if limit > 0 else []

    def items(self) -> list[T]:
        """Every kept record, oldest first."""
        return self._rows(0, len(self._ts))

    def __len__(self) -> int:
        return len(self._ts)


class TradeTape:
    """Assigns ids to prints and keeps the recent trades and aggregate trades."""

    def __init__(
        self,
        *,
        first_trade_id: int,
        first_agg_id: int,
        capacity: int = 20_000,
        keep_ms: int | None = None,
    ) -> None:
        self.next_trade_id = first_trade_id
        self.next_agg_id = first_agg_id
        self.trades = IdWindow(Print, capacity, keep_ms)
        self.aggs = IdWindow(AggTrade, capacity, keep_ms)
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
        return [agg for agg in self.aggs.from_ts(start_ms, limit) if agg.ts_ms <= end_ms]


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
