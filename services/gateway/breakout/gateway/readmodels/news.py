"""Recent news: articles as delivered and as the regime classifier read them (`/api/news/*`)."""

from __future__ import annotations

from collections import deque

from breakout.common.events import NewsClassified, NewsObserved, RecordedEvent
from breakout.gateway.readmodels.base import ReadModel, types_filter

KEEP = 200


class NewsBoard(ReadModel):
    """The last `KEEP` articles and classifications, newest first."""

    name = "news"
    subjects = ("news.>",)
    store_filter = types_filter((NewsObserved, NewsClassified))

    def __init__(self) -> None:
        super().__init__()
        self.observed: deque[RecordedEvent] = deque(maxlen=KEEP)
        self.classified: deque[RecordedEvent] = deque(maxlen=KEEP)
        self.now_ts_ms = 0  # the newest source time seen: "now" for expiry, never a clock

    def apply(self, event: RecordedEvent) -> None:
        """Prepend the article or classification."""
        if isinstance(event.data, NewsObserved):
            self.observed.appendleft(event)
            self.now_ts_ms = max(self.now_ts_ms, event.data.received_ts_ms)
        elif isinstance(event.data, NewsClassified):
            self.classified.appendleft(event)
            self.now_ts_ms = max(self.now_ts_ms, event.data.published_ts_ms)

    def retained(self) -> list[RecordedEvent]:
        """Articles and classifications kept (re-applied in order, they rebuild the board)."""
        return [*self.observed, *self.classified]

    def active(self) -> list[RecordedEvent]:
        """Classifications that still count for the regime (not expired as of the newest news)."""
        return [
            e
            for e in self.classified
            if isinstance(e.data, NewsClassified) and e.data.expires_ts_ms > self.now_ts_ms
        ]
