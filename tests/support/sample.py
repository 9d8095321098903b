"""A tiny deterministic process application used to test the runtime, relay and kill recovery.

`Tick(key, amount)` events come in; the `RunningTotal` core emits `TotalUpdated` into
`total-<key>` with an expected version it tracks itself (it is that stream's only writer).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import msgspec

from breakout.common.events import Event, NewEvent, RecordedEvent, register_upcaster
from breakout.common.ids import external_event_id
from breakout.common.runtime.core import Emit
from breakout.common.store.port import EventFilter


class Tick(Event, frozen=True, kw_only=True, tag="test.tick.v2"):
    """An input: add `amount` to `key`'s total."""

    key: str
    seq: int
    amount: int = 1
    poison: bool = False

    def subject(self) -> str:
        """`ops.test.tick.<key>`."""
        return f"ops.test.tick.{self.key}"


class TotalUpdated(Event, frozen=True, kw_only=True, tag="test.total_updated.v1"):
    """An output: `key`'s running total after an input."""

    key: str
    total: int
    count: int
    input_seq: int

    def subject(self) -> str:
        """`ops.test.total.<key>`."""
        return f"ops.test.total.{self.key}"


# v1 ticks had no amount and called the counter `n`: an old log still replays.
register_upcaster("test.tick.v1", "test.tick.v2", lambda raw: {"key": raw["key"], "seq": raw["n"]})


class _State(msgspec.Struct):
    totals: dict[str, int] = msgspec.field(default_factory=dict)
    counts: dict[str, int] = msgspec.field(default_factory=dict)


class RunningTotal:
    """Sums ticks per key; raises on a poisoned tick (to exercise dead-lettering)."""

    subjects: tuple[str, ...] = ("ops.test.tick.>",)
    store_filter: EventFilter | None = EventFilter(categories=("tick",))

    def __init__(self) -> None:
        self.state = _State()

    def handle(self, event: RecordedEvent) -> Sequence[Emit]:
        """Add the tick to its key's total and emit the new total."""
        tick = event.data
        assert isinstance(tick, Tick)
        if tick.poison:
            raise ValueError(f"poisoned tick {tick.seq}")
        count = self.state.counts.get(tick.key, 0)
        total = self.state.totals.get(tick.key, 0) + tick.amount
        self.state.totals[tick.key] = total
        self.state.counts[tick.key] = count + 1
        update = TotalUpdated(key=tick.key, total=total, count=count + 1, input_seq=tick.seq)
        return [Emit(stream=f"total-{tick.key}", event=update, expected_version=count)]

    def snapshot(self) -> bytes:
        """State as JSON."""
        return msgspec.json.encode(self.state)

    def restore(self, state: bytes) -> None:
        """State from JSON."""
        self.state = msgspec.json.decode(state, type=_State)


BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)


def tick(key: str, seq: int, amount: int = 1, poison: bool = False) -> NewEvent:
    """A Tick as an external producer would record it (deterministic id from key and seq)."""
    return NewEvent(
        event_id=external_event_id("test", key, seq),
        data=Tick(key=key, seq=seq, amount=amount, poison=poison),
        occurred_at=BASE_TIME + timedelta(milliseconds=seq),
        producer="test-feed",
        correlation_id=uuid.uuid5(uuid.NAMESPACE_URL, f"corr/{key}/{seq}"),
    )
