"""Density detector: liquidity walls in the book, and whether they get eaten or pulled.

Each snapshot's levels are summed into buckets `bucket_ticks` ticks wide (per side). The
reference size is the median over the lookback of each snapshot's median bucket size, so one
thin or thick snapshot does not move it. A bucket holding at least `k_density` x the
reference is a wall (`DensityDetected`).

A tracked wall is followed bucket by bucket. When it shrinks between two snapshots, the
trades printed in its bucket against it (taker sells into a bid wall, taker buys into an ask
wall) explain part of the decrease: that part is eaten, the rest was pulled (cancelled).
`eaten_ratio = 1 - remaining / initial`. A `DensityEaten` is recorded each time the ratio
passes another `eaten_report_step` on a decrease that trades explain at least half of; the
wall is removed when less than `remove_below_ratio` of it is left (`DensityRemoved`, its cause
being whatever explained that last decrease) or when its bucket has left the snapshot.

Hysteresis, as a trader reads walls (each a `DensityConfig` field): a bucket is a wall only
once it has held the threshold for `min_standing_s` (a size one snapshot shows and the next
does not is a level being requoted, not a wall), and not within the deepest
`edge_margin_buckets` of its side (the snapshot's depth cuts the last bucket, and the price
moves it out of view first). A wall whose bucket is at or beyond the deepest bucket is not
fully seen: it is held as it was, and removed as `out_of_view` only after
`out_of_view_grace_s` out of view. A bucket whose wall was removed is not detected again for
`redetect_cooldown_s`.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections import deque

import msgspec

from breakout.common.events import BookSnapshot, Event, MarketTrade
from breakout.common.events.feat import (
    BookSide,
    DensityDetected,
    DensityEaten,
    DensityRemoved,
    WallRemovalCause,
)
from breakout.common.events.md import Level
from breakout.features.book import TickSize
from breakout.features.config import DensityConfig

# bucket index -> (qty, usd)
Buckets = dict[int, tuple[float, float]]
_EPS = 1e-9


class Wall(msgspec.Struct, kw_only=True):
    """One tracked wall."""

    wall_id: str
    side: BookSide
    bucket: int
    price_low: float
    price_high: float
    detected_ts_ms: int
    initial_qty: float
    last_qty: float
    traded_since_snapshot: float = 0.0
    traded_qty: float = 0.0
    pulled_qty: float = 0.0
    reported_steps: int = 0
    # When its bucket was last seen leave full view (0: in view).
    hidden_since_ms: int = 0

    @property
    def eaten_ratio(self) -> float:
        """1 - remaining / initial, within [0, 1]."""
        return min(1.0, max(0.0, 1.0 - self.last_qty / self.initial_qty))


class DensityState(msgspec.Struct, kw_only=True):
    """What a snapshot keeps of a symbol's detector."""

    walls: list[Wall]
    medians: list[tuple[int, float]]
    # (side, bucket, ts_ms): buckets standing above the threshold since ts_ms, not walls yet;
    # buckets whose wall was removed at ts_ms.
    candidates: list[tuple[BookSide, int, int]] = msgspec.field(default_factory=list)
    cooldowns: list[tuple[BookSide, int, int]] = msgspec.field(default_factory=list)


def bucketize(levels: list[Level], tick: TickSize, bucket_ticks: int) -> Buckets:
    """Sum a side's levels into buckets of `bucket_ticks` ticks: index -> (qty, usd)."""
    buckets: Buckets = {}
    size = tick.tick  # the same arithmetic as `TickSize.ticks`, inlined: this loop is hot
    for price, qty in levels:
        index = round(price / size) // bucket_ticks
        held = buckets.get(index)
        if held is None:
            buckets[index] = (qty, price * qty)
        else:
            buckets[index] = (held[0] + qty, held[1] + price * qty)
    return buckets


class DensityDetector:
    """Walls of one symbol's book."""

    def __init__(self, config: DensityConfig, exchange: str, symbol: str) -> None:
        self.config = config
        self.exchange = exchange
        self.symbol = symbol
        self.walls: dict[tuple[BookSide, int], Wall] = {}
        self._candidates: dict[tuple[BookSide, int], int] = {}
        self._cooldowns: dict[tuple[BookSide, int], int] = {}
        self._medians: deque[tuple[int, float]] = deque()
        self._sorted_medians: list[float] = []
        self._tick: TickSize | None = None

    @property
    def reference_qty(self) -> float | None:
        """Median of the per-snapshot median bucket sizes over the lookback."""
        return statistics.median(self._sorted_medians) if self._sorted_medians else None

    def on_trade(self, trade: MarketTrade) -> None:
        """Attribute a trade to the wall it hit, if any."""
        if not self.walls or self._tick is None:
            return
        bucket = self._tick.ticks(trade.price) // self.config.bucket_ticks
        side: BookSide = "bid" if trade.side == "sell" else "ask"
        wall = self.walls.get((side, bucket))
        if wall is not None:
            wall.traded_since_snapshot += trade.qty

    def on_book(self, book: BookSnapshot, tick: TickSize) -> list[Event]:
        """Follow the walls through a validated snapshot; return what changed."""
        self._tick = tick
        if not book.bids or not book.asks:
            return []
        width = self.config.bucket_ticks
        sides = {"bid": bucketize(book.bids, tick, width), "ask": bucketize(book.asks, tick, width)}
        self._remember_median(book.exchange_ts_ms, sides)
        visible = {
            "bid": tick.ticks(book.bids[-1][0]) // width,
            "ask": tick.ticks(book.asks[-1][0]) // width,
        }
        events = self._follow(book.exchange_ts_ms, sides, visible)
        mid = (book.bids[0][0] + book.asks[0][0]) / 2
        return events + self._detect(book.exchange_ts_ms, sides, visible, mid, tick)

    def _remember_median(self, ts_ms: int, sides: dict[str, Buckets]) -> None:
        sizes = [qty for buckets in sides.values() for qty, _ in buckets.values()]
        median = statistics.median(sizes)
        self._medians.append((ts_ms, median))
        bisect.insort(self._sorted_medians, median)
        cutoff = ts_ms - self.config.lookback_window_s * 1000
        while self._medians[0][0] <= cutoff:
            _, old = self._medians.popleft()
            del self._sorted_medians[bisect.bisect_left(self._sorted_medians, old)]

    def _follow(
        self, ts_ms: int, sides: dict[str, Buckets], visible: dict[str, int]
    ) -> list[Event]:
        events: list[Event] = []
        grace_ms = self.config.out_of_view_grace_s * 1000
        for key, wall in list(self.walls.items()):
            side, bucket = key
            # Bids at or beyond the deepest visible bucket lie at or below it, asks above it;
            # that bucket itself is cut by the snapshot's depth, so it is not fully in view.
            hidden = bucket <= visible[side] if side == "bid" else bucket >= visible[side]
            if hidden:
                wall.hidden_since_ms = wall.hidden_since_ms or ts_ms
                if ts_ms - wall.hidden_since_ms >= grace_ms:
                    del self.walls[key]
                    self._cooldowns[key] = ts_ms
                    events.append(self._removed(ts_ms, wall, "out_of_view"))
                continue  # held as it was: what is not seen did not shrink
            wall.hidden_since_ms = 0
            events.extend(self._update(ts_ms, wall, sides[side].get(bucket, (0.0, 0.0))[0]))
        return events

    def _update(self, ts_ms: int, wall: Wall, qty: float) -> list[Event]:
        decrease = wall.last_qty - qty
        traded = wall.traded_since_snapshot
        wall.traded_since_snapshot = 0.0
        if decrease <= 0:
            wall.last_qty = qty
            return []
        eaten = min(decrease, traded)
        pulled = decrease - eaten
        wall.traded_qty += eaten
        wall.pulled_qty += pulled
        wall.last_qty = qty
        events: list[Event] = []
        steps = math.floor(wall.eaten_ratio / self.config.eaten_report_step + _EPS)
        if eaten >= pulled and steps > wall.reported_steps:
            wall.reported_steps = steps
            events.append(self._eaten(ts_ms, wall))
        if qty < self.config.remove_below_ratio * wall.initial_qty or qty <= 0:
            del self.walls[(wall.side, wall.bucket)]
            self._cooldowns[(wall.side, wall.bucket)] = ts_ms
            events.append(self._removed(ts_ms, wall, "eaten" if eaten >= pulled else "pulled"))
        return events

    def _detect(
        self,
        ts_ms: int,
        sides: dict[str, Buckets],
        visible: dict[str, int],
        mid: float,
        tick: TickSize,
    ) -> list[Event]:
        reference = self.reference_qty
        if not reference:
            return []
        config = self.config
        threshold = config.k_density * reference
        width, margin = config.bucket_ticks, config.edge_margin_buckets
        standing_ms = config.min_standing_s * 1000
        cooldown_ms = config.redetect_cooldown_s * 1000
        self._cooldowns = {k: t for k, t in self._cooldowns.items() if ts_ms - t < cooldown_ms}
        candidates, self._candidates = self._candidates, {}
        events: list[Event] = []
        side: BookSide
        for side in ("bid", "ask"):
            # Inside the margin: bids above the deepest buckets, asks below them.
            inner = visible[side] + margin if side == "bid" else visible[side] - margin
            # Nearest the mid first, so the order of events is the order a trader reads them.
            for bucket in sorted(sides[side], reverse=side == "bid"):
                qty, usd = sides[side][bucket]
                key = (side, bucket)
                if qty < threshold or key in self.walls or key in self._cooldowns:
                    continue
                if bucket < inner if side == "bid" else bucket > inner:
                    continue
                since = self._candidates[key] = candidates.get(key, ts_ms)
                if ts_ms - since < standing_ms:
                    continue
                del self._candidates[key]
                low, high = tick.price(bucket * width), tick.price((bucket + 1) * width - 1)
                wall = Wall(
                    wall_id=f"{side}:{low!r}:{ts_ms}",
                    side=side,
                    bucket=bucket,
                    price_low=low,
                    price_high=high,
                    detected_ts_ms=ts_ms,
                    initial_qty=qty,
                    last_qty=qty,
                )
                self.walls[key] = wall
                events.append(self._detected(ts_ms, wall, usd, reference, mid))
        return events

    # -- events ---------------------------------------------------------------------------

    def _detected(
        self, ts_ms: int, wall: Wall, usd: float, reference: float, mid: float
    ) -> DensityDetected:
        near = wall.price_high if wall.side == "bid" else wall.price_low
        return DensityDetected(
            exchange=self.exchange,
            symbol=self.symbol,
            ts_ms=ts_ms,
            wall_id=wall.wall_id,
            side=wall.side,
            price_low=wall.price_low,
            price_high=wall.price_high,
            qty=wall.initial_qty,
            usd=usd,
            reference_qty=reference,
            strength=wall.initial_qty / reference,
            k_density=self.config.k_density,
            distance_bps=abs(near - mid) / mid * 10_000,
        )

    def _eaten(self, ts_ms: int, wall: Wall) -> DensityEaten:
        return DensityEaten(
            exchange=self.exchange,
            symbol=self.symbol,
            ts_ms=ts_ms,
            wall_id=wall.wall_id,
            side=wall.side,
            price_low=wall.price_low,
            price_high=wall.price_high,
            initial_qty=wall.initial_qty,
            remaining_qty=wall.last_qty,
            eaten_ratio=wall.eaten_ratio,
            traded_qty=wall.traded_qty,
            pulled_qty=wall.pulled_qty,
        )

    def _removed(self, ts_ms: int, wall: Wall, cause: WallRemovalCause) -> DensityRemoved:
        return DensityRemoved(
            exchange=self.exchange,
            symbol=self.symbol,
            ts_ms=ts_ms,
            wall_id=wall.wall_id,
            side=wall.side,
            price_low=wall.price_low,
            price_high=wall.price_high,
            cause=cause,
            initial_qty=wall.initial_qty,
            remaining_qty=wall.last_qty,
            eaten_ratio=wall.eaten_ratio,
            traded_qty=wall.traded_qty,
            pulled_qty=wall.pulled_qty,
            lifetime_ms=ts_ms - wall.detected_ts_ms,
        )

    def forget_walls(self, ts_ms: int) -> list[Event]:
        """The book feed lost continuity: every wall leaves our view (`out_of_view`).

        What the walls did while the feed was down is unknown, so none may be read as eaten or
        pulled; the book rebuilt from the next snapshots detects the walls that are still there
        (once they have stood `min_standing_s`; no cooldown applies: nothing was seen to go).
        """
        events: list[Event] = [
            self._removed(ts_ms, wall, "out_of_view") for wall in self.walls.values()
        ]
        self.walls = {}
        self._candidates = {}
        return events

    # -- snapshots ------------------------------------------------------------------------

    def save(self) -> DensityState:
        """The state to snapshot."""
        return DensityState(
            walls=list(self.walls.values()),
            medians=list(self._medians),
            candidates=[(side, bucket, ts) for (side, bucket), ts in self._candidates.items()],
            cooldowns=[(side, bucket, ts) for (side, bucket), ts in self._cooldowns.items()],
        )

    def load(self, state: DensityState) -> None:
        """Replace the state with a snapshot's."""
        self.walls = {(w.side, w.bucket): w for w in state.walls}
        self._medians = deque(state.medians)
        self._sorted_medians = sorted(m for _, m in state.medians)
        self._candidates = {(side, bucket): ts for side, bucket, ts in state.candidates}
        self._cooldowns = {(side, bucket): ts for side, bucket, ts in state.cooldowns}
