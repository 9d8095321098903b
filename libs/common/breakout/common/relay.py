"""The relay: the only publisher of stored events. Store order in, the same order on the bus.

Every event goes out with `Nats-Msg-Id = event_id` (JetStream drops a re-publish within its
duplicate window); its store position travels in the envelope (consumers skip what they have
already processed), not in a header, because every consumer parses every header of every
message. Each batch is published with a chained expected-last-sequence, so the stream stores a
message only if every message before it was stored: no gap and no reordering can reach the bus,
and a relay that lost its leadership without knowing it is refused by the stream itself.

Where to resume is read from the bus (the position in the last relayed message's envelope), so a
relay killed between publishing and saving its cursor publishes nothing twice; the cursor saved
in the store is the fallback when the bus has lost its messages.

A bus failure (NATS restarting, an ack that never came) is not fatal: the relay lets go of its
leadership, backs off, and resynchronises from the bus's tail, because only the stream knows which
of the messages in flight it stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Coroutine
from typing import Any

import msgspec
import structlog

from breakout.common import metrics
from breakout.common.bus.port import (
    Bus,
    BusError,
    BusMessage,
    OutgoingMessage,
    WrongLastSequence,
)
from breakout.common.events import StoredEvent, decode_event, encode_wire
from breakout.common.leader import LeaderLock
from breakout.common.store.port import EventStore

log = structlog.get_logger(__name__)


# Events read and published per batch when the relay is behind (a caught-up relay publishes what
# has arrived). Each batch ends in a drain: every ack is awaited before the cursor moves, so the
# batch must be large enough that the drain is rare; 5,000 envelopes are ~2 MB in flight.
DEFAULT_BATCH_SIZE = 5000


class _Head(msgspec.Struct):
    position: int
    event_id: uuid.UUID


_head_decoder = msgspec.json.Decoder(_Head)


def _head(message: BusMessage) -> _Head | None:
    try:
        return _head_decoder.decode(message.data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def relayed_position(message: BusMessage) -> int | None:
    """The store position a relayed message carries; None for anything else on the stream."""
    head = _head(message)
    return None if head is None else head.position


async def relayed_positions(bus: Bus) -> list[int]:
    """The store position of every relayed message still on the bus, in stream order."""
    positions = []
    for sequence in range(max(1, await bus.first_sequence()), await bus.last_sequence() + 1):
        message = await bus.get(sequence)
        position = None if message is None else relayed_position(message)
        if position is not None:
            positions.append(position)
    return positions


class RelayError(Exception):
    """The relay cannot publish an event (it stops rather than skip or reorder)."""


class Relay:
    """Tails the store in its total order and publishes every event to its subject."""

    def __init__(
        self,
        store: EventStore,
        bus: Bus,
        leader: LeaderLock,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        idle_wait_s: float = 0.5,
        resync_scan_limit: int = 10_000,
        retry_wait_s: float = 0.2,
        retry_wait_max_s: float = 5.0,
    ) -> None:
        self.store = store
        self.bus = bus
        self.leader = leader
        self.name = f"relay:{bus.prefix}" if bus.prefix else "relay"
        self.batch_size = batch_size
        self.idle_wait_s = idle_wait_s
        self.resync_scan_limit = resync_scan_limit
        self.retry_wait_s = retry_wait_s
        self.retry_wait_max_s = retry_wait_max_s
        self.bus_failures = 0
        self.cursor = 0
        self._saved = 0
        self._stopping = asyncio.Event()
        self._leading = False
        self._log = log.bind(relay=self.name)

    def stop(self) -> None:
        """Finish the batch in hand, then leave `run()`."""
        self._stopping.set()

    def health(self) -> dict[str, object]:
        """Liveness for `/health`: a standby relay is healthy too."""
        return {"ok": True, "cursor": self.cursor, "leading": self._leading}

    async def run(self) -> None:
        """Lead when elected, publish until stopped; resynchronise on a fenced publish."""
        await self._until_stream()
        consecutive = 0
        while not self._stopping.is_set():
            if not await self._elected():
                break
            self._leading = True
            started_at = self.cursor
            try:
                await self._lead()
            except WrongLastSequence as exc:
                # Someone else wrote to the stream (another leader, or a stray publisher):
                # find where the bus really is and carry on from there.
                self._log.warning("publish fenced; resynchronising", error=str(exc))
            except BusError as exc:
                consecutive = consecutive + 1 if self.cursor == started_at else 1
                self.bus_failures += 1
                wait_s = min(self.retry_wait_max_s, self.retry_wait_s * 2 ** (consecutive - 1))
                self._log.warning("bus failed; resynchronising", error=str(exc), wait_s=wait_s)
                metrics.RELAY_BUS_FAILURES.labels(self.name).inc()
                await self._pause(wait_s)
            finally:
                self._leading = False
                await self.leader.release()

    async def _until_stream(self) -> None:
        # The bus may not be up yet when the relay starts: wait for it, as for an outage.
        wait_s = self.retry_wait_s
        while not self._stopping.is_set():
            try:
                await self.bus.ensure_stream()
                return
            except BusError as exc:
                self._log.warning("bus unavailable", error=str(exc), wait_s=wait_s)
                await self._pause(wait_s)
                wait_s = min(self.retry_wait_max_s, wait_s * 2)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _elected(self) -> bool:
        # A standby waits for the lock, but must still hear stop().
        acquire = asyncio.create_task(self.leader.acquire())
        stop = asyncio.create_task(self._stopping.wait())
        await asyncio.wait({acquire, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if acquire.done():
            acquire.result()
            return True
        acquire.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await acquire
        await self.leader.release()
        return False

    async def _lead(self) -> None:
        self.cursor, last_sequence = await self.resync()
        self._log.info("relaying", cursor=self.cursor, bus_last_sequence=last_sequence)
        # Read-ahead: the next batch is fetched from the store while this one is acked.
        ahead: asyncio.Task[list[StoredEvent]] | None = None
        try:
            while not self._stopping.is_set() and not self.leader.lost.is_set():
                batch = await (ahead or self._read(self.cursor))
                ahead = None
                if not batch:
                    await self.store.wait_for_append(self.idle_wait_s)
                    continue
                ahead = asyncio.create_task(self._read(batch[-1].position))
                last_sequence = await self._publish(batch, last_sequence)
                metrics.RELAYED.labels(self.name).inc(len(batch))
                await self._save_cursor()
        finally:
            if ahead is not None:
                ahead.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ahead

    def _read(self, after: int) -> Coroutine[Any, Any, list[StoredEvent]]:
        return self.store.read_all_raw(after=after, limit=self.batch_size)

    async def publish_pending(self) -> int:
        """Publish everything up to the store's head once (backtests, tests); return the count."""
        await self.bus.ensure_stream()
        self.cursor, last_sequence = await self.resync()
        published = 0
        while batch := await self.store.read_all_raw(after=self.cursor, limit=self.batch_size):
            last_sequence = await self._publish(batch, last_sequence)
            published += len(batch)
        await self._save_cursor()
        return published

    async def _publish(self, batch: list[StoredEvent], last_sequence: int) -> int:
        # A duplicate's ack carries the original (older) sequence; only the stream knows
        # where its tail is then.
        acks = await self.bus.publish_batch(
            [self._message(event) for event in batch], expected_last_sequence=last_sequence
        )
        self.cursor = batch[-1].position
        if any(ack.duplicate for ack in acks):
            return await self.bus.last_sequence()
        return acks[-1].sequence

    async def resync(self) -> tuple[int, int]:
        """Where to resume: (last store position on the bus, the bus's last sequence)."""
        self._saved = await self.store.checkpoint(self.name)
        last_sequence = await self.bus.last_sequence()
        first_sequence = max(1, await self.bus.first_sequence())
        floor = max(first_sequence, last_sequence - self.resync_scan_limit + 1)
        for sequence in range(last_sequence, floor - 1, -1):
            message = await self.bus.get(sequence)
            head = None if message is None else _head(message)
            if head is not None and await self._relayed_by_us(head):
                return head.position, last_sequence
        return self._saved, last_sequence

    async def _relayed_by_us(self, head: _Head) -> bool:
        # An envelope on the stream is only trusted as a resume point if the store holds that
        # very event at that position: a stray publisher's message could claim any position.
        stored = await self.store.read_all_raw(after=head.position - 1, limit=1)
        return bool(stored) and (stored[0].position, stored[0].event_id) == (
            head.position,
            head.event_id,
        )

    def _message(self, event: StoredEvent) -> OutgoingMessage:
        try:
            subject = decode_event(event.type, event.data).subject()
        except (ValueError, NotImplementedError) as exc:
            raise RelayError(
                f"cannot route event {event.event_id} at position {event.position}: {exc}"
            ) from exc
        # The envelope in the body carries position, type and stream; the relay's only header
        # of its own is the id (the bus adds the chaining pair), because every header is
        # parsed per message by client and server alike.
        return OutgoingMessage(
            subject=subject, payload=encode_wire(event), msg_id=str(event.event_id)
        )

    async def _save_cursor(self) -> None:
        if self.cursor > self._saved:
            await self.store.commit(self.name, self.cursor, [])
            self._saved = self.cursor
        metrics.RELAY_LAG.labels(self.name).set(
            max(0, await self.store.head_position() - self.cursor)
        )
