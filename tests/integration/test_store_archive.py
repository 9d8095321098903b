"""Archiving market-data day partitions to Parquet against a real database: verified export,
the archive recorded in the log, the partition gone, the events readable again in order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from typer.testing import CliRunner

from breakout.common.config import InfraSettings
from breakout.common.events import MarketDataArchived
from breakout.common.store import PostgresEventStore
from breakout.common.store.archive import (
    ARCHIVE_STREAM,
    archive_before,
    manifest,
    md_partitions,
    read_archive,
)
from breakout.common.store.cli import store_app
from breakout.common.store.port import StreamAppend
from tests.integration.stacks import fresh_database
from tests.integration.store_support import T0, thing, tick

pytestmark = pytest.mark.integration

DAY1 = T0.date()
DAY2 = DAY1 + timedelta(days=1)


@pytest.fixture
async def archive_db(infra: InfraSettings) -> AsyncIterator[tuple[str, PostgresEventStore]]:
    async with fresh_database(infra) as dsn:
        store = await PostgresEventStore.connect(dsn)
        try:
            yield dsn, store
        finally:
            await store.close()


async def _fill(store: PostgresEventStore) -> None:
    # Two streams on day 1 (interleaved with a domain event), one on day 2.
    await store.append_bulk(
        [
            StreamAppend(
                stream="md.tick-sim.AAA", events=[tick("md.tick-sim.AAA", i) for i in range(700)]
            ),
            StreamAppend(
                stream="md.tick-sim.BBB", events=[tick("md.tick-sim.BBB", i) for i in range(300)]
            ),
        ]
    )
    await store.append("things-1", [thing(1)])
    later = T0 + timedelta(days=1)
    await store.append_bulk(
        [
            StreamAppend(
                stream="md.tick-sim.AAA",
                events=[tick("md.tick-sim.AAA", 10_000 + i, later) for i in range(50)],
            )
        ]
    )


async def test_a_day_moves_to_parquet_and_reads_back_in_order(
    archive_db: tuple[str, PostgresEventStore], tmp_path: Path
) -> None:
    dsn, store = archive_db
    await _fill(store)
    before = await store.read_all(after=0, limit=10_000)
    day1_events = [e for e in before if e.stream.startswith("md.") and e.occurred_at.date() == DAY1]
    assert len(day1_events) == 1000

    done = await archive_before(dsn, store, tmp_path, before=DAY2, chunk_rows=256)

    assert [a.day for a in done] == [DAY1.isoformat()]
    archived = done[0]
    assert archived.rows == 1000 and len(archived.files) == 4  # 256-row chunks
    assert sum(f.rows for f in archived.files) == 1000
    assert archived.first_position == day1_events[0].position
    assert archived.last_position == day1_events[-1].position
    assert manifest(tmp_path, DAY1) == archived
    # The partition is gone from the database; day 2 and the domain event stay.
    conn = await asyncpg.connect(dsn)
    try:
        # (migrate also makes the days around today ahead of time)
        days = [d for d, _ in await md_partitions(conn)]
        assert DAY1 not in days and DAY2 in days
    finally:
        await conn.close()
    after = await store.read_all(after=0, limit=10_000)
    assert not any(e.stream.startswith("md.") and e.occurred_at.date() == DAY1 for e in after)
    assert sum(1 for e in after if e.stream.startswith("md.")) == 50
    # The log says what left it.
    recorded = await store.read_stream(ARCHIVE_STREAM)
    assert [r.data for r in recorded] == [archived]
    # The archive gives back exactly the events that left, ids, positions and payloads.
    restored = list(read_archive(tmp_path))
    assert restored == day1_events
    assert list(read_archive(tmp_path, start=DAY2)) == []


async def test_rerunning_archives_nothing_twice(
    archive_db: tuple[str, PostgresEventStore], tmp_path: Path
) -> None:
    dsn, store = archive_db
    await _fill(store)
    first = await archive_before(dsn, store, tmp_path, before=DAY2)
    again = await archive_before(dsn, store, tmp_path, before=DAY2)
    assert len(first) == 1 and again == []
    assert len(await store.read_stream(ARCHIVE_STREAM)) == 1
    assert isinstance((await store.read_stream(ARCHIVE_STREAM))[0].data, MarketDataArchived)
    # Versions keep increasing after the detach: the stream heads remember them.
    await store.append_bulk(
        [
            StreamAppend(
                stream="md.tick-sim.BBB",
                events=[tick("md.tick-sim.BBB", 20_000, T0 + timedelta(days=1))],
            )
        ]
    )
    tail = await store.read_stream("md.tick-sim.BBB")
    assert [e.version for e in tail] == [301]


def test_reading_an_empty_archive_yields_nothing(tmp_path: Path) -> None:
    assert list(read_archive(tmp_path)) == []


async def test_the_cli_archives_what_is_past_the_retention(
    archive_db: tuple[str, PostgresEventStore], tmp_path: Path
) -> None:
    dsn, store = archive_db
    await _fill(store)
    runner = CliRunner()
    args = ["archive", "--retention-days", "3", "--dir", str(tmp_path), "--database-url", dsn]
    # The CLI runs its own event loop: run it in a thread, off this test's loop.
    result = await asyncio.to_thread(runner.invoke, store_app, args)
    assert result.exit_code == 0, result.output
    assert "events_md_20260105: 1,000 events" in result.output
    assert "events_md_20260106: 50 events" in result.output
    assert len(list(read_archive(tmp_path))) == 1050
    again = await asyncio.to_thread(runner.invoke, store_app, args)
    assert "nothing to archive" in again.output
