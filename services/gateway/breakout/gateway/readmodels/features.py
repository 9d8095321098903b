"""Latest features per symbol: activity, book metrics, indicators, levels, order flow,
structure, liquidity levels and Wyckoff range (`/api/features/*`, `/api/liquidity/levels`)."""

from __future__ import annotations

from breakout.common.events import (
    ActivityDropped,
    ActivityRecovered,
    BookMetrics,
    Event,
    IndicatorsUpdated,
    LevelsUpdated,
    LiquidityLevels,
    LiquiditySweep,
    OrderFlowUpdated,
    RecordedEvent,
    StructureShift,
    TradeActivity,
    WyckoffRange,
)
from breakout.gateway.readmodels.base import ReadModel, types_filter

# What each kind of answer is called, by event class. The activity state (dropped or
# recovered) is one slot: the later of the two is the current state.
SLOTS: dict[type[Event], str] = {
    TradeActivity: "activity",
    ActivityDropped: "activity_state",
    ActivityRecovered: "activity_state",
    BookMetrics: "book",
    IndicatorsUpdated: "indicators",
    LevelsUpdated: "levels",
    OrderFlowUpdated: "orderflow",
    StructureShift: "structure",
    LiquiditySweep: "sweep",
    LiquidityLevels: "liquidity",
    WyckoffRange: "wyckoff",
}


class FeatureBoard(ReadModel):
    """The last event of each feature kind for each symbol."""

    name = "features"
    subjects = ("feat.>",)
    store_filter = types_filter(SLOTS)

    def __init__(self) -> None:
        super().__init__()
        self._latest: dict[str, dict[str, RecordedEvent]] = {}

    def apply(self, event: RecordedEvent) -> None:
        """Keep the event as its symbol's latest of its kind."""
        slot = SLOTS.get(type(event.data))
        symbol = getattr(event.data, "symbol", None)
        if slot is not None and isinstance(symbol, str):
            self._latest.setdefault(symbol, {})[slot] = event

    def retained(self) -> list[RecordedEvent]:
        """Every latest event (re-applied in order, they rebuild the board)."""
        return [e for slots in self._latest.values() for e in slots.values()]

    def symbols(self) -> list[str]:
        """Every symbol with at least one feature, sorted."""
        return sorted(self._latest)

    def get(self, symbol: str, slot: str) -> RecordedEvent | None:
        """The latest event of one kind for `symbol`."""
        return self._latest.get(symbol, {}).get(slot)

    def all_of(self, symbol: str) -> dict[str, RecordedEvent]:
        """Every latest feature of `symbol`, by kind."""
        return dict(self._latest.get(symbol, {}))
