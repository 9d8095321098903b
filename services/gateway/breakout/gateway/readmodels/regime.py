"""The macro regime as the regime service decided it, with its trends, freshness, capital flow
and the health of its feeds (`/api/regime/*`, `/api/capital-flow/current`)."""

from __future__ import annotations

from breakout.common.events import (
    CapitalFlowChanged,
    MacroFeedFailed,
    MacroFeedRecovered,
    MacroObserved,
    RecordedEvent,
    RegimeChanged,
    RegimeFreshnessChanged,
    RegimeHeld,
)
from breakout.gateway.readmodels.base import ReadModel, types_filter


class RegimeBoard(ReadModel):
    """Latest regime decision, hold, freshness and flow; last value and health of each feed."""

    name = "regime"
    subjects = ("regime.>", "macro.>")
    store_filter = types_filter(
        (
            RegimeChanged,
            RegimeHeld,
            RegimeFreshnessChanged,
            CapitalFlowChanged,
            MacroObserved,
            MacroFeedFailed,
            MacroFeedRecovered,
        )
    )

    def __init__(self) -> None:
        super().__init__()
        self.changed: RecordedEvent | None = None
        self.held: RecordedEvent | None = None
        self.freshness: RecordedEvent | None = None
        self.flow: RecordedEvent | None = None
        self.last_decision: RecordedEvent | None = None  # changed or held: has the trends
        self.macro: dict[str, RecordedEvent] = {}
        self.feeds: dict[str, RecordedEvent] = {}

    def apply(self, event: RecordedEvent) -> None:
        """Keep the latest of each kind."""
        data = event.data
        if isinstance(data, RegimeChanged):
            self.changed = self.last_decision = event
        elif isinstance(data, RegimeHeld):
            self.held = self.last_decision = event
        elif isinstance(data, RegimeFreshnessChanged):
            self.freshness = event
        elif isinstance(data, CapitalFlowChanged):
            self.flow = event
        elif isinstance(data, MacroObserved):
            self.macro[data.series] = event
        elif isinstance(data, MacroFeedFailed | MacroFeedRecovered):
            self.feeds[data.source] = event

    def retained(self) -> list[RecordedEvent]:
        """Every event held (re-applied in order, they rebuild the board)."""
        held = [self.changed, self.held, self.freshness, self.flow]
        return [e for e in held if e is not None] + [*self.macro.values(), *self.feeds.values()]

    def stale(self) -> bool | None:
        """Whether the regime is flagged stale (None before any freshness decision)."""
        if self.freshness is None:
            return None
        data = self.freshness.data
        assert isinstance(data, RegimeFreshnessChanged)
        return data.stale
