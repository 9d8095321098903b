"""Scanner results per preset and the recent entry signals and rejections (`/api/scan`,
`/api/signals`)."""

from __future__ import annotations

from collections import deque

from breakout.common.events import RecordedEvent
from breakout.common.events.sig import ScanCompleted, SignalGenerated, SignalRejected
from breakout.gateway.readmodels.base import ReadModel, types_filter

KEEP_SIGNALS = 500


class SignalBoard(ReadModel):
    """The latest scan of each preset; the last `KEEP_SIGNALS` signals and rejections."""

    name = "signals"
    subjects = ("scan.>", "sig.>")
    store_filter = types_filter((ScanCompleted, SignalGenerated, SignalRejected))

    def __init__(self) -> None:
        super().__init__()
        self.scans: dict[str, RecordedEvent] = {}
        self.signals: deque[RecordedEvent] = deque(maxlen=KEEP_SIGNALS)

    def apply(self, event: RecordedEvent) -> None:
        """Keep the scan; prepend the signal or rejection."""
        data = event.data
        if isinstance(data, ScanCompleted):
            self.scans[data.preset] = event
        elif isinstance(data, SignalGenerated | SignalRejected):
            self.signals.appendleft(event)

    def retained(self) -> list[RecordedEvent]:
        """Scans and signals kept (re-applied in order, they rebuild the board)."""
        return [*self.scans.values(), *self.signals]

    def recent(
        self,
        *,
        preset: str | None = None,
        symbol: str | None = None,
        outcome: str | None = None,
        limit: int = 100,
    ) -> list[RecordedEvent]:
        """Newest first, filtered by preset, symbol and outcome (`generated` / `rejected`)."""
        wanted = {"generated": SignalGenerated, "rejected": SignalRejected}.get(outcome or "")
        found: list[RecordedEvent] = []
        for event in self.signals:
            data = event.data
            assert isinstance(data, SignalGenerated | SignalRejected)
            if preset is not None and data.preset != preset:
                continue
            if symbol is not None and data.symbol != symbol:
                continue
            if wanted is not None and not isinstance(data, wanted):
                continue
            found.append(event)
            if len(found) >= limit:
                break
        return found
