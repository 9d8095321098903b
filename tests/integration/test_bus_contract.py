"""One contract for every bus: the in-memory twin and NATS JetStream must behave alike."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, cast

import pytest

from breakout.common.bus import (
    MSG_ID,
    Bus,
    BusError,
    BusMessage,
    ConsumerConfig,
    InMemoryBus,
    NatsBus,
    OutgoingMessage,
    WrongLastSequence,
)
from breakout.common.config import InfraSettings

# Long enough that a loaded CI machine settles a message before it is redelivered.
ACK_WAIT_S = 2.0
BTC = "md.trade.sim.BTCUSDT"
ETH = "md.trade.sim.ETHUSDT"
SOL = "md.trade.sim.SOLUSDT"


class Backend:
    """Connects buses of one kind. The in-memory bus is its own server, so 'reconnecting' to
    it returns the same instance; NATS gets a real new connection."""

    def __init__(self, kind: str, prefix: str) -> None:
        self.kind = kind
        self.prefix = prefix
        self._memory: dict[str, InMemoryBus] = {}
        self._nats: list[NatsBus] = []

    async def connect(self, prefix: str | None = None) -> Bus:
        prefix = self.prefix if prefix is None else prefix
        bus: Bus
        if self.kind == "memory":
            bus = self._memory.setdefault(prefix, InMemoryBus(prefix))
        else:
            nats_bus = await NatsBus.connect(
                InfraSettings.from_env().nats_url,
                prefix,
                max_age_s=3600,
                max_bytes=64 * 1024 * 1024,
            )
            self._nats.append(nats_bus)
            bus = nats_bus
        await bus.ensure_stream()
        return bus

    async def teardown(self) -> None:
        prefixes = {bus.prefix for bus in self._nats}
        for bus in self._nats:
            await bus.close()
        for prefix in prefixes:
            cleaner = await NatsBus.connect(InfraSettings.from_env().nats_url, prefix)
            await cleaner.delete_stream()
            await cleaner.close()


@pytest.fixture(params=["memory", pytest.param("nats", marks=pytest.mark.integration)])
async def backend(request: pytest.FixtureRequest, bus_prefix: str) -> AsyncIterator[Backend]:
    """A backend whose buses use this test's own prefix (NATS streams deleted afterwards)."""
    backend = Backend(request.param, bus_prefix)
    yield backend
    await backend.teardown()


@pytest.fixture
async def bus(backend: Backend) -> Bus:
    """A connected bus with its stream ensured."""
    return await backend.connect()


def server_filters_many(bus: Bus) -> bool:
    return not isinstance(bus, NatsBus) or bus.server_filters_many


def msg(subject: str, payload: bytes, msg_id: str | None = None) -> OutgoingMessage:
    return OutgoingMessage(subject=subject, payload=payload, msg_id=msg_id)


def consumer(durable: str, *subjects: str, **kwargs: object) -> ConsumerConfig:
    return ConsumerConfig(
        durable=durable,
        filter_subjects=subjects,
        ack_wait_s=kwargs.pop("ack_wait_s", ACK_WAIT_S),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


async def drain(bus: Bus) -> list[bytes]:
    """Every payload in the stream, in stream order, via get()."""
    first, last = await bus.first_sequence(), await bus.last_sequence()
    found = [await bus.get(seq) for seq in range(max(first, 1), last + 1)]
    return [m.data for m in found if m is not None]


async def test_ensure_stream_is_idempotent(bus: Bus) -> None:
    await bus.ensure_stream()
    await bus.publish(msg(BTC, b"1"))
    await bus.ensure_stream()
    assert await bus.last_sequence() == 1
    assert await bus.first_sequence() == 1


async def test_publish_acks_consecutive_sequences(bus: Bus) -> None:
    assert await bus.last_sequence() == 0
    acks = [await bus.publish(msg(BTC, str(i).encode())) for i in range(3)]
    assert [a.sequence for a in acks] == [1, 2, 3]
    assert not any(a.duplicate for a in acks)
    assert await bus.last_sequence() == 3


async def test_duplicate_msg_id_returns_the_original_sequence(bus: Bus) -> None:
    first = await bus.publish(msg(BTC, b"a", msg_id="e-1"))
    await bus.publish(msg(BTC, b"b", msg_id="e-2"))
    again = await bus.publish(msg(BTC, b"a", msg_id="e-1"))
    assert (again.sequence, again.duplicate) == (first.sequence, True)
    assert await bus.last_sequence() == 2


async def test_expected_last_sequence_is_enforced(bus: Bus) -> None:
    assert (await bus.publish(msg(BTC, b"1"), expected_last_sequence=0)).sequence == 1
    with pytest.raises(WrongLastSequence):
        await bus.publish(msg(BTC, b"2"), expected_last_sequence=0)
    assert (await bus.publish(msg(BTC, b"2"), expected_last_sequence=1)).sequence == 2
    assert await drain(bus) == [b"1", b"2"]


async def test_publish_batch_keeps_order(bus: Bus) -> None:
    count = 2500  # more than NatsBus keeps in flight at once
    batch = [msg(BTC if i % 2 else ETH, str(i).encode(), msg_id=f"b-{i}") for i in range(count)]
    acks = await bus.publish_batch(batch, expected_last_sequence=0)
    assert [a.sequence for a in acks] == list(range(1, count + 1))
    pull = await bus.pull_consumer(consumer("all", "md.>", max_ack_pending=count))
    got: list[bytes] = []
    while len(got) < count and (fetched := await pull.fetch(500, timeout_s=2)):
        got.extend(m.data for m in fetched)
    assert got == [str(i).encode() for i in range(count)]


async def test_chained_batch_refused_when_the_stream_moved(bus: Bus) -> None:
    await bus.publish(msg(BTC, b"rival"))
    with pytest.raises(WrongLastSequence):
        await bus.publish_batch([msg(BTC, b"x"), msg(BTC, b"y")], expected_last_sequence=0)
    assert await drain(bus) == [b"rival"]


async def test_batch_stores_nothing_after_a_failed_message(bus: Bus) -> None:
    too_big = b"x" * (2 * 1024 * 1024)  # beyond NATS's default max_payload
    batch = [msg(BTC, b"1"), msg(BTC, b"2"), msg(BTC, too_big), msg(BTC, b"4")]
    with pytest.raises(BusError, match="2 acked before it"):
        await bus.publish_batch(batch, expected_last_sequence=0)
    assert await drain(bus) == [b"1", b"2"]


async def test_chained_batch_with_a_concurrent_rival_stores_a_prefix(
    bus: Bus, backend: Backend
) -> None:
    rival_bus = await backend.connect()
    batch = [msg(BTC, str(i).encode()) for i in range(2000)]

    async def rival() -> None:
        await asyncio.sleep(0.001)
        await rival_bus.publish(msg(BTC, b"rival"))

    rival_task = asyncio.create_task(rival())
    with contextlib.suppress(WrongLastSequence):
        await bus.publish_batch(batch, expected_last_sequence=0)
    await rival_task
    stored = await drain(bus)
    # Whatever the interleaving: a prefix of the batch, then the rival, and nothing after it.
    cut = stored.index(b"rival")
    assert stored[:cut] == [m.payload for m in batch[:cut]]
    assert stored[cut + 1 :] in ([], [m.payload for m in batch[cut:]])


async def test_batch_with_a_duplicate_keeps_its_chain(bus: Bus) -> None:
    await bus.publish(msg(BTC, b"a", msg_id="a"))
    acks = await bus.publish_batch(
        [msg(BTC, b"b", msg_id="b"), msg(BTC, b"a", msg_id="a"), msg(BTC, b"c", msg_id="c")],
        expected_last_sequence=1,
    )
    assert [(a.sequence, a.duplicate) for a in acks] == [(2, False), (1, True), (3, False)]
    assert await drain(bus) == [b"a", b"b", b"c"]


async def test_multi_filter_consumer_keeps_stream_order(bus: Bus) -> None:
    for i, subject in enumerate([BTC, SOL, ETH, BTC, SOL, ETH]):
        await bus.publish(msg(subject, str(i).encode()))
    pull = await bus.pull_consumer(consumer("two", BTC, ETH))
    # Servers before 2.10 cannot filter on two subjects: NatsBus filters client-side and
    # pending() is then an upper bound (the whole stream).
    assert await pull.pending() == (4 if server_filters_many(bus) else 6)
    got = await pull.fetch(10, timeout_s=2)
    assert [(m.subject, m.sequence, m.data) for m in got] == [
        (BTC, 1, b"0"),
        (ETH, 3, b"2"),
        (BTC, 4, b"3"),
        (ETH, 6, b"5"),
    ]
    assert all(m.num_delivered == 1 for m in got)


async def test_wildcard_filter(bus: Bus) -> None:
    await bus.publish(msg(BTC, b"t"))
    await bus.publish(msg("md.book.sim.BTCUSDT", b"b"))
    await bus.publish(msg("feat.density.BTCUSDT", b"f"))
    pull = await bus.pull_consumer(consumer("wild", "md.*.sim.>"))
    assert [m.data for m in await pull.fetch(10, timeout_s=2)] == [b"t", b"b"]


async def test_ack_nak_term_and_ack_wait(bus: Bus) -> None:
    for name in (b"acked", b"silent", b"naked", b"termed"):
        await bus.publish(msg(BTC, name))
    pull = await bus.pull_consumer(consumer("settle", BTC))
    first: dict[bytes, Any] = {}
    deadline = asyncio.get_running_loop().time() + 5
    # A pull may hand over a batch in parts (it returns what it has when it has some).
    while len(first) < 4 and asyncio.get_running_loop().time() < deadline:
        first.update({m.data: m for m in await pull.fetch(4 - len(first), timeout_s=2)})
    assert set(first) == {b"acked", b"silent", b"naked", b"termed"}
    await first[b"acked"].ack()
    await first[b"naked"].nak()
    await first[b"termed"].term()
    redelivered: dict[bytes, int] = {}
    deadline = asyncio.get_running_loop().time() + ACK_WAIT_S + 2
    while len(redelivered) < 2 and asyncio.get_running_loop().time() < deadline:
        for m in await pull.fetch(4, timeout_s=0.5):
            redelivered[m.data] = m.num_delivered
            await m.ack()
    # The nak'd one comes back at once, the silent one after ack_wait; never the others.
    assert redelivered == {b"naked": 2, b"silent": 2}
    assert await pull.fetch(4, timeout_s=ACK_WAIT_S + 0.5) == []


async def test_max_deliver_is_respected(bus: Bus) -> None:
    await bus.publish(msg(BTC, b"poison"))
    pull = await bus.pull_consumer(consumer("limited", BTC, max_deliver=2))
    for attempt in (1, 2):
        [m] = await pull.fetch(1, timeout_s=2)
        assert m.num_delivered == attempt
        await m.nak()
    assert await pull.fetch(1, timeout_s=ACK_WAIT_S + 0.5) == []


async def test_durable_resumes_after_reconnect(bus: Bus, backend: Backend) -> None:
    for i in range(5):
        await bus.publish(msg(BTC, str(i).encode()))
    pull = await bus.pull_consumer(consumer("resume", BTC))
    for m in await pull.fetch(2, timeout_s=2):
        await m.ack()
    await bus.close()
    again = await backend.connect()
    pull = await again.pull_consumer(consumer("resume", BTC))
    assert await pull.next_sequence() == 3
    got = await pull.fetch(10, timeout_s=2)
    assert [m.sequence for m in got] == [3, 4, 5]


async def test_existing_durable_is_updated_in_place(bus: Bus) -> None:
    for subject in (BTC, ETH, BTC, ETH):
        await bus.publish(msg(subject, subject.encode()))
    pull = await bus.pull_consumer(consumer("grow", BTC))
    [m] = await pull.fetch(1, timeout_s=2)
    await m.ack()
    # Same durable, wider filter: it keeps its position (after seq 1) and sees ETH now.
    pull = await bus.pull_consumer(consumer("grow", BTC, ETH, start_sequence=1))
    assert [m.sequence for m in await pull.fetch(10, timeout_s=2)] == [2, 3, 4]


async def test_start_sequence(bus: Bus) -> None:
    for i in range(5):
        await bus.publish(msg(BTC, str(i).encode()))
    pull = await bus.pull_consumer(consumer("late", BTC, start_sequence=3))
    assert await pull.next_sequence() == 3
    assert await pull.pending() == 3
    assert [m.sequence for m in await pull.fetch(10, timeout_s=2)] == [3, 4, 5]
    assert await pull.pending() == 0


async def test_delete_consumer_forgets_its_position(bus: Bus) -> None:
    await bus.publish(msg(BTC, b"1"))
    pull = await bus.pull_consumer(consumer("gone", BTC))
    [m] = await pull.fetch(1, timeout_s=2)
    await m.ack()
    await bus.delete_consumer("gone")
    await bus.delete_consumer("gone")  # absent: no error
    pull = await bus.pull_consumer(consumer("gone", BTC))
    assert [m.data for m in await pull.fetch(1, timeout_s=2)] == [b"1"]


async def test_get(bus: Bus) -> None:
    await bus.publish(OutgoingMessage(subject=BTC, payload=b"p", msg_id="m-1", headers={"K": "v"}))
    found = await bus.get(1)
    assert found is not None
    assert (found.subject, found.data, found.sequence) == (BTC, b"p", 1)
    assert found.headers[MSG_ID] == "m-1"
    assert found.headers["K"] == "v"
    assert await bus.get(2) is None
    assert await bus.get(0) is None


async def _take(stream: AsyncIterator[BusMessage], count: int) -> list[BusMessage]:
    got: list[BusMessage] = []
    async with contextlib.aclosing(cast(AsyncGenerator[BusMessage, None], stream)) as messages:
        async for message in messages:
            got.append(message)
            if len(got) == count:
                break
    return got


async def test_plain_subscription_receives_published_messages(bus: Bus) -> None:
    taking = asyncio.create_task(_take(bus.subscribe("md.trade.>"), 2))
    await asyncio.sleep(0.2)  # interest starts at the first iteration; let it reach the server
    await bus.publish(msg(BTC, b"1"))
    await bus.publish(msg("feat.density.BTCUSDT", b"not mine"))
    await bus.publish_raw(ETH, b"raw")
    got = await asyncio.wait_for(taking, 5)
    assert [(m.subject, m.data, m.sequence) for m in got] == [(BTC, b"1", 0), (ETH, b"raw", 0)]


async def test_publish_raw_is_captured_by_the_stream(bus: Bus) -> None:
    await bus.publish_raw(BTC, b"\xffgarbage")
    assert await bus.last_sequence() == 1
    found = await bus.get(1)
    assert found is not None and found.data == b"\xffgarbage"


async def test_prefixes_are_isolated(bus: Bus, backend: Backend) -> None:
    other = await backend.connect(backend.prefix + "o")
    watching = asyncio.create_task(_take(other.subscribe(">"), 1))
    await asyncio.sleep(0.2)
    await bus.publish(msg(BTC, b"mine"))
    await other.publish(msg(BTC, b"theirs"))
    assert [m.data for m in await asyncio.wait_for(watching, 5)] == [b"theirs"]
    assert await drain(bus) == [b"mine"]
    assert await drain(other) == [b"theirs"]
    pull = await other.pull_consumer(consumer("iso", BTC))
    assert [m.data for m in await pull.fetch(10, timeout_s=1)] == [b"theirs"]
