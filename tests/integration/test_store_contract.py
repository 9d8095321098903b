"""One contract for every event-store backend: the in-memory twin and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from breakout.common.events import NewEvent, RecordedEvent
from breakout.common.store import (
    NO_STREAM,
    CheckpointConflict,
    EventFilter,
    StreamAppend,
    WrongExpectedVersion,
    follow,
    migrate,
)
from breakout.common.store.migrate import migration_files
from breakout.common.store.port import EventStore
from tests.integration.store_support import (
    T0,
    StoreThing,
    StoreThingV1,
    store,
    store_backend,
    store_dsn,
    thing,
    tick,
    unique,
)

__all__ = ["store", "store_backend", "store_dsn"]  # fixtures, imported for pytest


def ns(events: list[RecordedEvent]) -> list[int]:
    """The `n` of each test event."""
    return [e.data.n for e in events if isinstance(e.data, StoreThing)]


async def test_append_then_read_stream_and_global_order(store: EventStore) -> None:
    stream = f"{unique('order')}-1"
    head = await store.head_position()
    assert await store.append(stream, [thing(1), thing(2)], NO_STREAM) == 2
    assert await store.append(stream, [thing(3)], 2) == 3
    events = await store.read_stream(stream)
    assert [e.version for e in events] == [1, 2, 3]
    assert ns(events) == [1, 2, 3]
    assert ns(await store.read_stream(stream, after_version=1, limit=1)) == [2]
    everything = await store.read_all(after=head)
    assert ns(everything) == [1, 2, 3]
    positions = [e.position for e in everything]
    assert positions == sorted(positions) and positions[0] > head
    assert await store.head_position() == positions[-1]
    assert await store.stream_version(stream) == 3
    assert await store.stream_version(f"{stream}-missing") == 0
    assert everything[0].stream == stream and everything[0].type == "test.store_thing.v2"
    assert everything[0].occurred_at == T0 + timedelta(seconds=1)


async def test_wrong_expected_version_is_typed_and_writes_nothing(store: EventStore) -> None:
    stream = f"{unique('order')}-1"
    await store.append(stream, [thing(1)], NO_STREAM)
    head = await store.head_position()
    with pytest.raises(WrongExpectedVersion) as raised:
        await store.append(stream, [thing(2), thing(3)], NO_STREAM)
    assert (raised.value.stream, raised.value.expected, raised.value.actual) == (stream, 0, 1)
    with pytest.raises(WrongExpectedVersion):
        await store.append(stream, [thing(2)], 5)
    assert await store.head_position() == head
    assert await store.stream_version(stream) == 1


async def test_reappending_stored_ids_is_a_no_op(store: EventStore) -> None:
    stream = f"{unique('order')}-1"
    first, second = thing(1), thing(2)
    assert await store.append(stream, [first, second], NO_STREAM) == 2
    head = await store.head_position()
    # A retry: every event is stored, so nothing is checked (not even the stale expectation).
    assert await store.append(stream, [first, second], NO_STREAM) == 2
    assert await store.head_position() == head
    # A partial retry writes only the new event, numbered on from the stream.
    assert await store.append(stream, [second, thing(3)], 2) == 3
    assert ns(await store.read_stream(stream)) == [1, 2, 3]


async def test_read_all_filters_by_category_and_type(store: EventStore) -> None:
    orders, fills = unique("order"), unique("fill")
    head = await store.head_position()
    await store.append(f"{orders}-1", [thing(1)])
    await store.append(f"{fills}-1", [thing(2)])
    await store.append(f"{orders}-2", [NewEvent(**_v1_fields(3))])
    by_category = await store.read_all(head, filter=EventFilter(categories=(orders,)))
    assert [e.stream for e in by_category] == [f"{orders}-1", f"{orders}-2"]
    both = EventFilter(categories=(orders, fills), types=("test.store_thing.v2",))
    assert ns(await store.read_all(head, filter=both)) == [1, 2]
    limited = await store.read_all(head, limit=1, filter=EventFilter(categories=(fills,)))
    assert ns(limited) == [2]
    raw = await store.read_all_raw(head, filter=EventFilter(types=("test.store_thing.v1",)))
    assert [e.type for e in raw] == ["test.store_thing.v1"]


def _v1_fields(count: int) -> dict[str, object]:
    return {
        "event_id": uuid.uuid4(),
        "data": StoreThingV1(count=count),
        "occurred_at": T0,
        "producer": "old-code",
    }


async def test_old_versions_are_upcast_on_read(store: EventStore) -> None:
    stream = f"{unique('order')}-1"
    await store.append(stream, [NewEvent(**_v1_fields(7))])
    [event] = await store.read_stream(stream)
    assert event.type == "test.store_thing.v1"  # the log keeps what was written
    assert event.data == StoreThing(n=7, note="upcast")
    [raw] = await store.read_all_raw(event.position - 1, limit=1)
    assert raw.decode().data == event.data


async def test_commit_appends_outputs_and_checkpoint_atomically(store: EventStore) -> None:
    consumer, stream = unique("consumer"), f"{unique('signal')}-1"
    assert await store.checkpoint(consumer) == 0
    await store.commit(consumer, 10, [StreamAppend(stream=stream, events=[thing(1)])])
    assert await store.checkpoint(consumer) == 10
    assert await store.stream_version(stream) == 1
    # An output conflict rolls back the checkpoint too.
    conflicting = StreamAppend(stream=stream, events=[thing(2)], expected_version=NO_STREAM)
    with pytest.raises(WrongExpectedVersion):
        await store.commit(
            consumer, 11, [StreamAppend(stream=f"{stream}x", events=[thing(3)]), conflicting]
        )
    assert await store.checkpoint(consumer) == 10
    assert await store.stream_version(stream) == 1
    assert await store.stream_version(f"{stream}x") == 0
    await store.commit(consumer, 11, [])
    assert await store.checkpoint(consumer) == 11


async def test_commit_at_or_behind_the_checkpoint_conflicts(store: EventStore) -> None:
    consumer, stream = unique("consumer"), f"{unique('signal')}-1"
    await store.commit(consumer, 5, [])
    for position in (5, 4):
        with pytest.raises(CheckpointConflict) as raised:
            await store.commit(consumer, position, [StreamAppend(stream=stream, events=[thing(1)])])
        assert (raised.value.position, raised.value.checkpoint) == (position, 5)
    assert await store.stream_version(stream) == 0
    with pytest.raises(CheckpointConflict):
        await store.commit(unique("fresh"), 0, [])


async def test_snapshots_keep_the_latest(store: EventStore) -> None:
    consumer = unique("consumer")
    assert await store.load_snapshot(consumer) is None
    await store.save_snapshot(consumer, 3, b"state-3")
    await store.save_snapshot(consumer, 9, b"\x00state-9")
    snapshot = await store.load_snapshot(consumer)
    assert snapshot is not None
    assert (snapshot.consumer, snapshot.position, snapshot.state) == (consumer, 9, b"\x00state-9")
    assert snapshot.taken_at.tzinfo is not None


async def test_append_bulk_and_a_retried_overlapping_batch(store: EventStore) -> None:
    trades, books = f"md.{unique('trade')}-binance.BTCUSDT", f"md.{unique('book')}-binance.BTCUSDT"
    domain = f"{unique('order')}-1"
    head = await store.head_position()
    first = [
        StreamAppend(
            stream=trades, events=[tick(trades, i) for i in range(100)], expected_version=NO_STREAM
        ),
        StreamAppend(stream=books, events=[tick(books, i) for i in range(50)]),
        StreamAppend(stream=domain, events=[thing(1, event_id=uuid.UUID(int=uuid.uuid4().int))]),
    ]
    assert await store.append_bulk(first) == 151
    # The retry overlaps the first batch and adds new events: only the new ones are written,
    # numbered on from each stream; the stale NO_STREAM expectation counts only if new events
    # exist for that stream, which they do not here.
    retry = [
        StreamAppend(
            stream=trades, events=[tick(trades, i) for i in range(100)], expected_version=NO_STREAM
        ),
        StreamAppend(stream=books, events=[tick(books, i) for i in range(80)]),
        first[2],
    ]
    assert await store.append_bulk(retry) == 30
    assert await store.append_bulk(retry) == 0
    assert await store.stream_version(trades) == 100
    books_read = await store.read_stream(books)
    assert [e.version for e in books_read] == list(range(1, 81))
    assert [e.event_id for e in books_read] == [tick(books, i).event_id for i in range(80)]
    everything = await store.read_all_raw(head, limit=10_000)
    assert len(everything) == 181
    assert len({e.event_id for e in everything}) == 181
    with pytest.raises(WrongExpectedVersion):
        await store.append_bulk(
            [StreamAppend(stream=trades, events=[tick(trades, 500)], expected_version=3)]
        )
    assert await store.stream_version(trades) == 100


async def test_follow_catches_up_then_wakes_on_append(store: EventStore) -> None:
    stream = f"{unique('order')}-1"
    category = EventFilter(categories=(stream.split("-", maxsplit=1)[0],))
    head = await store.head_position()
    await store.append(stream, [thing(1), thing(2)])
    seen: list[RecordedEvent] = []
    arrived = asyncio.Event()

    async def reader() -> None:
        # A long idle wait: only the append notification can deliver the live event in time.
        async for event in follow(store, after=head, filter=category, idle_wait_s=30.0):
            seen.append(event)
            if len(seen) == 3:
                arrived.set()

    task = asyncio.create_task(reader())
    try:
        await asyncio.sleep(0.3)
        assert ns(seen) == [1, 2]
        await store.append(stream, [thing(3)])
        await asyncio.wait_for(arrived.wait(), 5.0)
        assert ns(seen) == [1, 2, 3]
    finally:
        task.cancel()


# -- PostgreSQL only ----------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET producer = 'forger' WHERE stream = $1",
        "DELETE FROM events WHERE stream = $1",
        "UPDATE events_domain SET producer = 'forger' WHERE stream = $1",
        "DELETE FROM events_md WHERE stream = $1",
    ],
)
async def test_database_refuses_to_rewrite_history(store_dsn: str, statement: str) -> None:
    stream = f"{unique('order')}-1"
    md_stream = f"md.{stream}"
    conn = await asyncpg.connect(store_dsn)
    try:
        from breakout.common.store import PostgresEventStore

        pg = await PostgresEventStore.connect(store_dsn)
        await pg.append(stream, [thing(1)])
        await pg.append_bulk([StreamAppend(stream=md_stream, events=[tick(md_stream, 1)])])
        await pg.close()
        target = md_stream if "events_md" in statement else stream
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            await conn.execute(statement, target)
        for table in ("events", "events_domain", "events_md", "events_md_20260105"):
            with pytest.raises(asyncpg.PostgresError, match="append-only"):
                await conn.execute(f"TRUNCATE {table}")
        assert await conn.fetchval("SELECT count(*) FROM events WHERE stream = $1", stream) == 1
    finally:
        await conn.close()


@pytest.mark.integration
async def test_migrate_is_idempotent(store_dsn: str) -> None:
    assert await migrate(store_dsn) == []
    conn = await asyncpg.connect(store_dsn)
    try:
        names = await conn.fetch("SELECT name FROM schema_migrations ORDER BY name")
        assert [r["name"] for r in names] == [name for name, _ in migration_files()]
        assert names[0]["name"] == "0001_events"
    finally:
        await conn.close()


@pytest.mark.integration
async def test_market_data_lands_in_its_day_partition(store_dsn: str) -> None:
    from breakout.common.store import PostgresEventStore

    day = datetime(2025, 3, 9, 23, 59, 59, tzinfo=UTC)  # created on demand, not by migrate
    stream = f"md.{unique('trade')}-binance.ETHUSDT"
    domain = f"{unique('order')}-1"
    pg = await PostgresEventStore.connect(store_dsn)
    try:
        await pg.append_bulk(
            [StreamAppend(stream=stream, events=[tick(stream, 0, day), tick(stream, 5000, day)])]
        )
        await pg.append(domain, [thing(1)])
    finally:
        await pg.close()
    conn = await asyncpg.connect(store_dsn)
    try:
        rows = await conn.fetch(
            "SELECT tableoid::regclass::text AS part, version FROM events"
            " WHERE stream = ANY($1::text[]) ORDER BY position",
            [stream, domain],
        )
    finally:
        await conn.close()
    # tick(5000) is 5 s later: past midnight UTC, so in the next day's partition.
    assert [r["part"] for r in rows] == [
        "events_md_20250309",
        "events_md_20250310",
        "events_domain",
    ]
