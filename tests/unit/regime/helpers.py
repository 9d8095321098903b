"""Builders of the recorded events the regime core reads, at chosen times."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from breakout.common.events import Event, RecordedEvent
from breakout.common.events.regime import (
    FeedSource,
    MacroFeedFailed,
    MacroFeedRecovered,
    MacroObserved,
    MacroSeries,
    NewsObserved,
)

T0 = datetime(2026, 1, 5, tzinfo=UTC)
T0_MS = int(T0.timestamp() * 1000)
HOUR_MS = 3_600_000

_position = iter(range(1, 10**9))


def recorded(data: Event, at_ms: int) -> RecordedEvent:
    """`data` as the store would hand it to a core."""
    at = T0 + timedelta(milliseconds=at_ms - T0_MS)
    return RecordedEvent(
        position=next(_position),
        stream="test-x",
        version=1,
        event_id=uuid.uuid4(),
        type=type(data).type_tag(),
        occurred_at=at,
        recorded_at=at,
        producer="test",
        data=data,
    )


def observed(series: MacroSeries, value: float, hour: float) -> RecordedEvent:
    """A macro value whose source time and receipt are `hour` hours after T0."""
    ts = T0_MS + int(hour * HOUR_MS)
    source: FeedSource = "twelvedata" if series == "DXY" else "coingecko"
    return recorded(
        MacroObserved(
            series=series, value=value, source=source, source_ts_ms=ts, received_ts_ms=ts
        ),
        ts,
    )


def headline(title: str, hour: float, url: str | None = None) -> RecordedEvent:
    """An article published and received `hour` hours after T0."""
    ts = T0_MS + int(hour * HOUR_MS)
    return recorded(
        NewsObserved(
            source="newsapi",
            publisher="Test Wire",
            title=title,
            url=url or f"https://news.test/{abs(hash((title, hour)))}",
            published_ts_ms=ts,
            received_ts_ms=ts,
        ),
        ts,
    )


def failed(source: FeedSource, hour: float, last_success_hour: float | None) -> RecordedEvent:
    """A failed poll of `source` at `hour`, its last success at `last_success_hour`."""
    ts = T0_MS + int(hour * HOUR_MS)
    last = None if last_success_hour is None else T0_MS + int(last_success_hour * HOUR_MS)
    return recorded(
        MacroFeedFailed(
            source=source,
            reason="http_status",
            detail="500",
            http_status=500,
            last_success_ts_ms=last,
            failed_ts_ms=ts,
        ),
        ts,
    )


def recovered(source: FeedSource, hour: float) -> RecordedEvent:
    """`source` answering again at `hour`."""
    ts = T0_MS + int(hour * HOUR_MS)
    return recorded(MacroFeedRecovered(source=source, failed_polls=3, recovered_ts_ms=ts), ts)
