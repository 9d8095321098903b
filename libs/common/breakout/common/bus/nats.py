"""The bus over NATS JetStream, through nats-py: one stream per deployment (or test prefix)."""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import AsyncIterator, Sequence

import nats
import nats.errors
import structlog
from nats.aio.client import Client
from nats.js import JetStreamContext, api
from nats.js.errors import APIError, NotFoundError

from breakout.common.bus.message import PlainMessage, named
from breakout.common.bus.nats_consumer import (
    NatsPullConsumer,
    bind_pull_consumer,
    server_filters_many,
)
from breakout.common.bus.nats_js import SettlingJetStream
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

log = structlog.get_logger(__name__)

EXPECTED_LAST_SEQUENCE = "Nats-Expected-Last-Sequence"
EXPECTED_LAST_MSG_ID = "Nats-Expected-Last-Msg-Id"
# JetStream's err_codes for a failed expected-last-sequence / expected-last-msg-id check.
_WRONG_LAST = frozenset({10071, 10070})
# Unacked publishes in flight per batch, and per connection: concurrent batches share the
# connection's limit, which only blocks (without timeout) when all of them are stalled.
_WINDOW = 2000
_MAX_PENDING = 64 * _WINDOW
# The bus is a buffer in front of the store (a consumer behind it catches up from the store), so
# a day is plenty. JetStream *reserves* max_bytes against the server's max_store for each stream,
# so the default stays small enough for many test streams on one machine; a deployment passes
# its own size.
DEFAULT_MAX_AGE_S = 86_400.0
DEFAULT_MAX_BYTES = 2 * 1024**3
# Headers a direct get adds to describe the stored message; they were never published.
_DIRECT_GET_HEADERS = frozenset(
    {
        "Nats-Stream",
        "Nats-Subject",
        "Nats-Sequence",
        "Nats-Time-Stamp",
        "Nats-Num-Pending",
        "Nats-Last-Sequence",
    }
)


def stream_name(prefix: str) -> str:
    """JetStream stream name of a deployment prefix: `BREAKOUT` or `BREAKOUT_<PREFIX>`."""
    if not prefix:
        return "BREAKOUT"
    return "BREAKOUT_" + re.sub(r"[^A-Za-z0-9_-]", "_", prefix).upper()


def stream_subjects(prefix: str) -> list[str]:
    """Wire subjects the stream captures: everything under the prefix, or every domain root."""
    if prefix:
        return [f"{prefix}.>"]
    return [f"{root}.>" for root in DOMAIN_ROOTS]


def inbox_prefix(user: str) -> str:
    """The reply subjects of a NATS user: its permissions let it subscribe to these alone."""
    return f"_INBOX_{user}"


def client_auth(user: str | None, password: str | None) -> dict[str, str]:
    """`nats.connect` arguments for a user (none: the URL's own credentials, if any)."""
    if not user:
        return {}
    return {"user": user, "password": password or "", "inbox_prefix": inbox_prefix(user)}


def _same_stream(current: api.StreamConfig, wanted: api.StreamConfig) -> bool:
    fields = ("subjects", "retention", "storage", "discard", "max_bytes", "allow_direct")
    same = all(getattr(current, f) == getattr(wanted, f) for f in fields)
    if wanted.num_replicas is not None:  # only the one that manages the stream says
        same = same and (current.num_replicas or 1) == wanted.num_replicas
    seconds = ("max_age", "duplicate_window")
    return same and all(
        abs((getattr(current, f) or 0) - (getattr(wanted, f) or 0)) < 1e-6 for f in seconds
    )


def _error(exc: Exception, what: str) -> BusError:
    if isinstance(exc, APIError) and exc.err_code in _WRONG_LAST:
        return WrongLastSequence(f"{what}: {exc.description}")
    return BusError(f"{what}: {exc!r}")


async def _settled(future: asyncio.Future[api.PubAck], timeout_s: float) -> bool:
    """Wait for an ack (or its refusal); False if none came in time."""
    if not future.done():
        await asyncio.wait([future], timeout=timeout_s)
    return future.done()


def _outcome(future: asyncio.Future[api.PubAck], subject: str) -> PublishAck | BusError:
    if future.cancelled():
        return BusError(f"publish to {subject}: no ack in time")
    exc = future.exception()
    if exc is None:
        ack = future.result()
        return PublishAck(sequence=ack.seq, duplicate=bool(ack.duplicate))
    failure = _error(exc, f"publish to {subject}") if isinstance(exc, Exception) else None
    if failure is None:
        raise exc
    failure.__cause__ = exc
    return failure


class NatsBus:
    """`Bus` over a NATS server with JetStream; subjects at the port carry no prefix."""

    def __init__(
        self,
        client: Client,
        prefix: str,
        *,
        max_age_s: float,
        max_bytes: int,
        duplicate_window_s: float,
        ack_timeout_s: float,
        replicas: int | None = None,
    ) -> None:
        self._nc = client
        self._js: JetStreamContext = SettlingJetStream(
            client, publish_async_max_pending=_MAX_PENDING
        )
        self._prefix = prefix
        self._stream = stream_name(prefix)
        self._max_age_s = max_age_s
        self._max_bytes = max_bytes
        self._duplicate_window_s = duplicate_window_s
        self._ack_timeout_s = ack_timeout_s
        self._replicas = replicas

    @classmethod
    async def connect(
        cls,
        url: str,
        prefix: str = "",
        *,
        max_age_s: float = DEFAULT_MAX_AGE_S,
        max_bytes: int = DEFAULT_MAX_BYTES,
        duplicate_window_s: float = 120.0,
        ack_timeout_s: float = 10.0,
        reconnect_time_wait_s: float = 2.0,
        name: str = "breakout",
        user: str | None = None,
        password: str | None = None,
        replicas: int | None = None,
    ) -> NatsBus:
        """Connect to NATS; the client reconnects forever and logs every disconnect.

        With `user` (a service's own NATS user, see `permissions.py`) replies come to that
        user's inbox prefix, the only one its permissions let it subscribe to. `replicas` is
        the stream's replication factor in a JetStream cluster, for the one that manages the
        stream (the relay); None leaves the stream as it is (created with one replica).
        """
        bound = log.bind(url=url, prefix=prefix)

        async def disconnected() -> None:
            bound.warning("nats.disconnected")

        async def reconnected() -> None:
            bound.info("nats.reconnected")

        async def closed() -> None:
            bound.info("nats.closed")

        async def error(exc: Exception) -> None:
            bound.error("nats.error", error=repr(exc))

        client = await nats.connect(
            url,
            name=name,
            max_reconnect_attempts=-1,  # a service outlives a NATS restart; it never gives up
            reconnect_time_wait=reconnect_time_wait_s,
            disconnected_cb=disconnected,
            reconnected_cb=reconnected,
            closed_cb=closed,
            error_cb=error,
            **client_auth(user, password),
        )
        return cls(
            client,
            prefix,
            max_age_s=max_age_s,
            max_bytes=max_bytes,
            duplicate_window_s=duplicate_window_s,
            ack_timeout_s=ack_timeout_s,
            replicas=replicas,
        )

    @property
    def prefix(self) -> str:
        """Subject prefix of this deployment or test run ('' in production)."""
        return self._prefix

    @property
    def stream(self) -> str:
        """Name of the JetStream stream behind this bus."""
        return self._stream

    @property
    def server_filters_many(self) -> bool:
        """Whether the server filters a consumer on several subjects (NATS 2.10+)."""
        return server_filters_many(self._nc)

    def _wire(self, subject: str) -> str:
        return f"{self._prefix}.{subject}" if self._prefix else subject

    def _port(self, subject: str) -> str:
        return subject[len(self._prefix) + 1 :] if self._prefix else subject

    async def ensure_stream(self) -> None:
        """Create or update the stream (subjects, retention, dedup window). Idempotent."""
        config = api.StreamConfig(
            name=self._stream,
            subjects=stream_subjects(self._prefix),
            retention=api.RetentionPolicy.LIMITS,
            storage=api.StorageType.FILE,
            discard=api.DiscardPolicy.OLD,
            max_age=self._max_age_s,
            max_bytes=self._max_bytes,
            duplicate_window=self._duplicate_window_s,
            allow_direct=True,  # get() reads through the direct-get API
            num_replicas=self._replicas,
        )
        try:
            try:
                info = await self._js.stream_info(self._stream)
            except NotFoundError:
                await self._js.add_stream(config)
                return
            # Update only what differs: a service's NATS user may inspect the stream but not
            # change it (only the relay's may), so an unchanged stream must need no update.
            if not _same_stream(info.config, config):
                await self._js.update_stream(config)
        except nats.errors.Error as exc:
            raise _error(exc, f"ensure stream {self._stream}") from exc

    def _headers(
        self,
        message: OutgoingMessage,
        expected_last_sequence: int | None,
        expected_last_msg_id: str | None = None,
    ) -> dict[str, str]:
        headers = dict(message.headers)
        if message.msg_id is not None:
            headers[MSG_ID] = message.msg_id
        if expected_last_sequence is not None:
            headers[EXPECTED_LAST_SEQUENCE] = str(expected_last_sequence)
        if expected_last_msg_id is not None:
            headers[EXPECTED_LAST_MSG_ID] = expected_last_msg_id
        return headers

    async def publish(
        self, message: OutgoingMessage, expected_last_sequence: int | None = None
    ) -> PublishAck:
        """Publish one message and wait for the stream's ack."""
        try:
            ack = await self._js.publish(
                self._wire(message.subject),
                message.payload,
                timeout=self._ack_timeout_s,
                headers=self._headers(message, expected_last_sequence),
            )
        except nats.errors.Error as exc:
            raise _error(exc, f"publish to {message.subject}") from exc
        return PublishAck(sequence=ack.seq, duplicate=bool(ack.duplicate))

    async def publish_batch(
        self, messages: Sequence[OutgoingMessage], expected_last_sequence: int | None = None
    ) -> list[PublishAck]:
        """Publish in order, pipelined; with `expected_last_sequence` each message is chained
        to the previous one, so a message is stored only if all before it were (a chained
        message without `msg_id` gets a random one, so the next can name it)."""
        if expected_last_sequence is not None:
            messages = named(messages)
        acks: list[PublishAck] = []
        expected = expected_last_sequence
        while len(acks) < len(messages):
            round_acks, failure, stored_after = await self._pipeline(
                messages[len(acks) :], expected
            )
            acks.extend(round_acks)
            if failure is None:
                break
            # A duplicate does not advance the stream, so every chained expectation after it
            # was one too high and refused. That refusal is ours, not a rival publisher's:
            # resend the rest chained to where the stream really is. Each round stores or
            # dedups at least the message that failed first, so this ends.
            if (
                expected is not None
                and isinstance(failure, WrongLastSequence)
                and any(ack.duplicate for ack in round_acks)
            ):
                stored = [ack.sequence for ack in round_acks if not ack.duplicate]
                expected = stored[-1] if stored else expected
                continue
            raise type(failure)(
                f"{failure} (batch of {len(messages)}: {len(acks)} acked before it, "
                f"{stored_after} after it)"
            ) from failure.__cause__
        return acks

    async def _pipeline(
        self, messages: Sequence[OutgoingMessage], expected: int | None
    ) -> tuple[list[PublishAck], BusError | None, int]:
        """Send all, then settle every future: acks before the first failure, it, acks after."""
        futures: list[asyncio.Future[api.PubAck]] = []
        send_failure: BusError | None = None
        timeout_s = self._ack_timeout_s
        for offset, message in enumerate(messages):
            # One connection writes in call order and the stream stores in arrival order, so
            # pipelining keeps the batch's order. Chaining: message k expects the sequence
            # expected + k *and* message k-1's id as the last id. The sequence alone is not
            # enough: if k is refused because one rival message landed, k+1's sequence would
            # match again; the rival cannot carry k's id (it would have been a duplicate).
            chained = None if expected is None else expected + offset
            previous_id = messages[offset - 1].msg_id if offset and expected is not None else None
            if offset >= _WINDOW and not await _settled(futures[offset - _WINDOW], timeout_s):
                send_failure = BusError(f"publish to {message.subject}: no ack in time")
                break
            try:
                # No wait_stall: our window keeps publish_async below its own pending limit,
                # and a wait_stall would cost a task per message (asyncio.wait_for).
                futures.append(
                    await self._js.publish_async(
                        self._wire(message.subject),
                        message.payload,
                        headers=self._headers(message, chained, previous_id),
                    )
                )
            except nats.errors.Error as exc:
                send_failure = _error(exc, f"publish to {message.subject}")
                send_failure.__cause__ = exc
                break
        if futures:
            _, late = await asyncio.wait(futures, timeout=self._ack_timeout_s)
            for future in late:
                future.cancel()
        acks: list[PublishAck] = []
        failure: BusError | None = None
        stored_after = 0
        for future, message in zip(futures, messages, strict=False):
            outcome = _outcome(future, message.subject)
            if isinstance(outcome, PublishAck):
                if failure is None:
                    acks.append(outcome)
                else:
                    stored_after += 1
            elif failure is None:
                failure = outcome
        return acks, failure or send_failure, stored_after

    async def _state(self) -> api.StreamState:
        try:
            info = await self._js.stream_info(self._stream)
        except nats.errors.Error as exc:
            raise _error(exc, f"stream info {self._stream}") from exc
        return info.state

    async def last_sequence(self) -> int:
        """The stream's last sequence (0 if nothing was ever published)."""
        return (await self._state()).last_seq

    async def first_sequence(self) -> int:
        """The stream's first retained sequence."""
        return (await self._state()).first_seq

    async def get(self, sequence: int) -> BusMessage | None:
        """The message stored at `sequence` (direct get), or None if it is gone or never was."""
        if sequence < 1:
            return None
        try:
            raw = await self._js.get_msg(self._stream, sequence, direct=True)
        except NotFoundError:
            return None
        except nats.errors.Error as exc:
            raise _error(exc, f"get {sequence} from {self._stream}") from exc
        headers = {k: v for k, v in (raw.headers or {}).items() if k not in _DIRECT_GET_HEADERS}
        return PlainMessage(
            subject=self._port(raw.subject or ""),
            data=raw.data or b"",
            headers=headers,
            sequence=raw.seq or sequence,
        )

    async def pull_consumer(self, config: ConsumerConfig) -> NatsPullConsumer:
        """Create (or bind to and update) a durable pull consumer."""
        try:
            return await bind_pull_consumer(self._nc, self._js, self._stream, self._prefix, config)
        except nats.errors.Error as exc:
            raise _error(exc, f"consumer {config.durable}") from exc

    async def delete_consumer(self, durable: str) -> None:
        """Remove a durable consumer (no error if absent)."""
        try:
            await self._js.delete_consumer(self._stream, durable)
        except NotFoundError:
            return
        except nats.errors.Error as exc:
            raise _error(exc, f"delete consumer {durable}") from exc

    async def subscribe(self, subject: str) -> AsyncIterator[BusMessage]:
        """Plain (non-durable) subscription; interest starts at the first iteration."""
        subscription = await self._nc.subscribe(self._wire(subject))
        try:
            async for msg in subscription.messages:
                yield PlainMessage(
                    subject=self._port(msg.subject), data=msg.data, headers=msg.headers or {}
                )
        finally:
            if not self._nc.is_closed:
                await subscription.unsubscribe()

    async def publish_raw(self, subject: str, payload: bytes) -> None:
        """Core-NATS publish that bypasses the relay (tests of bad input; never for events)."""
        try:
            await self._nc.publish(self._wire(subject), payload)
            await self._nc.flush()
        except nats.errors.Error as exc:
            raise _error(exc, f"raw publish to {subject}") from exc

    async def delete_stream(self) -> None:
        """Remove this bus's stream and everything in it (test teardown; never in production)."""
        try:
            await self._js.delete_stream(self._stream)
        except NotFoundError:
            return

    async def close(self) -> None:
        """Flush what was sent (acks, publishes) and close."""
        if self._nc.is_closed:
            return
        # A PING/PONG round trip proves the server has read every ack and publish written
        # before it. Not `drain()`: it waits for each pull subscription's queue to be consumed,
        # and the status replies of expired fetches sit there unread, so it hangs until its
        # timeout.
        if self._nc.is_connected:
            try:
                await self._nc.flush(timeout=math.ceil(self._ack_timeout_s))
            except nats.errors.Error as exc:
                log.warning("nats.flush_before_close_failed", error=repr(exc))
        await self._nc.close()
