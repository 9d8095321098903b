"""Audit: the causation chain of a position, an order or a signal, back to the market data.

Every derived event names its input (`causation_id`): a position event its fill, an order its
intent, an intent its signal, a signal the feature or candle that completed it, a feature the
market data. The exchange's answers about an order (acknowledgement, fills, final state) and
reconcile's corrections of them name the order's `OrderSubmitted` as their cause; answers
recorded without one (by an older router) still lead to the order's decision through their
stream (`order-<id>` starts with `OrderSubmitted`). Each step keeps the reasons it was
recorded with (checks, sizing inputs, deny limits, exit reasons). `audit signal` also walks
forward: what the signal caused (an intent or a denial, orders, the position).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any, Literal, Protocol

import msgspec

from breakout.common.events import (
    OrderSubmitted,
    PositionOpened,
    RecordedEvent,
    SignalGenerated,
    SignalRejected,
    order_stream,
    position_stream,
)
from breakout.common.store.port import EventStore

Subject = Literal["position", "order", "signal"]
MAX_DEPTH = 24
RECORDED_RUN = re.compile(r"^bt[0-9a-f]{12}\.")  # `breakout backtest --record` streams
REASON_FIELDS = (
    "reason", "failed", "checks", "inputs", "sizing", "limit", "value", "threshold", "purpose",
    "confidence", "strategy", "side", "qty", "price", "stop_price", "entry_price", "level_price",
    "realized_quote", "realized_r", "trigger",
)  # fmt: skip


class AuditFailed(LookupError):
    """The subject of an audit is not in the store."""


class AuditReads(Protocol):
    """What an audit reads beyond the store port (see `auditlog.PostgresAuditLog`)."""

    async def by_ids(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, RecordedEvent]:
        """Domain events by id."""
        ...

    async def md_by_id(self, event_id: uuid.UUID, near: datetime) -> RecordedEvent | None:
        """A market-data event by id, looked for near a time."""
        ...

    async def caused_by(self, ids: list[uuid.UUID]) -> list[RecordedEvent]:
        """Domain events whose causation is one of `ids`."""
        ...

    async def by_field(self, types: list[str], field: str, value: str) -> list[RecordedEvent]:
        """Domain events of `types` whose payload's `field` is `value`."""
        ...


class Step(msgspec.Struct, kw_only=True):
    """One event of a chain: how it links to its neighbour, its reasons, what led to it (`causes`)
    and, walking forward, what it led to (`effects`)."""

    event_id: uuid.UUID
    position: int
    type: str
    stream: str
    producer: str
    occurred_at: datetime
    link: str
    reasons: dict[str, Any] = {}
    shown_above: bool = False
    causes: list[Step] = []
    effects: list[Step] = []
    missing_cause: uuid.UUID | None = None


class AuditTrail(msgspec.Struct, kw_only=True):
    """The subject's events, each with its causes back to market data (and, for a signal, the
    consequences in `effects`)."""

    subject: Subject
    subject_id: str
    events: list[Step] = []
    effects: list[Step] = []

    @property
    def reaches_market_data(self) -> bool:
        """Whether some chain ends at a recorded market-data event."""
        return any(_ends_in_md(step) for step in self.events)


def _ends_in_md(step: Step) -> bool:
    return step.stream.startswith("md.") or any(_ends_in_md(c) for c in step.causes)


async def audit(store: EventStore, reads: AuditReads, subject: Subject, key: str) -> AuditTrail:
    """The audit trail of a position id, an order (client) id or a signal id (or an event id)."""
    trail = AuditTrail(subject=subject, subject_id=key)
    walker = _Walker(store, reads)
    roots = await walker.subject_events(subject, key)
    if not roots:
        raise AuditFailed(f"no {subject} {key!r} in the store")
    for event in roots:
        trail.events.append(await walker.back(event, "subject", 0))
    if subject == "signal":
        walker.seen = {e.event_id for e in roots}
        trail.effects = await walker.forward(roots, 0)
    return trail


class _Walker:
    """Follows links from event to event, showing each event once (`seen`)."""

    def __init__(self, store: EventStore, reads: AuditReads) -> None:
        self.store = store
        self.reads = reads
        self.seen: set[uuid.UUID] = set()

    async def subject_events(self, subject: Subject, key: str) -> list[RecordedEvent]:
        """The events an audit starts from: an event by id, else the subject's stream or ids."""
        try:
            event_id: uuid.UUID | None = uuid.UUID(key)
        except ValueError:
            event_id = None
        if event_id is not None:
            by_id = await self.reads.by_ids([event_id])
            if event_id in by_id:
                return [by_id[event_id]]
        if subject == "position":
            found = await self.store.read_stream(position_stream(key))
            # A backtest recorded with `--record` keeps its streams under `bt<run id>.`.
            opened = [PositionOpened.type_tag()]
            return found or await self.reads.by_field(opened, "position_id", key)
        if subject == "order":
            found = await self.store.read_stream(order_stream(key))
            return found or await self.reads.by_field([OrderSubmitted.type_tag()], "order_id", key)
        tags = [SignalGenerated.type_tag(), SignalRejected.type_tag()]
        return await self.reads.by_field(tags, "signal_id", key)

    async def back(self, event: RecordedEvent, link: str, depth: int) -> Step:
        """`event`, and what caused it, back to an event without a cause (market data)."""
        step = _step(event, link, event.event_id in self.seen)
        if step.shown_above or depth >= MAX_DEPTH:
            return step
        self.seen.add(event.event_id)
        cause, how = await self._cause(event)
        if cause is not None:
            step.causes.append(await self.back(cause, how, depth + 1))
        elif event.causation_id is not None:
            step.missing_cause = event.causation_id  # archived market data, or a foreign producer
        return step

    async def _cause(self, event: RecordedEvent) -> tuple[RecordedEvent | None, str]:
        if event.causation_id is not None:
            found = await self.reads.by_ids([event.causation_id])
            if event.causation_id in found:
                return found[event.causation_id], "caused"
            return await self.reads.md_by_id(event.causation_id, event.occurred_at), "caused"
        if _is_order_stream(event.stream) and not isinstance(event.data, OrderSubmitted):
            first = await self.store.read_stream(event.stream, 0, 1)
            if first and isinstance(first[0].data, OrderSubmitted):
                return first[0], "order"
        return None, ""

    async def forward(self, events: list[RecordedEvent], depth: int) -> list[Step]:
        """What `events` caused, recursively: intents, orders and their answers, positions."""
        if depth >= MAX_DEPTH or not events:
            return []
        caused = await self.reads.caused_by([e.event_id for e in events])
        effects: list[tuple[RecordedEvent, str]] = [(e, "caused") for e in caused]
        linked = {e.event_id for e in caused}
        for event in events:
            if isinstance(event.data, OrderSubmitted):  # answers recorded without a cause
                rest = await self.store.read_stream(event.stream, after_version=event.version)
                effects += [(e, "order") for e in rest if e.event_id not in linked]
        steps: list[Step] = []
        for effect, link in sorted(effects, key=lambda pair: pair[0].position):
            step = _step(effect, link, effect.event_id in self.seen)
            self.seen.add(effect.event_id)
            if not step.shown_above:
                step.effects = await self.forward([effect], depth + 1)
            steps.append(step)
        return steps


def _is_order_stream(stream: str) -> bool:
    """An `order-<id>` stream, also under a recorded backtest's `bt<run id>.` prefix."""
    return RECORDED_RUN.sub("", stream).startswith("order-")


def _step(event: RecordedEvent, link: str, shown_above: bool) -> Step:
    payload = msgspec.to_builtins(event.data)
    reasons = {k: payload[k] for k in REASON_FIELDS if k in payload} if not shown_above else {}
    for name in ("symbol", "order_id", "intent_id", "position_id", "signal_id"):
        if name in payload and not shown_above:
            reasons.setdefault(name, payload[name])
    return Step(
        event_id=event.event_id,
        position=event.position,
        type=event.type,
        stream=event.stream,
        producer=event.producer,
        occurred_at=event.occurred_at,
        link=link,
        reasons=reasons,
        shown_above=shown_above,
    )
