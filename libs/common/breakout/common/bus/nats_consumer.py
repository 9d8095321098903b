"""Durable pull consumers on NATS JetStream, and the messages they deliver."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import nats.errors
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError

from breakout.common.bus.matching import SubjectFilter, covering_filter, covers
from breakout.common.bus.port import BusError, BusMessage, ConsumerConfig

log = structlog.get_logger(__name__)

# Below this, nats-py sends a pull request without an expiry, which would linger on the server.
_MIN_FETCH_S = 0.05


def _wire(prefix: str, subject: str) -> str:
    return f"{prefix}.{subject}" if prefix else subject


class NatsMessage:
    """A JetStream message delivered by a pull consumer."""

    __slots__ = ("_msg", "_subject")

    def __init__(self, msg: Msg, prefix: str) -> None:
        self._msg = msg
        self._subject = msg.subject[len(prefix) + 1 :] if prefix else msg.subject

    @property
    def subject(self) -> str:
        """Subject without the deployment prefix."""
        return self._subject

    @property
    def data(self) -> bytes:
        """Payload."""
        return self._msg.data

    @property
    def headers(self) -> Mapping[str, str]:
        """Headers as published."""
        return self._msg.headers or {}

    @property
    def sequence(self) -> int:
        """Stream sequence."""
        return self._msg.metadata.sequence.stream

    @property
    def num_delivered(self) -> int:
        """How many times this message has been delivered, this time included."""
        return self._msg.metadata.num_delivered

    async def ack(self) -> None:
        """Processed: never deliver again."""
        try:
            await self._msg.ack()
        except nats.errors.Error as exc:
            raise BusError(f"ack {self.sequence}: {exc!r}") from exc

    async def nak(self, delay_s: float | None = None) -> None:
        """Not processed: deliver again (after `delay_s`)."""
        try:
            await self._msg.nak(delay=delay_s)
        except nats.errors.Error as exc:
            raise BusError(f"nak {self.sequence}: {exc!r}") from exc

    async def term(self) -> None:
        """Never deliver again, not processed."""
        try:
            await self._msg.term()
        except nats.errors.Error as exc:
            raise BusError(f"term {self.sequence}: {exc!r}") from exc


class NatsPullConsumer:
    """A durable pull consumer; `client_filters` is set only where the server cannot filter."""

    def __init__(
        self,
        js: JetStreamContext,
        subscription: JetStreamContext.PullSubscription,
        prefix: str,
        client_filters: tuple[str, ...],
    ) -> None:
        self._js = js
        self._subscription = subscription
        self._prefix = prefix
        self._client_filter = SubjectFilter(client_filters) if client_filters else None

    async def fetch(self, batch: int, timeout_s: float) -> list[BusMessage]:
        """Up to `batch` messages; an empty list if none arrived within `timeout_s`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            try:
                msgs = await self._subscription.fetch(
                    batch, timeout=max(deadline - loop.time(), _MIN_FETCH_S)
                )
            except TimeoutError:  # nats-py raises both asyncio's and its own subclass of it
                return []
            except nats.errors.Error as exc:
                raise BusError(f"fetch: {exc!r}") from exc
            mine: list[BusMessage] = []
            for msg in msgs:
                if self._client_filter is not None and not self._client_filter.matches(msg.subject):
                    # Not one of our subjects (the server could not filter for us): settled
                    # for this consumer only, so acking it takes nothing from anyone else.
                    await msg.ack()
                    continue
                mine.append(NatsMessage(msg, self._prefix))
            if mine or loop.time() >= deadline:
                return mine

    async def _info(self) -> api.ConsumerInfo:
        try:
            return await self._subscription.consumer_info()
        except nats.errors.Error as exc:
            raise BusError(f"consumer info: {exc!r}") from exc

    async def pending(self) -> int:
        """Messages in the stream not yet delivered to this consumer (an upper bound where the
        filtering is client-side)."""
        return (await self._info()).num_pending or 0

    async def next_sequence(self) -> int:
        """The stream sequence this consumer will deliver next (for retention-gap checks)."""
        delivered = (await self._info()).delivered
        return (delivered.stream_seq if delivered else 0) + 1


def server_filters_many(client: Client) -> bool:
    """Whether the connected server filters one consumer on several subjects (2.10+)."""
    version = client.connected_server_version
    return (version.major, version.minor) >= (2, 10)


def _server_config(
    client: Client, prefix: str, config: ConsumerConfig
) -> tuple[api.ConsumerConfig, tuple[str, ...]]:
    """The consumer config for the server, and the filters the client must apply itself."""
    wire = [_wire(prefix, subject) for subject in config.filter_subjects]
    server = api.ConsumerConfig(
        name=config.durable,
        durable_name=config.durable,
        ack_policy=api.AckPolicy.EXPLICIT,
        ack_wait=config.ack_wait_s,
        max_deliver=config.max_deliver,
        max_ack_pending=config.max_ack_pending,
        deliver_policy=(
            api.DeliverPolicy.ALL
            if config.start_sequence is None
            else api.DeliverPolicy.BY_START_SEQUENCE
        ),
        opt_start_seq=config.start_sequence,
    )
    if len(wire) == 1:
        server.filter_subject = wire[0]
    elif server_filters_many(client):
        server.filter_subjects = wire
    else:
        # Servers before 2.10 silently ignore `filter_subjects`: the consumer reads the stream
        # (still in its one order) narrowed to one filter covering them all where there is one
        # (`md.>` for features: no feature, signal or order events), and the client drops
        # what is not its own.
        server.filter_subject = covering_filter(wire)
        version = client.connected_server_version
        log.warning(
            "nats.client_side_filter",
            durable=config.durable,
            server=str(version),
            server_filter=server.filter_subject,
        )
        return server, tuple(wire)
    return server, ()


def _kept_filter(existing: str | None, client_filters: tuple[str, ...]) -> str | None:
    """The one server filter of an existing durable filtered by the client (NATS < 2.10).

    Such a server accepts a changed `filter_subject` on an existing consumer but then delivers
    nothing more from it (tests/integration/test_bus_contract.py, "updated in place"); dropping
    the filter is safe. So keep the filter it has while it still covers every wanted subject,
    and read the whole stream otherwise.
    """
    if existing and all(covers(existing, wanted) for wanted in client_filters):
        return existing
    return None


def _same(existing: api.ConsumerConfig, wanted: api.ConsumerConfig) -> bool:
    return (
        existing.ack_wait == wanted.ack_wait
        and existing.max_deliver == wanted.max_deliver
        and existing.max_ack_pending == wanted.max_ack_pending
        and (existing.filter_subject or None) == (wanted.filter_subject or None)
        and (existing.filter_subjects or None) == (wanted.filter_subjects or None)
    )


async def bind_pull_consumer(
    client: Client, js: JetStreamContext, stream: str, prefix: str, config: ConsumerConfig
) -> NatsPullConsumer:
    """Create the durable, or update an existing one in place, and bind a pull subscription."""
    wanted, client_filters = _server_config(client, prefix, config)
    try:
        existing: api.ConsumerInfo | None = await js.consumer_info(stream, config.durable)
    except NotFoundError:
        existing = None
    if existing is None:
        await js.add_consumer(stream, wanted)
    else:
        # The start position is a creation-time setting (the server refuses to change it), and
        # an existing durable must resume where it is: keep its own. Filters and timings are
        # updated in place, which keeps the position and the pending acks; a delete+recreate
        # would restart it. A caller that wants a new start deletes the durable first.
        wanted.deliver_policy = existing.config.deliver_policy
        wanted.opt_start_seq = existing.config.opt_start_seq
        if client_filters:
            wanted.filter_subject = _kept_filter(existing.config.filter_subject, client_filters)
        if not _same(existing.config, wanted):
            await js.add_consumer(stream, wanted)  # same name: the server updates it in place
    subscription = await js.pull_subscribe_bind(durable=config.durable, stream=stream)
    return NatsPullConsumer(js, subscription, prefix, client_filters)
