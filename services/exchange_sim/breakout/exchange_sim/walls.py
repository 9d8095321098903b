"""Liquidity walls: large resting orders at round prices that get eaten or pulled.

A wall is a simulated maker chunk with owner `-wall_id`, so the book keeps its queue place and
the tape tells when aggressive flow eats it. As the price nears a wall, its owner decides once
whether to pull it (a spoof) or to let it stand; a standing wall is pulled when its lifetime
ends, unless flow eats it first.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from breakout.exchange_sim import calibration as cal
from breakout.exchange_sim.specs import SymbolSpec
from breakout.exchange_sim.tape import Print

if TYPE_CHECKING:
    from breakout.exchange_sim.market import SymbolMarket

WallEventKind = Literal["appeared", "eaten", "pulled"]


@dataclass(slots=True)
class Wall:
    """One live wall."""

    wall_id: int
    is_bid: bool
    price: int
    lots: int
    lots_left: int
    born_ms: int
    expires_ms: int
    decided: bool = False


@dataclass(frozen=True, slots=True)
class WallEvent:
    """What happened to a wall, for the control endpoint and tests."""

    kind: WallEventKind
    wall_id: int
    is_bid: bool
    price: int
    lots: int
    ts_ms: int


class WallBook:
    """The live walls of one symbol and a log of their fates."""

    def __init__(self, spec: SymbolSpec, log_size: int = 200) -> None:
        self.spec = spec
        self.live: dict[int, Wall] = {}
        self.log: deque[WallEvent] = deque(maxlen=log_size)
        self.counts: dict[WallEventKind, int] = {"appeared": 0, "eaten": 0, "pulled": 0}
        self._next_id = 1

    def _record(self, kind: WallEventKind, wall: Wall, lots: int, ts_ms: int) -> None:
        self.counts[kind] += 1
        self.log.append(WallEvent(kind, wall.wall_id, wall.is_bid, wall.price, lots, ts_ms))

    def step(self, market: SymbolMarket, ts_ms: int, dt_s: float) -> None:
        """Spawn walls, and pull those that expire or that their owner gives up on."""
        if market.rng.random() < cal.WALL_RATE_PER_S * dt_s:
            self._spawn(market, ts_ms)
        fair = market.fair_ticks()
        for wall in list(self.live.values()):
            near = abs(wall.price - fair) / fair * 1e4 <= cal.WALL_NEAR_BPS
            if ts_ms >= wall.expires_ms:
                self.pull(market, wall, ts_ms)
            elif near and not wall.decided:
                wall.decided = True
                if market.rng.random() < cal.WALL_SPOOF_P:
                    self.pull(market, wall, ts_ms)

    def _spawn(self, market: SymbolMarket, ts_ms: int) -> None:
        rng = market.rng
        is_bid = rng.random() < 0.5
        fair = market.fair_ticks()
        distance = fair * rng.uniform(cal.WALL_MIN_BPS, cal.WALL_MAX_BPS) / 1e4
        unit = 10 ** max(0, math.floor(math.log10(fair)) - 3)  # a round price, ~1-10 bps apart
        raw = fair - distance if is_bid else fair + distance
        price = int(raw // unit * unit) if is_bid else int(math.ceil(raw / unit) * unit)
        opposite = market.book.best_ask() if is_bid else market.book.best_bid()
        if price <= 0 or (
            opposite is not None and (price >= opposite if is_bid else price <= opposite)
        ):
            return
        notional = market.level_median_notional * rng.uniform(cal.WALL_MIN_MULT, cal.WALL_MAX_MULT)
        lots = self.spec.to_lots(notional / market.spec.price_float(price))
        wall = Wall(
            wall_id=self._next_id,
            is_bid=is_bid,
            price=price,
            lots=lots,
            lots_left=lots,
            born_ms=ts_ms,
            expires_ms=ts_ms + round(rng.expovariate(1.0 / cal.WALL_MEAN_LIFE_S) * 1000),
        )
        self._next_id += 1
        market.book.add(is_bid, price, lots, owner=-wall.wall_id)
        self.live[wall.wall_id] = wall
        self._record("appeared", wall, lots, ts_ms)

    def pull(self, market: SymbolMarket, wall: Wall, ts_ms: int) -> None:
        """The wall's owner cancels what is left of it."""
        removed = market.book.remove_owner(wall.is_bid, wall.price, -wall.wall_id)
        del self.live[wall.wall_id]
        self._record("pulled", wall, removed, ts_ms)

    def on_fill(self, printed: Print, ts_ms: int) -> None:
        """Aggressive flow took part of a wall; record it as eaten once nothing is left."""
        wall = self.live.get(-printed.maker_owner)
        if wall is None:
            return
        wall.lots_left -= printed.lots
        if wall.lots_left <= 0:
            del self.live[wall.wall_id]
            self._record("eaten", wall, wall.lots, ts_ms)
