"""What a service core is: a pure, deterministic processor of recorded events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

import msgspec

from breakout.common.events import Event, RecordedEvent
from breakout.common.store.port import EventFilter


class Emit(msgspec.Struct, frozen=True, kw_only=True):
    """An event a core decided to record, and the stream (and version) it goes to.

    `occurred_at` defaults to the input's source time: cores never read a clock.
    """

    stream: str
    event: Event
    expected_version: int | None = None
    occurred_at: datetime | None = None


@runtime_checkable
class Core(Protocol):
    """A process application's logic: no clock, no random ids, no I/O.

    `subjects` are the bus filters it consumes; `store_filter` optionally narrows the store
    reads used for catch-up (the runtime still applies `subjects` to what it reads, so both
    paths select the same events).
    """

    subjects: tuple[str, ...]
    store_filter: EventFilter | None

    def handle(self, event: RecordedEvent) -> Sequence[Emit]:
        """Fold one event into the state; return what to record because of it."""
        ...


@runtime_checkable
class SnapshottingCore(Core, Protocol):
    """A core whose state can be saved and restored for fast restarts."""

    def snapshot(self) -> bytes:
        """The whole state, serialized."""
        ...

    def restore(self, state: bytes) -> None:
        """Replace the state with a snapshot's."""
        ...
