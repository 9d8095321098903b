"""The bus port: NATS JetStream semantics that the relay, the runtime and dashboards rely on.

One JetStream stream per deployment (or per test run, through `prefix`) holds every subject, so
a consumer that filters several subjects still sees them in the one order the relay published,
which is the store's order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Protocol

import msgspec

# The header the relay sets on every message (position, type and stream travel in the body).
MSG_ID = "Nats-Msg-Id"

# First subject tokens of every domain (ARCHITECTURE.md, "Bus"). A stream without a prefix
# captures exactly these; a new domain is added here.
DOMAIN_ROOTS: tuple[str, ...] = (
    "md",
    "feat",
    "regime",
    "news",
    "macro",
    "scan",
    "sig",
    "risk",
    "exec",
    "pos",
    "recon",
    "ctl",
    "dlq",
    "ops",
)


class BusError(Exception):
    """Base of the bus's typed errors."""


class WrongLastSequence(BusError):
    """A publish guarded by an expected last stream sequence found another one (or a gap)."""


class PublishAck(msgspec.Struct, frozen=True):
    """JetStream's answer to a publish: where it was stored, and whether it was a duplicate."""

    sequence: int
    duplicate: bool = False


class OutgoingMessage(msgspec.Struct, frozen=True, kw_only=True):
    """A message to publish. `subject` is without the deployment prefix."""

    subject: str
    payload: bytes
    msg_id: str | None = None
    headers: Mapping[str, str] = msgspec.field(default_factory=dict)


class ConsumerConfig(msgspec.Struct, frozen=True, kw_only=True):
    """A durable pull consumer; every timing is explicit (no server defaults)."""

    durable: str
    filter_subjects: tuple[str, ...]
    ack_wait_s: float = 30.0
    max_deliver: int = 5
    max_ack_pending: int = 20_000
    start_sequence: int | None = None  # None: from the first message still in the stream


class BusMessage(Protocol):
    """A delivered message. `subject` is without the deployment prefix."""

    @property
    def subject(self) -> str: ...
    @property
    def data(self) -> bytes: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def sequence(self) -> int:
        """Stream sequence (0 on a plain subscription)."""
        ...

    @property
    def num_delivered(self) -> int:
        """How many times this message has been delivered, this time included."""
        ...

    async def ack(self) -> None:
        """Processed: never deliver again."""
        ...

    async def nak(self, delay_s: float | None = None) -> None:
        """Not processed: deliver again (after `delay_s`)."""
        ...

    async def term(self) -> None:
        """Never deliver again, not processed."""
        ...


class PullConsumer(Protocol):
    """A durable pull consumer bound to its filter subjects."""

    async def fetch(self, batch: int, timeout_s: float) -> list[BusMessage]:
        """Up to `batch` messages; an empty list if none arrived within `timeout_s`."""
        ...

    async def pending(self) -> int:
        """Messages in the stream not yet delivered to this consumer."""
        ...

    async def next_sequence(self) -> int:
        """The stream sequence this consumer will deliver next (for retention-gap checks)."""
        ...


class Bus(Protocol):
    """NATS JetStream as Breakout uses it."""

    @property
    def prefix(self) -> str:
        """Subject prefix of this deployment or test run ('' in production)."""
        ...

    async def ensure_stream(self) -> None:
        """Create or update the stream (subjects, retention, dedup window). Idempotent."""
        ...

    async def publish(
        self, message: OutgoingMessage, expected_last_sequence: int | None = None
    ) -> PublishAck:
        """Publish one message and wait for the stream's ack.

        With `expected_last_sequence`, the stream refuses the message (`WrongLastSequence`)
        unless its last sequence is exactly that: how the relay keeps order and fences a
        deposed leader.
        """
        ...

    async def publish_batch(
        self, messages: Sequence[OutgoingMessage], expected_last_sequence: int | None = None
    ) -> list[PublishAck]:
        """Publish in order, pipelined; with `expected_last_sequence` each message is chained
        to the previous one, so a message is stored only if all before it were."""
        ...

    async def last_sequence(self) -> int:
        """The stream's last sequence (0 if nothing was ever published)."""
        ...

    async def first_sequence(self) -> int:
        """The stream's first retained sequence."""
        ...

    async def get(self, sequence: int) -> BusMessage | None:
        """The message stored at `sequence`, or None if it is gone (retention) or never was."""
        ...

    async def pull_consumer(self, config: ConsumerConfig) -> PullConsumer:
        """Create (or bind to) a durable pull consumer."""
        ...

    async def delete_consumer(self, durable: str) -> None:
        """Remove a durable consumer (no error if absent)."""
        ...

    def subscribe(self, subject: str) -> AsyncIterator[BusMessage]:
        """Plain (non-durable) subscription, as a dashboard would make."""
        ...

    async def publish_raw(self, subject: str, payload: bytes) -> None:
        """Core-NATS publish that bypasses the relay (tests of bad input; never for events)."""
        ...

    async def close(self) -> None:
        """Drain and close."""
        ...
