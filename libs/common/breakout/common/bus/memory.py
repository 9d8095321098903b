"""The in-process twin of the NATS bus: one ordered stream, with JetStream's observable rules.

It is the server and the client at once: `close()` ends plain subscriptions but keeps the stream
and the durable consumers, so "reconnecting" is using the same instance again.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence

from breakout.common.bus.matching import subject_matches
from breakout.common.bus.memory_consumer import MemoryPullConsumer, StoredMessage, Wakeup
from breakout.common.bus.message import PlainMessage, named
from breakout.common.bus.port import (
    DOMAIN_ROOTS,
    MSG_ID,
    BusError,
    BusMessage,
    ConsumerConfig,
    OutgoingMessage,
    PublishAck,
    WrongLastSequence,
)

EXPECTED_LAST_SEQUENCE = "Nats-Expected-Last-Sequence"
_CLOSED = None


class InMemoryBus:
    """`Bus` in process memory, for unit tests, backtests and replays."""

    def __init__(
        self,
        prefix: str = "",
        *,
        duplicate_window_s: float = 120.0,
        max_msgs: int | None = None,
        max_payload: int = 1024 * 1024,
    ) -> None:
        self._prefix = prefix
        self._max_payload = max_payload  # NATS's default max_payload: the client refuses more
        self._duplicate_window_s = duplicate_window_s
        self._max_msgs = max_msgs
        self._messages: OrderedDict[int, StoredMessage] = OrderedDict()
        self._last = 0
        self._msg_ids: OrderedDict[str, tuple[int, float]] = OrderedDict()  # id -> (seq, time)
        self._consumers: dict[str, MemoryPullConsumer] = {}
        self._subscribers: list[tuple[str, asyncio.Queue[PlainMessage | None]]] = []
        self._wakeup = Wakeup()

    @property
    def prefix(self) -> str:
        """Subject prefix of this deployment or test run ('' in production)."""
        return self._prefix

    async def ensure_stream(self) -> None:
        """Nothing to create: the stream exists with the bus. Idempotent."""

    def _captured(self, subject: str) -> bool:
        # As on NATS: a prefixed stream holds everything under the prefix, the production
        # stream only the domain roots.
        return bool(self._prefix) or subject.split(".", 1)[0] in DOMAIN_ROOTS

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _seen(self, msg_id: str) -> int | None:
        horizon = self._now() - self._duplicate_window_s
        while self._msg_ids:
            oldest = next(iter(self._msg_ids.values()))
            if oldest[1] >= horizon:
                break
            self._msg_ids.popitem(last=False)
        seen = self._msg_ids.get(msg_id)
        return None if seen is None else seen[0]

    def _append(self, subject: str, data: bytes, headers: dict[str, str]) -> int:
        self._last += 1
        self._messages[self._last] = StoredMessage(
            subject=subject, data=data, headers=headers, sequence=self._last
        )
        if self._max_msgs is not None:
            while len(self._messages) > self._max_msgs:
                self._messages.popitem(last=False)  # limits retention drops the oldest
        self._fan_out(PlainMessage(subject=subject, data=data, headers=headers))
        self._wakeup.notify()
        return self._last

    def _fan_out(self, message: PlainMessage) -> None:
        for pattern, queue in self._subscribers:
            if subject_matches(pattern, message.subject):
                queue.put_nowait(message)

    async def publish(
        self, message: OutgoingMessage, expected_last_sequence: int | None = None
    ) -> PublishAck:
        """Store one message (dedup first, then the expected-sequence check, as on NATS)."""
        if not self._captured(message.subject):
            raise BusError(f"publish to {message.subject}: no stream captures it")
        if len(message.payload) > self._max_payload:
            raise BusError(f"publish to {message.subject}: maximum payload exceeded")
        headers = dict(message.headers)
        if message.msg_id is not None:
            headers[MSG_ID] = message.msg_id
            seen = self._seen(message.msg_id)
            if seen is not None:
                return PublishAck(sequence=seen, duplicate=True)
        if expected_last_sequence is not None:
            if expected_last_sequence != self._last:
                raise WrongLastSequence(
                    f"publish to {message.subject}: wrong last sequence: {self._last}"
                )
            headers[EXPECTED_LAST_SEQUENCE] = str(expected_last_sequence)
        sequence = self._append(message.subject, message.payload, headers)
        if message.msg_id is not None:
            self._msg_ids[message.msg_id] = (sequence, self._now())
        return PublishAck(sequence=sequence)

    async def publish_batch(
        self, messages: Sequence[OutgoingMessage], expected_last_sequence: int | None = None
    ) -> list[PublishAck]:
        """Publish in order; with `expected_last_sequence` a message is stored only if all
        before it were (a duplicate counts as stored and keeps the chain where it is)."""
        if expected_last_sequence is not None:
            messages = named(messages)  # as NatsBus does, so both store the same headers
        acks: list[PublishAck] = []
        expected = expected_last_sequence
        for message in messages:
            try:
                acks.append(await self.publish(message, expected))
            except BusError as exc:
                raise type(exc)(
                    f"{exc} (batch of {len(messages)}: {len(acks)} acked before it, 0 after it)"
                ) from exc
            if expected is not None:
                expected = self._last  # chained: the next one expects this one (or the dup's)
        return acks

    async def last_sequence(self) -> int:
        """The stream's last sequence (0 if nothing was ever published)."""
        return self._last

    async def first_sequence(self) -> int:
        """The stream's first retained sequence (last + 1 when all are gone, 0 if none ever)."""
        if self._messages:
            return next(iter(self._messages))
        return self._last + 1 if self._last else 0

    async def get(self, sequence: int) -> BusMessage | None:
        """The message stored at `sequence`, or None if it is gone (retention) or never was."""
        stored = self._messages.get(sequence)
        if stored is None:
            return None
        return PlainMessage(
            subject=stored.subject,
            data=stored.data,
            headers=dict(stored.headers),
            sequence=sequence,
        )

    async def pull_consumer(self, config: ConsumerConfig) -> MemoryPullConsumer:
        """Create the durable, or update an existing one in place (its position is kept)."""
        consumer = self._consumers.get(config.durable)
        if consumer is None:
            consumer = MemoryPullConsumer(
                config,
                self._messages,
                self._wakeup,
                start=self._start(config.start_sequence),
            )
            self._consumers[config.durable] = consumer
        else:
            consumer.update(config)
        return consumer

    def _start(self, start_sequence: int | None) -> int:
        # NATS clamps a start into [first retained, last + 1], and starts an empty stream at 1.
        first = next(iter(self._messages)) if self._messages else self._last + 1
        if start_sequence is None:
            return first
        return min(max(start_sequence, first), self._last + 1)

    async def delete_consumer(self, durable: str) -> None:
        """Remove a durable consumer (no error if absent)."""
        self._consumers.pop(durable, None)

    async def subscribe(self, subject: str) -> AsyncIterator[BusMessage]:
        """Plain (non-durable) subscription; interest starts at the first iteration."""
        queue: asyncio.Queue[PlainMessage | None] = asyncio.Queue()
        entry = (subject, queue)
        self._subscribers.append(entry)
        try:
            while (message := await queue.get()) is not _CLOSED:
                assert message is not None
                yield message
        finally:
            if entry in self._subscribers:
                self._subscribers.remove(entry)

    async def publish_raw(self, subject: str, payload: bytes) -> None:
        """Publish that bypasses the relay; the stream captures it as NATS would."""
        if self._captured(subject):
            self._append(subject, payload, {})
        else:
            self._fan_out(PlainMessage(subject=subject, data=payload))

    async def close(self) -> None:
        """End plain subscriptions; the stream and the durables stay, as on a server."""
        for _, queue in self._subscribers:
            queue.put_nowait(_CLOSED)
        self._subscribers.clear()
