"""Concurrent writers, one of them slow to commit, and a reader that must miss nothing.

The ordering claim of the Postgres store (docs/adr/0001-store-ordering.md): a reader following
`position > cursor` never skips an event committed late by a concurrent transaction. Here eight
writers race (single appends with expected versions on shared streams, COPY bulk batches, retried
batches), one of them sleeps inside its locked transaction before committing, and a `follow()`
reader must end up with exactly the rows in the table, each once, in increasing position order.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field

import asyncpg
import pytest

from breakout.common.events import RecordedEvent
from breakout.common.store import (
    PostgresEventStore,
    StreamAppend,
    WrongExpectedVersion,
    follow,
)
from tests.integration.store_support import store_dsn, thing, tick, unique

__all__ = ["store_dsn"]  # fixture, imported for pytest

pytestmark = pytest.mark.integration

SHARED_STREAMS = 4
DOMAIN_WRITERS = 4
DOMAIN_ATTEMPTS = 250
BULK_WRITERS = 3
BULK_BATCHES = 10
BULK_BATCH_SIZE = 400


@dataclass
class Tally:
    """What one writer tried and what the store said."""

    attempts: int = 0
    successes: int = 0
    conflicts: int = 0
    written: Counter[str] = field(default_factory=Counter)


async def domain_writer(store: PostgresEventStore, streams: list[str], seed: int) -> Tally:
    """Read a shared stream's version, append after it, and count who won the race."""
    rng, tally = random.Random(seed), Tally()
    for _ in range(DOMAIN_ATTEMPTS):
        stream = rng.choice(streams)
        version = await store.stream_version(stream)
        events = [thing(rng.randrange(1000)) for _ in range(rng.randint(1, 3))]
        tally.attempts += 1
        try:
            await store.append(stream, events, expected_version=version)
        except WrongExpectedVersion as conflict:
            assert conflict.stream == stream and conflict.actual > version
            tally.conflicts += 1
        else:
            tally.successes += 1
            tally.written[stream] += len(events)
    return tally


async def bulk_writer(store: PostgresEventStore, stream: str) -> Tally:
    """COPY batches into one md stream; every third batch is re-sent together with the next."""
    tally, previous = Tally(), []
    for batch in range(BULK_BATCHES):
        events = [tick(stream, batch * BULK_BATCH_SIZE + i) for i in range(BULK_BATCH_SIZE)]
        retried = previous if batch % 3 == 1 else []
        tally.attempts += 1
        tally.written[stream] += await store.append_bulk(
            [StreamAppend(stream=stream, events=[*retried, *events])]
        )
        tally.successes += 1
        previous = events
    return tally


async def reader(store: PostgresEventStore, after: int, last_stream: str) -> list[RecordedEvent]:
    """Follow the global order until the event appended after every writer finished."""
    seen: list[RecordedEvent] = []
    async for event in follow(store, after=after, batch_size=500, idle_wait_s=0.2):
        seen.append(event)
        if event.stream == last_stream:
            break
    return seen


async def test_follower_misses_nothing_under_concurrent_writers(store_dsn: str) -> None:
    slow_commits = 0

    async def delay_commit() -> None:
        # Hold the writer lock with rows inserted but not committed, while everyone else queues.
        nonlocal slow_commits
        slow_commits += 1
        await asyncio.sleep(0.15)

    store = await PostgresEventStore.connect(store_dsn, max_size=12)
    slow = await PostgresEventStore.connect(store_dsn, max_size=2, before_commit=delay_commit)
    try:
        category = unique("race")
        shared = [f"{category}-{k}" for k in range(SHARED_STREAMS)]
        md = [f"md.{unique('trade')}-binance.S{k}" for k in range(BULK_WRITERS)]
        start = await store.head_position()
        reading = asyncio.create_task(reader(store, start, f"{category}-end"))
        writers = [
            *(domain_writer(store, shared, seed) for seed in range(DOMAIN_WRITERS)),
            *(bulk_writer(store, stream) for stream in md),
            # The eighth writer commits slowly, on the same shared streams as the others.
            domain_writer_slow(slow, shared),
        ]
        tallies = await asyncio.wait_for(asyncio.gather(*writers), 60)
        await store.append(f"{category}-end", [thing(0)])  # the reader stops there
        seen = await asyncio.wait_for(reading, 30)
        await assert_reader_saw_the_table(store_dsn, start, seen)
        await assert_versions_contiguous(store, tallies, shared + md)
        assert sum(t.conflicts for t in tallies) > 0, "no expected-version race happened"
        assert slow_commits >= 5
        assert len(seen) >= 10_000
    finally:
        await slow.close()
        await store.close()


async def domain_writer_slow(store: PostgresEventStore, streams: list[str]) -> Tally:
    """A domain writer whose every commit is delayed by the store's `before_commit` hook."""
    rng, tally = random.Random(99), Tally()
    for _ in range(20):
        stream = rng.choice(streams)
        version = await store.stream_version(stream)
        tally.attempts += 1
        try:
            await store.append(stream, [thing(1)], expected_version=version)
        except WrongExpectedVersion:
            tally.conflicts += 1
        else:
            tally.successes += 1
            tally.written[stream] += 1
    return tally


async def assert_reader_saw_the_table(dsn: str, start: int, seen: list[RecordedEvent]) -> None:
    """Every committed row exactly once, in strictly increasing position order."""
    positions = [e.position for e in seen]
    assert all(a < b for a, b in itertools.pairwise(positions))
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT position, event_id FROM events WHERE position > $1", start)
    finally:
        await conn.close()
    table: set[tuple[int, uuid.UUID]] = {(r["position"], r["event_id"]) for r in rows}
    assert len(table) == len(rows) == len(seen)
    assert {(e.position, e.event_id) for e in seen} == table


async def assert_versions_contiguous(
    store: PostgresEventStore, tallies: list[Tally], streams: list[str]
) -> None:
    """Each attempt either succeeded or raised WrongExpectedVersion, and no version is lost."""
    written: Counter[str] = Counter()
    for tally in tallies:
        assert tally.successes + tally.conflicts == tally.attempts
        written.update(tally.written)
    for stream in streams:
        versions = [e.version for e in await store.read_stream(stream)]
        assert versions == list(range(1, written[stream] + 1)), stream


async def test_a_late_commit_is_never_skipped(store_dsn: str) -> None:
    """The smallest form of the race: B commits while A, which started first, still sleeps."""
    a_inserted = asyncio.Event()

    async def sleep_before_commit() -> None:
        a_inserted.set()
        await asyncio.sleep(0.5)

    store = await PostgresEventStore.connect(store_dsn)
    slow = await PostgresEventStore.connect(store_dsn, before_commit=sleep_before_commit)
    try:
        a_stream, b_stream = f"{unique('late')}-a", f"{unique('late')}-b"
        start = await store.head_position()
        reading = asyncio.create_task(reader(store, start, f"{a_stream}-end"))
        a = asyncio.create_task(slow.append(a_stream, [thing(1)]))
        await a_inserted.wait()  # A holds its row, uncommitted
        await store.append(b_stream, [thing(2)])
        assert a.done(), "B committed while A was still open: positions could be skipped"
        await a
        await store.append(f"{a_stream}-end", [thing(0)])
        seen = await asyncio.wait_for(reading, 10)
        assert [e.stream for e in seen] == [a_stream, b_stream, f"{a_stream}-end"]
        await assert_reader_saw_the_table(store_dsn, start, seen)
    finally:
        await slow.close()
        await store.close()
