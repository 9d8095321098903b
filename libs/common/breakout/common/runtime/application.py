"""The process-application shell every service runs in.

    bus messages -> decode -> skip if already processed (checkpoint)
                 -> core.handle(event) -> [Emit], for each in order
                 -> store.commit(every output + last checkpoint, one transaction) -> ack

Exactly once in effect: outputs and the checkpoint commit together, output ids are derived from
(consumer, input event id, index), and a redelivered message at or below the checkpoint is only
acked. On start the core's state is rebuilt (snapshot + replay up to the checkpoint, outputs
discarded), then the consumer catches up from the store to its head, then follows the bus. If the
bus's retention dropped messages this consumer had not seen, or the bus is away (NATS restarting),
it catches up from the store again. Anything that cannot be decoded or handled is recorded on
`dlq.<consumer>` with the reason.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
import traceback
from collections.abc import Sequence

import msgspec
import structlog

from breakout.common import metrics
from breakout.common.bus.matching import SubjectFilter
from breakout.common.bus.port import Bus, BusError, BusMessage, ConsumerConfig, PullConsumer
from breakout.common.clock import Clock, LiveClock
from breakout.common.events import (
    MessageDeadLettered,
    NewEvent,
    RecordedEvent,
    StoredEvent,
    dead_letter_stream,
    decode_wire,
)
from breakout.common.ids import derived_event_id, external_event_id
from breakout.common.runtime.core import Core, Emit, SnapshottingCore
from breakout.common.store.port import CheckpointConflict, EventStore, StreamAppend

log = structlog.get_logger(__name__)


class ConsumerFenced(RuntimeError):
    """Another instance of this consumer moved the checkpoint: this one must restart."""


class RuntimeConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Tuning of one process application; every bus timing explicit."""

    fetch_batch: int = 256
    fetch_timeout_s: float = 1.0
    ack_wait_s: float = 30.0
    max_deliver: int = 10
    catch_up_batch: int = 1000
    commit_batch: int = 256  # inputs whose outputs and checkpoint commit together
    snapshot_every: int = 10_000
    retry_wait_max_s: float = 5.0


class ProcessApplication:
    """Runs one core against the store and the bus."""

    def __init__(
        self,
        name: str,
        core: Core,
        store: EventStore,
        bus: Bus | None,
        *,
        config: RuntimeConfig | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.name = name
        self.core = core
        self.store = store
        self.bus = bus
        self.config = config or RuntimeConfig()
        self.clock = clock or LiveClock()  # the shell's clock; the core never sees it
        self.checkpoint = 0
        # Compiled once: a group's core has several filters per symbol, tried on every event
        # read from the store.
        self._subjects = SubjectFilter(core.subjects)
        self._since_snapshot = 0
        self._stopping = asyncio.Event()
        self._log = log.bind(consumer=name)

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Rebuild the core's state and catch up from the store to its head."""
        await self.recover()
        await self.catch_up()

    async def run(self) -> None:
        """Start, then follow the bus until `stop()`."""
        if self.bus is None:
            raise RuntimeError(f"{self.name}: run() needs a bus; use start() for store-only runs")
        await self.start()
        consumer: PullConsumer | None = None
        failures = 0
        while not self._stopping.is_set():
            try:
                if consumer is None:
                    consumer = await self._consumer()
                    self._log.info("following bus", checkpoint=self.checkpoint)
                await self._follow(consumer)
                failures = 0
            except BusError as exc:
                # NATS restarting or unreachable: the store has everything, so keep up from it
                # while the bus is away; what the bus delivers later is skipped as done.
                failures += 1
                wait_s = min(self.config.retry_wait_max_s, 0.2 * 2 ** (failures - 1))
                self._log.warning("bus failed; catching up from the store", error=str(exc))
                consumer = None
                await self._pause(wait_s)
                await self.catch_up()
        self._log.info("stopped", checkpoint=self.checkpoint)

    async def _consumer(self) -> PullConsumer:
        assert self.bus is not None
        return await self.bus.pull_consumer(
            ConsumerConfig(
                durable=self.name,
                filter_subjects=self.core.subjects,
                ack_wait_s=self.config.ack_wait_s,
                max_deliver=self.config.max_deliver,
            )
        )

    async def _follow(self, consumer: PullConsumer) -> None:
        expected_next = await consumer.next_sequence()
        messages = await consumer.fetch(self.config.fetch_batch, self.config.fetch_timeout_s)
        await self._check_retention(expected_next)
        if self._stopping.is_set():
            for message in messages:
                # Not processed: let the bus hand it to whoever runs next, promptly.
                await message.nak()
            return
        await self.on_messages(messages)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    def stop(self) -> None:
        """Finish the message in hand, then leave `run()`."""
        self._stopping.set()

    def health(self) -> dict[str, object]:
        """Liveness for `/health`."""
        return {"ok": not self._stopping.is_set(), "checkpoint": self.checkpoint}

    # -- recovery and catch-up ------------------------------------------------------------

    async def recover(self) -> None:
        """Restore the latest snapshot and replay the events up to the checkpoint (no outputs)."""
        self.checkpoint = await self.store.checkpoint(self.name)
        cursor = 0
        if isinstance(self.core, SnapshottingCore):
            snapshot = await self.store.load_snapshot(self.name)
            if snapshot is not None and snapshot.position <= self.checkpoint:
                self.core.restore(snapshot.state)
                cursor = snapshot.position
        replayed = 0
        while cursor < self.checkpoint:
            batch = await self.store.read_all(
                after=cursor, limit=self.config.catch_up_batch, filter=self.core.store_filter
            )
            for event in batch:
                if event.position > self.checkpoint:
                    break
                if self._selects(event):
                    self._handle_safely(event)
                    replayed += 1
            if not batch or batch[-1].position >= self.checkpoint:
                break
            cursor = batch[-1].position
        self._log.info("recovered", checkpoint=self.checkpoint, replayed=replayed)

    async def catch_up(self) -> int:
        """Process every selected store event after the checkpoint up to the head."""
        handled = 0
        cursor = self.checkpoint
        while not self._stopping.is_set():
            batch = await self.store.read_all(
                after=cursor, limit=self.config.catch_up_batch, filter=self.core.store_filter
            )
            todo = [e for e in batch if self._selects(e) and e.position > self.checkpoint]
            for start in range(0, len(todo), self.config.commit_batch):
                await self.process_many(
                    [(e, None) for e in todo[start : start + self.config.commit_batch]]
                )
            handled += len(todo)
            if len(batch) < self.config.catch_up_batch:
                break
            cursor = max(batch[-1].position, cursor)
        head = await self.store.head_position()
        metrics.LAG_EVENTS.labels(self.name).set(max(0, head - self.checkpoint))
        self._log.info("caught up from store", handled=handled, checkpoint=self.checkpoint)
        return handled

    async def _check_retention(self, expected_next: int) -> None:
        # Messages from `expected_next` on were ours to see; if the stream no longer holds the
        # first of them, retention dropped some before we fetched them. The store has them:
        # catch up from it first (in order), then what was just fetched is skipped as done.
        assert self.bus is not None
        if await self.bus.first_sequence() > expected_next:
            self._log.warning("behind bus retention; catching up from the store")
            await self.catch_up()

    def _selects(self, event: RecordedEvent) -> bool:
        return self._subjects.matches(event.data.subject())

    # -- messages -------------------------------------------------------------------------

    async def on_message(self, message: BusMessage) -> None:
        """One message: see `on_messages`."""
        await self.on_messages([message])

    async def on_messages(self, messages: Sequence[BusMessage]) -> None:
        """Decode, skip what is processed, handle the rest in order, commit once, then ack.

        One commit per fetched batch: the outputs of every message and the checkpoint of the
        last go in one transaction (all or none), so a crash anywhere redelivers the batch
        and the checkpoint skips exactly what was committed. What cannot be decoded is
        dead-lettered on its own and acked at once.
        """
        started = time.perf_counter()
        todo: list[tuple[RecordedEvent, BusMessage | None]] = []
        settled: list[BusMessage] = []
        last = self.checkpoint
        for message in messages:
            try:
                event = decode_wire(message.data).decode()
            except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
                await self._dead_letter_undecodable(message, exc)
                await message.ack()
                continue
            settled.append(message)
            if event.position <= last:
                metrics.EVENTS_SKIPPED.labels(self.name).inc()
                continue
            todo.append((event, message))
            last = event.position
        for start in range(0, len(todo), self.config.commit_batch):
            await self.process_many(todo[start : start + self.config.commit_batch])
        for message in settled:
            await message.ack()
        if todo:
            metrics.HANDLER_SECONDS.labels(self.name).observe(
                (time.perf_counter() - started) / len(todo)
            )

    async def process(self, event: RecordedEvent, message: BusMessage | None = None) -> None:
        """Handle one event and commit its outputs with the checkpoint."""
        await self.process_many([(event, message)])

    async def process_many(self, items: Sequence[tuple[RecordedEvent, BusMessage | None]]) -> None:
        """Handle events in position order; commit all their outputs with the last checkpoint."""
        if not items:
            return
        appends: list[StreamAppend] = []
        for event, message in items:
            appends.extend(self._handle(event, message))
        position = items[-1][0].position
        try:
            await self.store.commit(self.name, position, appends)
        except CheckpointConflict as conflict:
            # Another instance of this consumer got there first: its outputs stand, ours are
            # dropped, and this core's state no longer matches the log. Stop; a restart
            # rebuilds the state (one running instance per consumer name is the rule).
            raise ConsumerFenced(
                f"{self.name}: another instance committed up to {conflict.checkpoint}"
            ) from conflict
        self.checkpoint = position
        metrics.EVENTS_IN.labels(self.name).inc(len(items))
        metrics.EVENTS_OUT.labels(self.name).inc(sum(len(a.events) for a in appends))
        await self._maybe_snapshot(len(items))

    def _handle(self, event: RecordedEvent, message: BusMessage | None) -> list[StreamAppend]:
        structlog.contextvars.bind_contextvars(
            correlation_id=str(event.correlation_id or event.event_id)
        )
        try:
            return self._appends(event, self.core.handle(event))
        except Exception as exc:  # a core bug: park the event, keep the consumer going
            self._log.error("handler failed", position=event.position, exc_info=True)
            metrics.DEAD_LETTERS.labels(self.name, "handler").inc()
            return [self._dead_letter_append(event, message, exc)]

    def _handle_safely(self, event: RecordedEvent) -> None:
        # Replay of already-committed inputs: a failure was dead-lettered the first time.
        try:
            self.core.handle(event)
        except Exception:
            self._log.warning("replayed event fails again", position=event.position)

    def _appends(self, event: RecordedEvent, emits: Sequence[Emit]) -> list[StreamAppend]:
        # Group consecutive emits per stream, keeping the order the core chose.
        appends: list[StreamAppend] = []
        for index, emit in enumerate(emits):
            new = NewEvent(
                event_id=derived_event_id(self.name, event.event_id, index),
                data=emit.event,
                occurred_at=emit.occurred_at or event.occurred_at,
                producer=self.name,
                causation_id=event.event_id,
                correlation_id=event.correlation_id or event.event_id,
            )
            last = appends[-1] if appends else None
            if last is not None and last.stream == emit.stream and emit.expected_version is None:
                appends[-1] = StreamAppend(
                    stream=last.stream,
                    events=[*last.events, new],
                    expected_version=last.expected_version,
                )
            else:
                appends.append(
                    StreamAppend(
                        stream=emit.stream, events=[new], expected_version=emit.expected_version
                    )
                )
        return appends

    async def _maybe_snapshot(self, handled: int) -> None:
        self._since_snapshot += handled
        if self._since_snapshot >= self.config.snapshot_every and isinstance(
            self.core, SnapshottingCore
        ):
            await self.store.save_snapshot(self.name, self.checkpoint, self.core.snapshot())
            self._since_snapshot = 0

    # -- dead letters ---------------------------------------------------------------------

    def _dead_letter_append(
        self, event: RecordedEvent, message: BusMessage | None, exc: BaseException
    ) -> StreamAppend:
        letter = MessageDeadLettered(
            consumer=self.name,
            reason=_reason(exc),
            bus_subject=message.subject if message else event.data.subject(),
            bus_sequence=message.sequence if message else None,
            input_event_id=event.event_id,
            input_position=event.position,
            input_type=event.type,
        )
        new = NewEvent(
            event_id=derived_event_id(self.name, event.event_id, -1),
            data=letter,
            occurred_at=event.occurred_at,
            producer=self.name,
            causation_id=event.event_id,
            correlation_id=event.correlation_id or event.event_id,
        )
        return StreamAppend(stream=dead_letter_stream(self.name), events=[new])

    async def _dead_letter_undecodable(self, message: BusMessage, exc: BaseException) -> None:
        # Not a store event we can place in the order: record it (idempotently, keyed by its
        # bus sequence) without moving the checkpoint.
        stored = _try_envelope(message.data)
        letter = MessageDeadLettered(
            consumer=self.name,
            reason=_reason(exc),
            bus_subject=message.subject,
            bus_sequence=message.sequence,
            input_event_id=stored.event_id if stored else None,
            input_position=stored.position if stored else None,
            input_type=stored.type if stored else None,
            payload_b64=base64.b64encode(message.data[:65536]).decode(),
        )
        new = NewEvent(
            event_id=external_event_id("dlq", self.name, message.subject, message.sequence),
            data=letter,
            occurred_at=stored.recorded_at if stored else self.clock.now(),
            producer=self.name,
        )
        await self.store.append(dead_letter_stream(self.name), [new])
        metrics.DEAD_LETTERS.labels(self.name, "undecodable").inc()
        self._log.warning("dead-lettered", subject=message.subject, reason=letter.reason)


def _reason(exc: BaseException) -> str:
    where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    at = f" at {where[0].filename.rsplit('/', 1)[-1]}:{where[0].lineno}" if where else ""
    return f"{type(exc).__name__}: {exc}{at}"[:2000]


def _try_envelope(payload: bytes) -> StoredEvent | None:
    try:
        return decode_wire(payload)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
