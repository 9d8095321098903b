"""The walls (density) standing in each symbol's book, and the ones that went recently."""

from __future__ import annotations

from collections import deque

import msgspec

from breakout.common.events import DensityDetected, DensityEaten, DensityRemoved, RecordedEvent
from breakout.common.events.feat import BookSide, WallRemovalCause
from breakout.gateway.readmodels.base import ReadModel, types_filter

RECENTLY_REMOVED = 50


class Wall(msgspec.Struct, frozen=True, kw_only=True):
    """A wall as it stands (or stood): its last known size and what ate it."""

    wall_id: str
    symbol: str
    side: BookSide
    price_low: float
    price_high: float
    initial_qty: float
    remaining_qty: float
    usd: float
    strength: float
    eaten_ratio: float = 0.0
    detected_ts_ms: int
    updated_ts_ms: int
    position: int
    removed_cause: WallRemovalCause | None = None


class DensityWalls(ReadModel):
    """Active walls per symbol (detected, then eaten step by step, then removed)."""

    name = "density"
    subjects = ("feat.density.>",)
    store_filter = types_filter((DensityDetected, DensityEaten, DensityRemoved))

    def __init__(self) -> None:
        super().__init__()
        self._active: dict[str, dict[str, Wall]] = {}
        self._removed: dict[str, deque[Wall]] = {}

    def apply(self, event: RecordedEvent) -> None:
        """Add, update or retire a wall."""
        data = event.data
        if isinstance(data, DensityDetected):
            self._active.setdefault(data.symbol, {})[data.wall_id] = Wall(
                wall_id=data.wall_id,
                symbol=data.symbol,
                side=data.side,
                price_low=data.price_low,
                price_high=data.price_high,
                initial_qty=data.qty,
                remaining_qty=data.qty,
                usd=data.usd,
                strength=data.strength,
                detected_ts_ms=data.ts_ms,
                updated_ts_ms=data.ts_ms,
                position=event.position,
            )
        elif isinstance(data, DensityEaten):
            wall = self._active.get(data.symbol, {}).get(data.wall_id)
            if wall is not None:
                self._active[data.symbol][data.wall_id] = msgspec.structs.replace(
                    wall,
                    remaining_qty=data.remaining_qty,
                    eaten_ratio=data.eaten_ratio,
                    updated_ts_ms=data.ts_ms,
                    position=event.position,
                )
        elif isinstance(data, DensityRemoved):
            wall = self._active.get(data.symbol, {}).pop(data.wall_id, None)
            if wall is not None:
                gone = msgspec.structs.replace(
                    wall,
                    remaining_qty=data.remaining_qty,
                    eaten_ratio=data.eaten_ratio,
                    updated_ts_ms=data.ts_ms,
                    position=event.position,
                    removed_cause=data.cause,
                )
                ring = self._removed.setdefault(data.symbol, deque(maxlen=RECENTLY_REMOVED))
                ring.appendleft(gone)

    def save(self) -> object:
        """Standing and recently removed walls."""
        return _WallsSnapshot(
            active=[w for walls in self._active.values() for w in walls.values()],
            removed=[w for ring in self._removed.values() for w in ring],
        )

    def load(self, state: msgspec.Raw) -> None:
        """Rebuild the walls from `save`'s lists."""
        saved = msgspec.json.decode(state, type=_WallsSnapshot)
        for wall in saved.active:
            self._active.setdefault(wall.symbol, {})[wall.wall_id] = wall
        for wall in saved.removed:
            self._removed.setdefault(wall.symbol, deque(maxlen=RECENTLY_REMOVED)).append(wall)

    def active(self, symbol: str) -> list[Wall]:
        """Walls standing now, strongest first."""
        return sorted(self._active.get(symbol, {}).values(), key=lambda w: -w.strength)

    def removed(self, symbol: str) -> list[Wall]:
        """The last walls that went, newest first."""
        return list(self._removed.get(symbol, ()))

    def known(self, symbol: str) -> bool:
        """Whether any wall of `symbol` was ever seen."""
        return symbol in self._active or symbol in self._removed


class _WallsSnapshot(msgspec.Struct):
    active: list[Wall]
    removed: list[Wall]
