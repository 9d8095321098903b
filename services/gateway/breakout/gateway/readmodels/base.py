"""The shape every read model has: a core that records nothing and answers queries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec

from breakout.common.events import Event, RecordedEvent, StoredEvent, event_types
from breakout.common.runtime.core import Emit
from breakout.common.store.port import EventFilter


class ReadModel:
    """A projection: `apply` folds one event into query state; `handle` (the runtime's call)
    returns no outputs, so the runtime only moves this read model's checkpoint.

    Queries run on the event loop that applies events (the API's handlers are `async def`),
    so a reader never sees a half-applied event and no lock is needed.
    """

    name: str = ""
    subjects: tuple[str, ...] = ()
    store_filter: EventFilter | None = None

    def __init__(self) -> None:
        self.position = 0  # the last position applied: "as of" for every answer

    def handle(self, event: RecordedEvent) -> Sequence[Emit]:
        """Apply `event`; a read model never emits."""
        self.apply(event)
        self.position = event.position
        return ()

    def apply(self, event: RecordedEvent) -> None:
        """Fold one event into the state."""
        raise NotImplementedError

    # -- snapshots: a restart restores one and replays only the events after it ----------------

    def snapshot(self) -> bytes:
        """The state as of `position`, serialized."""
        return msgspec.json.encode({"position": self.position, "state": self.save()})

    def restore(self, state: bytes) -> None:
        """Load a snapshot into this (fresh) read model."""
        snapshot = msgspec.json.decode(state, type=_Snapshot)
        self.load(snapshot.state)
        self.position = snapshot.position

    def save(self) -> object:
        """The state as msgspec-encodable values; by default the events it keeps, in order."""
        return sorted(self.retained(), key=lambda e: e.position)

    def load(self, state: msgspec.Raw) -> None:
        """The inverse of `save`; by default re-applies the saved events."""
        for stored in msgspec.json.decode(state, type=list[StoredEvent]):
            self.apply(stored.decode())

    def retained(self) -> list[RecordedEvent]:
        """The events whose re-application rebuilds the state (for the default snapshot)."""
        raise NotImplementedError


class _Snapshot(msgspec.Struct):
    position: int
    state: msgspec.Raw


def decode_events(raw: list[StoredEvent]) -> list[RecordedEvent]:
    """Events saved in a snapshot, decoded (upcasting as any stored event)."""
    return [stored.decode() for stored in raw]


def types_filter(classes: Iterable[type[Event]]) -> EventFilter:
    """A store filter selecting exactly these event types (catch-up reads nothing else)."""
    return EventFilter(types=tuple(sorted(cls.type_tag() for cls in classes)))


def domain_filter(domains: Iterable[str]) -> EventFilter:
    """A store filter selecting every registered type whose tag starts with one of `domains`.

    Tags and subjects share their first token (`pos.opened.v1` on `pos.opened.BTCUSDT`), so a
    read model of `pos.>` can select its store events before it knows their classes: a type
    that lands later is registered by then (the relay refuses to publish unknown types).
    """
    wanted = set(domains)
    return EventFilter(
        types=tuple(sorted(tag for tag in event_types() if tag.split(".", 1)[0] in wanted))
    )
