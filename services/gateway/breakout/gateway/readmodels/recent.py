"""A generic read model: recent events of some subject domains, and a running view per stream.

It knows no event class, so it serves event types that land after it was written: orders
(`exec.order.*`), positions (`pos.*`), risk decisions (`risk.*`) and reconciliation
(`recon.*`). Each stream's view is the shallow merge of its events' fields (a later event's
field wins), its last type and its first and last positions; a position stream thus shows its
entry, its current stop and remaining size, and whether it is closed.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from typing import Any

import msgspec

from breakout.common.bus.matching import subject_matches
from breakout.common.events import RecordedEvent, StoredEvent, stream_category
from breakout.gateway.readmodels.base import ReadModel, decode_events, domain_filter


class StreamView(msgspec.Struct, kw_only=True):
    """The merged state of one stream, as far as its events' fields tell."""

    stream: str
    category: str
    last_type: str
    last_subject: str
    first_position: int
    position: int
    first_at: str
    updated_at: str
    events: int
    fields: dict[str, Any]


class RecentEvents(ReadModel):
    """The last `keep` events of `domains`, and a view of the last `keep_streams` streams."""

    name = "recent"

    def __init__(
        self, name: str, domains: tuple[str, ...], *, keep: int = 2000, keep_streams: int = 10_000
    ) -> None:
        super().__init__()
        self.name = name
        self.subjects = tuple(f"{d}.>" for d in domains)
        self.store_filter = domain_filter(domains)
        self._events: deque[RecordedEvent] = deque(maxlen=keep)
        self._streams: OrderedDict[str, StreamView] = OrderedDict()
        self._keep_streams = keep_streams

    def apply(self, event: RecordedEvent) -> None:
        """Prepend the event; merge it into its stream's view."""
        self._events.appendleft(event)
        fields = msgspec.to_builtins(event.data)
        assert isinstance(fields, dict)
        fields.pop("type", None)
        at = event.occurred_at.isoformat()
        view = self._streams.pop(event.stream, None)
        if view is None:
            view = StreamView(
                stream=event.stream,
                category=stream_category(event.stream),
                last_type=event.type,
                last_subject=event.data.subject(),
                first_position=event.position,
                position=event.position,
                first_at=at,
                updated_at=at,
                events=0,
                fields={},
            )
        view.fields.update(fields)
        view.last_type = event.type
        view.last_subject = event.data.subject()
        view.position = event.position
        view.updated_at = at
        view.events += 1
        self._streams[event.stream] = view  # most recently updated last
        while len(self._streams) > self._keep_streams:
            self._streams.popitem(last=False)

    def save(self) -> object:
        """The events kept (oldest first) and the stream views (least recently updated first)."""
        return {"events": list(reversed(self._events)), "streams": list(self._streams.values())}

    def load(self, state: msgspec.Raw) -> None:
        """Rebuild from `save`'s values."""
        saved = msgspec.json.decode(state, type=_RecentSnapshot)
        for event in decode_events(saved.events):
            self._events.appendleft(event)
        for view in saved.streams:
            self._streams[view.stream] = view

    def recent(
        self,
        pattern: str | None = None,
        *,
        type_prefix: str | None = None,
        limit: int = 100,
    ) -> list[RecordedEvent]:
        """Newest first: events on subjects matching `pattern` with a tag starting `type_prefix`."""
        found: list[RecordedEvent] = []
        for event in self._events:
            if type_prefix is not None and not event.type.startswith(type_prefix):
                continue
            if pattern is not None and not subject_matches(pattern, event.data.subject()):
                continue
            found.append(event)
            if len(found) >= limit:
                break
        return found

    def streams(
        self, category: str, *, exclude_types: tuple[str, ...] = (), limit: int = 500
    ) -> list[StreamView]:
        """Views of `category`'s streams, most recently updated first, skipping those whose last
        event's tag starts with one of `exclude_types` (e.g. closed positions)."""
        found: list[StreamView] = []
        for view in reversed(self._streams.values()):
            if view.category != category or view.last_type.startswith(exclude_types or ("\0",)):
                continue
            found.append(view)
            if len(found) >= limit:
                break
        return found

    def latest_by_subject(self, pattern: str) -> dict[str, RecordedEvent]:
        """The newest event on each subject matching `pattern`."""
        latest: dict[str, RecordedEvent] = {}
        for event in self._events:
            subject = event.data.subject()
            if subject not in latest and subject_matches(pattern, subject):
                latest[subject] = event
        return latest


class _RecentSnapshot(msgspec.Struct):
    events: list[StoredEvent]
    streams: list[StreamView]
