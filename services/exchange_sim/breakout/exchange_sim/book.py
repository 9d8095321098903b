"""An L2 order book with queue order inside each level, and Binance-style update ids.

Each level is a FIFO queue of chunks: simulated resting liquidity (owner 0), a simulated wall
(owner < 0, the wall's id) or one of our orders (owner > 0, the order id). Aggressive flow eats a
level from the front, so our resting order fills only after the quantity queued ahead of it: the
same rule a real matching engine applies. Every change of a level's total advances
`update_id`; `drain_diff` hands out the changed levels since the last call with the id range
(U..u) that the diff-depth stream publishes.
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass, field

SIM_OWNER = 0


@dataclass(slots=True)
class Chunk:
    """One maker's resting quantity at a level."""

    owner: int
    lots: int


@dataclass(frozen=True, slots=True)
class Fill:
    """A maker chunk (partly) taken by an aggressor: price, size, and whose liquidity it was."""

    price: int
    lots: int
    owner: int


@dataclass(frozen=True, slots=True)
class DepthDiff:
    """Changed levels between two update ids; a total of 0 removes the level."""

    first_id: int
    last_id: int
    bids: list[tuple[int, int]]
    asks: list[tuple[int, int]]


@dataclass(slots=True)
class BookSide:
    """Levels of one side, kept sorted best first (bids by descending, asks by ascending price)."""

    is_bid: bool
    queues: dict[int, deque[Chunk]] = field(default_factory=dict)
    totals: dict[int, int] = field(default_factory=dict)
    _keys: list[int] = field(default_factory=list)

    def _key(self, price: int) -> int:
        return -price if self.is_bid else price

    def best(self) -> int | None:
        """Best price of this side, or None when empty."""
        return self._key(self._keys[0]) if self._keys else None

    def prices(self, limit: int | None = None) -> list[int]:
        """Prices best first, at most `limit` of them."""
        keys = self._keys if limit is None else self._keys[:limit]
        return [self._key(k) for k in keys]

    def price_at(self, rank: int) -> int:
        """The price `rank` levels from the best (0: the best)."""
        return self._key(self._keys[rank])

    def prices_better_than(self, price: int) -> list[int]:
        """Prices strictly better than `price`, best first (reads only those levels)."""
        out: list[int] = []
        for key in self._keys:
            level = self._key(key)
            if not self.is_better(level, price):
                break
            out.append(level)
        return out

    def __len__(self) -> int:
        return len(self._keys)

    def _open(self, price: int) -> deque[Chunk]:
        queue = self.queues.get(price)
        if queue is None:
            queue = self.queues[price] = deque()
            self.totals[price] = 0
            bisect.insort(self._keys, self._key(price))
        return queue

    def _close_if_empty(self, price: int) -> None:
        if self.totals.get(price, 1) == 0:
            del self.queues[price]
            del self.totals[price]
            index = bisect.bisect_left(self._keys, self._key(price))
            del self._keys[index]

    def is_better(self, price: int, than: int) -> bool:
        """Whether `price` is better (more aggressive) for this side than `than`."""
        return price > than if self.is_bid else price < than


class OrderBook:
    """Both sides of one symbol's book and its update-id sequence."""

    def __init__(self, first_update_id: int = 1) -> None:
        self.bids = BookSide(is_bid=True)
        self.asks = BookSide(is_bid=False)
        self.update_id = first_update_id - 1
        self._changed: dict[tuple[bool, int], None] = {}
        self._pending_from: int | None = None

    def side(self, is_bid: bool) -> BookSide:
        """The bid or the ask side."""
        return self.bids if is_bid else self.asks

    def best_bid(self) -> int | None:
        """Best bid price in ticks."""
        return self.bids.best()

    def best_ask(self) -> int | None:
        """Best ask price in ticks."""
        return self.asks.best()

    def total(self, is_bid: bool, price: int) -> int:
        """Resting lots at a level (0 if none)."""
        return self.side(is_bid).totals.get(price, 0)

    def _touch(self, is_bid: bool, price: int) -> None:
        self.update_id += 1
        if self._pending_from is None:
            self._pending_from = self.update_id
        self._changed[(is_bid, price)] = None

    def skip_ids(self, count: int) -> None:
        """Advance the update id without a published change (a fault: the stream shows a gap)."""
        self.update_id += count
        self._pending_from = None
        self._changed.clear()

    def add(self, is_bid: bool, price: int, lots: int, owner: int = SIM_OWNER) -> None:
        """Queue `lots` at the back of a level. Caller guarantees the book stays uncrossed."""
        if lots <= 0:
            raise ValueError(f"cannot add {lots} lots")
        other = self.best_ask() if is_bid else self.best_bid()
        if other is not None and not self.side(is_bid).is_better(other, price):
            raise ValueError(f"adding at {price} would cross the opposite best {other}")
        side = self.side(is_bid)
        queue = side._open(price)
        if queue and queue[-1].owner == owner == SIM_OWNER:
            queue[-1].lots += lots  # anonymous liquidity merges; walls and orders keep their place
        else:
            queue.append(Chunk(owner, lots))
        side.totals[price] += lots
        self._touch(is_bid, price)

    def cancel_sim(self, is_bid: bool, price: int, lots: int) -> int:
        """Withdraw up to `lots` of anonymous liquidity from a level, newest first."""
        side = self.side(is_bid)
        queue = side.queues.get(price)
        if queue is None or lots <= 0:
            return 0
        removed = 0
        for chunk in reversed(queue):
            if chunk.owner != SIM_OWNER or removed >= lots:
                continue
            take = min(chunk.lots, lots - removed)
            chunk.lots -= take
            removed += take
        if removed:
            side.queues[price] = deque(c for c in queue if c.lots > 0)
            side.totals[price] -= removed
            side._close_if_empty(price)
            self._touch(is_bid, price)
        return removed

    def remove_owner(self, is_bid: bool, price: int, owner: int) -> int:
        """Pull every chunk of `owner` at a level (an order cancelled, a wall pulled)."""
        side = self.side(is_bid)
        queue = side.queues.get(price)
        if queue is None:
            return 0
        removed = sum(c.lots for c in queue if c.owner == owner)
        if removed:
            side.queues[price] = deque(c for c in queue if c.owner != owner)
            side.totals[price] -= removed
            side._close_if_empty(price)
            self._touch(is_bid, price)
        return removed

    def reduce_owner(self, is_bid: bool, price: int, owner: int, lots: int) -> int:
        """Take up to `lots` from `owner`'s chunks at a level (a fill outside the queue walk)."""
        side = self.side(is_bid)
        queue = side.queues.get(price)
        if queue is None or lots <= 0:
            return 0
        taken = 0
        for chunk in queue:
            if chunk.owner == owner and taken < lots:
                size = min(chunk.lots, lots - taken)
                chunk.lots -= size
                taken += size
        if taken:
            side.queues[price] = deque(c for c in queue if c.lots > 0)
            side.totals[price] -= taken
            side._close_if_empty(price)
            self._touch(is_bid, price)
        return taken

    def owned(self, is_bid: bool, price: int) -> list[Chunk]:
        """Our orders' chunks at a level (owner > 0), in queue order."""
        return [c for c in self.side(is_bid).queues.get(price, ()) if c.owner > 0]

    def lots_ahead(self, is_bid: bool, price: int, owner: int) -> int:
        """Quantity queued before `owner`'s first chunk at a level."""
        ahead = 0
        for chunk in self.side(is_bid).queues.get(price, ()):
            if chunk.owner == owner:
                return ahead
            ahead += chunk.lots
        return ahead

    def available(self, taker_buys: bool, limit_price: int | None) -> int:
        """Lots an aggressor could take up to `limit_price` (None: the whole side)."""
        side = self.asks if taker_buys else self.bids
        total = 0
        for price in side.prices():
            if limit_price is not None and side.is_better(limit_price, price):
                break
            total += side.totals[price]
        return total

    def take(self, taker_buys: bool, lots: int, limit_price: int | None = None) -> list[Fill]:
        """Aggressor eats the opposite side best first, up to `lots` and `limit_price`."""
        side = self.asks if taker_buys else self.bids
        fills: list[Fill] = []
        while lots > 0:
            price = side.best()
            if price is None or (limit_price is not None and side.is_better(limit_price, price)):
                break
            queue = side.queues[price]
            eaten = 0
            while lots > 0 and queue:
                chunk = queue[0]
                size = min(chunk.lots, lots)
                fills.append(Fill(price, size, chunk.owner))
                chunk.lots -= size
                lots -= size
                eaten += size
                if chunk.lots == 0:
                    queue.popleft()
            side.totals[price] -= eaten
            side._close_if_empty(price)
            self._touch(not taker_buys, price)
        return fills

    def levels(self, is_bid: bool, limit: int) -> list[tuple[int, int]]:
        """Top `limit` levels of a side as (price, lots), best first."""
        side = self.side(is_bid)
        return [(p, side.totals[p]) for p in side.prices(limit)]

    def drain_diff(self) -> DepthDiff | None:
        """Levels changed since the last drain, with their update-id range; None if none."""
        if self._pending_from is None:
            return None
        bids: list[tuple[int, int]] = []
        asks: list[tuple[int, int]] = []
        for is_bid, price in self._changed:
            (bids if is_bid else asks).append((price, self.total(is_bid, price)))
        diff = DepthDiff(self._pending_from, self.update_id, bids, asks)
        self._changed.clear()
        self._pending_from = None
        return diff

    def is_crossed(self) -> bool:
        """Whether the best bid reaches the best ask (never true for a sound book)."""
        bid, ask = self.best_bid(), self.best_ask()
        return bid is not None and ask is not None and bid >= ask
