"""Durable pull consumers of the in-memory bus: per-consumer acks, ack_wait and max_deliver."""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

from breakout.common.bus.matching import matches_any
from breakout.common.bus.port import BusMessage, ConsumerConfig


class Wakeup:
    """Wakes every waiting fetch when something may be deliverable (a publish, a nak)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        """Release the current waiters; later waiters get a fresh event."""
        self._event.set()
        self._event = asyncio.Event()

    def waiter(self) -> asyncio.Event:
        """The event the next notify() sets; take it before looking for work, so none is missed."""
        return self._event


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message in the in-memory stream."""

    subject: str
    data: bytes
    headers: Mapping[str, str]
    sequence: int


@dataclass(slots=True)
class _Pending:
    deliveries: int
    due_at: float  # loop time when it is redelivered unless settled


class MemoryDelivery:
    """One delivery of a stored message to a consumer."""

    __slots__ = ("_consumer", "_stored", "num_delivered")

    def __init__(self, stored: StoredMessage, num_delivered: int, consumer: MemoryPullConsumer):
        self._stored = stored
        self._consumer = consumer
        self.num_delivered = num_delivered

    @property
    def subject(self) -> str:
        """Subject without the deployment prefix."""
        return self._stored.subject

    @property
    def data(self) -> bytes:
        """Payload."""
        return self._stored.data

    @property
    def headers(self) -> Mapping[str, str]:
        """Headers as published."""
        return self._stored.headers

    @property
    def sequence(self) -> int:
        """Stream sequence."""
        return self._stored.sequence

    async def ack(self) -> None:
        """Processed: never deliver again."""
        self._consumer.settle(self._stored.sequence)

    async def nak(self, delay_s: float | None = None) -> None:
        """Not processed: deliver again (after `delay_s`)."""
        self._consumer.nak(self._stored.sequence, delay_s)

    async def term(self) -> None:
        """Never deliver again, not processed."""
        self._consumer.settle(self._stored.sequence)


class MemoryPullConsumer:
    """A durable pull consumer over the in-memory stream."""

    def __init__(
        self,
        config: ConsumerConfig,
        messages: OrderedDict[int, StoredMessage],
        wakeup: Wakeup,
        *,
        start: int,
    ) -> None:
        self._config = config
        self._messages = messages  # the bus's stream, shared: contiguous sequences, oldest first
        self._wakeup = wakeup
        self._cursor = start  # next stream sequence to consider for a first delivery
        self._pending: dict[int, _Pending] = {}  # delivered, not yet acked or termed

    def update(self, config: ConsumerConfig) -> None:
        """New filters and timings; the position and the pending acks stay (as on NATS)."""
        self._config = config

    def settle(self, sequence: int) -> None:
        """Ack or term: this consumer never delivers `sequence` again."""
        self._pending.pop(sequence, None)

    def nak(self, sequence: int, delay_s: float | None) -> None:
        """Make `sequence` due again now, or after `delay_s`."""
        pending = self._pending.get(sequence)
        if pending is not None:
            pending.due_at = asyncio.get_running_loop().time() + (delay_s or 0.0)
            self._wakeup.notify()

    async def fetch(self, batch: int, timeout_s: float) -> list[BusMessage]:
        """Up to `batch` messages; an empty list if none arrived within `timeout_s`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            waiter = self._wakeup.waiter()
            now = loop.time()
            delivered = self._collect(batch, now)
            if delivered or now >= deadline:
                return delivered
            # Sleep until a publish or nak wakes us, the next redelivery falls due, or time is up.
            wake_at = min([deadline, *(p.due_at for p in self._pending.values())])
            with contextlib.suppress(TimeoutError):  # timing out is how a redelivery wakes us
                await asyncio.wait_for(waiter.wait(), max(wake_at - now, 0.0))

    def _collect(self, batch: int, now: float) -> list[BusMessage]:
        out: list[BusMessage] = []
        # Redeliveries first, oldest first, as the server does.
        for sequence in sorted(s for s, p in self._pending.items() if p.due_at <= now):
            if len(out) >= batch:
                return out
            stored = self._messages.get(sequence)
            exhausted = 0 < self._config.max_deliver <= self._pending[sequence].deliveries
            if stored is None or exhausted:
                del self._pending[sequence]  # gone by retention, or out of deliveries
                continue
            out.append(self._deliver(stored, now))
        if self._messages:
            # Retention dropped what we had not read yet: continue at the oldest kept (NATS does
            # the same silently; next_sequence() before this fetch showed the gap).
            self._cursor = max(self._cursor, next(iter(self._messages)))
        while len(out) < batch and len(self._pending) < self._config.max_ack_pending:
            stored = self._messages.get(self._cursor)
            if stored is None:
                break
            self._cursor += 1
            if matches_any(self._config.filter_subjects, stored.subject):
                out.append(self._deliver(stored, now))
        return out

    def _deliver(self, stored: StoredMessage, now: float) -> MemoryDelivery:
        previous = self._pending.get(stored.sequence)
        deliveries = (previous.deliveries if previous else 0) + 1
        self._pending[stored.sequence] = _Pending(deliveries, now + self._config.ack_wait_s)
        return MemoryDelivery(stored, deliveries, self)

    async def pending(self) -> int:
        """Messages in the stream not yet delivered to this consumer."""
        return sum(
            1
            for sequence, stored in self._messages.items()
            if sequence >= self._cursor
            and matches_any(self._config.filter_subjects, stored.subject)
        )

    async def next_sequence(self) -> int:
        """The stream sequence this consumer will deliver next (for retention-gap checks)."""
        return self._cursor
