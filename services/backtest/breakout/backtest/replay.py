"""Replay: re-run a consumer's core over the inputs it consumed and compare with what it recorded.

The core's state is rebuilt as the runtime rebuilds it (the consumer's snapshot when it was taken
at or before the window's start, else the start of the log), the events before the window are
folded in without comparing, and every input in the window is handled again. Each recomputed
output gets the id the runtime would give it, `uuid5(consumer, input id, index)`, and is compared
with the recorded event of that id: same type, stream, time and payload. A recomputed output
that was never recorded is `missing`; a recorded output no input explains is `extra`. Inputs past
the consumer's checkpoint were never handled live and are not compared.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol

import msgspec

from breakout.common.bus.matching import matches_any
from breakout.common.events import MessageDeadLettered, RecordedEvent, dead_letter_stream
from breakout.common.ids import derived_event_id
from breakout.common.runtime.core import Core, SnapshottingCore
from breakout.common.store.port import EventStore

DivergenceKind = Literal["changed", "missing", "extra"]
MAX_FIELD_DIFFS = 40
BATCH = 1000


class AuditReads(Protocol):
    """What a replay reads beyond the store port (see `auditlog.PostgresAuditLog`)."""

    async def by_producer(
        self, producer: str, after: int, until: int, limit: int = 5000
    ) -> list[RecordedEvent]:
        """Domain events `producer` recorded in (after, until]."""
        ...

    async def by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, RecordedEvent]:
        """Domain events by id."""
        ...

    async def caused_by(self, ids: Sequence[uuid.UUID]) -> list[RecordedEvent]:
        """Domain events whose causation is one of `ids`."""
        ...


class FieldDiff(msgspec.Struct, frozen=True, kw_only=True):
    """One field that differs: its path (`sizing.qty`, `checks[2].value`) and both values."""

    path: str
    recorded: Any
    recomputed: Any


class InputRef(msgspec.Struct, frozen=True, kw_only=True):
    """The input a divergence goes back to."""

    event_id: uuid.UUID
    position: int
    type: str
    stream: str


class Divergence(msgspec.Struct, frozen=True, kw_only=True):
    """A recomputed output that differs from the recorded one, or exists on one side only."""

    kind: DivergenceKind
    event_id: uuid.UUID
    type: str
    stream: str
    input: InputRef | None
    diffs: list[FieldDiff] = []


class TypeCount(msgspec.Struct, kw_only=True):
    """Outputs of one type: recorded, recomputed and equal on both sides."""

    recorded: int = 0
    recomputed: int = 0
    matched: int = 0


class ConsumerReport(msgspec.Struct, kw_only=True):
    """The replay of one consumer over the window (from_position, to_position]."""

    consumer: str
    from_position: int
    to_position: int
    checkpoint: int
    started_from: str
    inputs: int = 0
    counts: dict[str, TypeCount] = {}
    divergences: list[Divergence] = []

    @property
    def first_divergent_input(self) -> InputRef | None:
        """The earliest input at which the outputs diverge."""
        inputs = [d.input for d in self.divergences if d.input is not None]
        return min(inputs, key=lambda ref: ref.position) if inputs else None


class _Expected(msgspec.Struct, frozen=True, kw_only=True):
    event_id: uuid.UUID
    stream: str
    type: str
    occurred_at: datetime
    data: Any


async def replay_consumer(
    store: EventStore,
    reads: AuditReads,
    consumer: str,
    core: Core,
    *,
    from_position: int = 0,
    to_position: int | None = None,
) -> ConsumerReport:
    """Rebuild `core`'s state, handle the window's inputs again and compare every output."""
    checkpoint = await store.checkpoint(consumer)
    until = checkpoint if to_position is None else min(to_position, checkpoint)
    report = ConsumerReport(
        consumer=consumer,
        from_position=from_position,
        to_position=until,
        checkpoint=checkpoint,
        started_from="start of log",
    )
    cursor = 0
    snapshot = await store.load_snapshot(consumer)
    if isinstance(core, SnapshottingCore) and snapshot and 0 < snapshot.position <= from_position:
        core.restore(snapshot.state)
        cursor = snapshot.position
        report.started_from = f"snapshot at {snapshot.position}"
    async for batch in _selected(store, core, cursor, from_position):
        for event in batch:
            _handle(core, consumer, event)
    matched: set[uuid.UUID] = set()
    async for batch in _selected(store, core, from_position, until):
        report.inputs += len(batch)
        recorded = await reads.caused_by([e.event_id for e in batch])
        outputs: dict[uuid.UUID, list[RecordedEvent]] = {}
        for output in recorded:
            if output.producer == consumer:
                outputs.setdefault(output.causation_id or uuid.UUID(int=0), []).append(output)
                matched.add(output.event_id)
        for event in batch:
            expected = _handle(core, consumer, event)
            _compare(report, event, expected, outputs.get(event.event_id, []))
    await _unexplained(report, reads, matched)
    return report


async def _selected(
    store: EventStore, core: Core, after: int, until: int
) -> AsyncIterator[list[RecordedEvent]]:
    # What the runtime hands the core: its store filter, then its subjects, in store order.
    cursor = after
    while cursor < until:
        batch = await store.read_all(after=cursor, limit=BATCH, filter=core.store_filter)
        chosen = [
            e for e in batch if e.position <= until and matches_any(core.subjects, e.data.subject())
        ]
        if chosen:
            yield chosen
        if len(batch) < BATCH or batch[-1].position >= until:
            return
        cursor = batch[-1].position


def _handle(core: Core, consumer: str, event: RecordedEvent) -> list[_Expected]:
    """The outputs the runtime would record for `event` (a dead letter if the core raises)."""
    try:
        emits = core.handle(event)
    except Exception:  # the runtime parks such an input on the dead-letter stream
        return [
            _Expected(
                event_id=derived_event_id(consumer, event.event_id, -1),
                stream=dead_letter_stream(consumer),
                type=MessageDeadLettered.type_tag(),
                occurred_at=event.occurred_at,
                data=None,
            )
        ]
    return [
        _Expected(
            event_id=derived_event_id(consumer, event.event_id, index),
            stream=emit.stream,
            type=type(emit.event).type_tag(),
            occurred_at=emit.occurred_at or event.occurred_at,
            data=emit.event,
        )
        for index, emit in enumerate(emits)
    ]


def _compare(
    report: ConsumerReport,
    event: RecordedEvent,
    expected: list[_Expected],
    recorded: list[RecordedEvent],
) -> None:
    ref = _ref(event)
    by_id = {r.event_id: r for r in recorded}
    for out in expected:
        counts = report.counts.setdefault(out.type, TypeCount())
        counts.recomputed += 1
        found = by_id.pop(out.event_id, None)
        if found is None:
            report.divergences.append(
                Divergence(
                    kind="missing",
                    event_id=out.event_id,
                    type=out.type,
                    stream=out.stream,
                    input=ref,
                    diffs=[
                        FieldDiff(
                            path="payload", recorded=None, recomputed=msgspec.to_builtins(out.data)
                        )
                    ],
                )
            )
            continue
        report.counts.setdefault(found.type, TypeCount()).recorded += 1
        diffs = _differences(found, out)
        if diffs:
            report.divergences.append(
                Divergence(
                    kind="changed",
                    event_id=out.event_id,
                    type=found.type,
                    stream=found.stream,
                    input=ref,
                    diffs=diffs,
                )
            )
        else:
            counts.matched += 1
    for extra in by_id.values():
        report.counts.setdefault(extra.type, TypeCount()).recorded += 1
        report.divergences.append(
            Divergence(
                kind="extra",
                event_id=extra.event_id,
                type=extra.type,
                stream=extra.stream,
                input=ref,
                diffs=_only_recorded(extra.data),
            )
        )


def _differences(found: RecordedEvent, out: _Expected) -> list[FieldDiff]:
    diffs: list[FieldDiff] = []
    for name, mine, theirs in (
        ("type", found.type, out.type),
        ("stream", found.stream, out.stream),
        ("occurred_at", found.occurred_at, out.occurred_at),
    ):
        if mine != theirs:
            diffs.append(FieldDiff(path=name, recorded=str(mine), recomputed=str(theirs)))
    if isinstance(found.data, MessageDeadLettered) or out.data is None:
        # A dead letter's reason names a source line; what must agree is that it was parked.
        return diffs
    if found.data != out.data:
        diffs += field_diff(msgspec.to_builtins(found.data), msgspec.to_builtins(out.data))
    return diffs


def field_diff(recorded: Any, recomputed: Any, path: str = "") -> list[FieldDiff]:
    """Every leaf that differs between two JSON-like values, by dotted path."""
    out: list[FieldDiff] = []
    if isinstance(recorded, dict) and isinstance(recomputed, dict):
        for key in sorted(set(recorded) | set(recomputed), key=str):
            child = f"{path}.{key}" if path else str(key)
            out += field_diff(recorded.get(key), recomputed.get(key), child)
    elif (
        isinstance(recorded, list)
        and isinstance(recomputed, list)
        and len(recorded) == len(recomputed)
    ):
        for index, (left, right) in enumerate(zip(recorded, recomputed, strict=True)):
            out += field_diff(left, right, f"{path}[{index}]")
    elif recorded != recomputed:
        out.append(FieldDiff(path=path or "payload", recorded=recorded, recomputed=recomputed))
    return out[:MAX_FIELD_DIFFS]


def _ref(event: RecordedEvent) -> InputRef:
    return InputRef(
        event_id=event.event_id, position=event.position, type=event.type, stream=event.stream
    )


def _only_recorded(data: object) -> list[FieldDiff]:
    return [FieldDiff(path="payload", recorded=msgspec.to_builtins(data), recomputed=None)]


async def _unexplained(report: ConsumerReport, reads: AuditReads, matched: set[uuid.UUID]) -> None:
    """Outputs recorded in the window that no input in it caused (a forged or stray decision)."""
    cursor = report.from_position
    while True:
        page = await reads.by_producer(report.consumer, cursor, report.to_position)
        strays = [e for e in page if e.event_id not in matched and not _bus_letter(e)]
        causes = await reads.by_ids([e.causation_id for e in strays if e.causation_id])
        for stray in strays:
            cause = causes.get(stray.causation_id) if stray.causation_id else None
            if cause is not None and cause.position <= report.from_position:
                continue  # the output of an input before the window, committed inside it
            ref = _ref(cause) if cause is not None else None
            report.counts.setdefault(stray.type, TypeCount()).recorded += 1
            report.divergences.append(
                Divergence(
                    kind="extra",
                    event_id=stray.event_id,
                    type=stray.type,
                    stream=stray.stream,
                    input=ref,
                    diffs=_only_recorded(stray.data),
                )
            )
        if len(page) < 5000:
            return
        cursor = page[-1].position


def _bus_letter(event: RecordedEvent) -> bool:
    # Undecodable bus messages are parked without a place in the store's order (no causation).
    return isinstance(event.data, MessageDeadLettered) and event.causation_id is None


class ReplayReport(msgspec.Struct, kw_only=True):
    """Every replayed consumer, and the consumers that could not be replayed (and why)."""

    consumers: list[ConsumerReport] = []
    skipped: dict[str, str] = {}

    @property
    def divergences(self) -> int:
        """How many outputs diverge, over every consumer."""
        return sum(len(c.divergences) for c in self.consumers)


async def replay(
    store: EventStore,
    reads: AuditReads,
    cores: Mapping[str, Core],
    *,
    from_position: int = 0,
    to_position: int | None = None,
) -> ReplayReport:
    """Replay each consumer of `cores` (by consumer name) over the same window."""
    report = ReplayReport()
    for consumer, core in cores.items():
        report.consumers.append(
            await replay_consumer(
                store, reads, consumer, core, from_position=from_position, to_position=to_position
            )
        )
    return report
