"""Archiving market data: day partitions out of PostgreSQL into Parquet, still replayable.

Market data is most of the log by volume, and nothing but backtests and audits reads it after
a few days. Past the retention, each UTC day partition of `events_md` is:

1. exported in global order to `<dir>/md/day=YYYY-MM-DD/part-NNNNN.parquet` (zstd), in chunks
   read through a server-side cursor, so a 200-million-row day never sits in memory;
2. verified: the files are read back and their row count and the sum of their positions must
   equal the partition's (a half-written or truncated file is caught before anything is lost);
3. recorded: `ops.md_archived` (rows, positions, files with sha256) is appended with an id
   derived from the partition's name, so the log says what left it and where it went;
4. detached and dropped, in one transaction.

Re-running is safe: a day already archived has no partition left; a crash after the export
re-exports the same rows to the same file names, and a crash between 3 and 4 appends nothing
new (same event id) and detaches. The record comes first, so data never leaves unrecorded.

`read_archive` gives the archived events back as `RecordedEvent`s in position order, so a
backtest or a replay reads archive and store as one log.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
import msgspec
import polars as pl

from breakout.common.events import (
    ArchivedFile,
    MarketDataArchived,
    NewEvent,
    RecordedEvent,
    StoredEvent,
)
from breakout.common.ids import external_event_id
from breakout.common.store.port import EventStore

ARCHIVE_STREAM = "ops.archive-md"
_PART_RE = re.compile(r"^events_md_(\d{8})$")
_COLUMNS = (
    "position, stream, version, event_id::text, type, category, occurred_at, recorded_at, "
    "producer, causation_id::text, correlation_id::text, data::text"
)
_SCHEMA: dict[str, pl.DataType] = {
    "position": pl.Int64(),
    "stream": pl.Utf8(),
    "version": pl.Int64(),
    "event_id": pl.Utf8(),
    "type": pl.Utf8(),
    "category": pl.Utf8(),
    "occurred_at": pl.Datetime("us", "UTC"),
    "recorded_at": pl.Datetime("us", "UTC"),
    "producer": pl.Utf8(),
    "causation_id": pl.Utf8(),
    "correlation_id": pl.Utf8(),
    "data": pl.Utf8(),
}


class ArchiveError(RuntimeError):
    """The export did not verify; the partition was left in place."""


async def md_partitions(conn: asyncpg.Connection) -> list[tuple[date, str]]:
    """Every market-data day partition attached now, oldest first."""
    rows = await conn.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'events_md'::regclass"
    )
    found = []
    for row in rows:
        match = _PART_RE.match(row[0])
        if match:
            found.append((datetime.strptime(match.group(1), "%Y%m%d").date(), row[0]))
    return sorted(found)


def day_dir(root: Path, day: date) -> Path:
    """Where one day's Parquet files go."""
    return root / "md" / f"day={day.isoformat()}"


async def archive_before(
    dsn: str, store: EventStore, root: Path, before: date, chunk_rows: int = 500_000
) -> list[MarketDataArchived]:
    """Archive every market-data partition of a day strictly before `before`."""
    conn = await asyncpg.connect(dsn)
    try:
        done = []
        for day, partition in await md_partitions(conn):
            if day < before:
                archived = await archive_partition(
                    conn, store, root, day, partition, chunk_rows=chunk_rows
                )
                done.append(archived)
        return done
    finally:
        await conn.close()


async def archive_partition(
    conn: asyncpg.Connection,
    store: EventStore,
    root: Path,
    day: date,
    partition: str,
    *,
    chunk_rows: int = 500_000,
) -> MarketDataArchived:
    """Export, verify, then detach and drop one day partition (see the module docstring)."""
    target = day_dir(root, day)
    target.mkdir(parents=True, exist_ok=True)
    for stale in target.glob("part-*.parquet"):
        stale.unlink()  # a previous run that crashed before its commit
    files = await _export(conn, partition, target, chunk_rows)
    totals = await conn.fetchrow(
        "SELECT count(*), coalesce(sum(position), 0), min(position), max(position)"
        f' FROM "{partition}"'
    )
    assert totals is not None  # an aggregate always returns one row
    rows, position_sum, first, last = totals
    _verify(target, rows, int(position_sum))
    archived = MarketDataArchived(
        day=day.isoformat(),
        partition=partition,
        rows=rows,
        first_position=first or 0,
        last_position=last or 0,
        location=str(target.resolve()),
        files=files,
    )
    (target / "_manifest.json").write_bytes(msgspec.json.encode(archived))
    record = NewEvent(
        event_id=external_event_id("store-archive", partition),
        data=archived,
        occurred_at=datetime.now(UTC),
        producer="store-archive",
    )
    await store.append(ARCHIVE_STREAM, [record])
    async with conn.transaction():
        await conn.execute(f'ALTER TABLE events_md DETACH PARTITION "{partition}"')
        await conn.execute(f'DROP TABLE "{partition}"')
    return archived


async def _export(
    conn: asyncpg.Connection, partition: str, target: Path, chunk_rows: int
) -> list[ArchivedFile]:
    files: list[ArchivedFile] = []
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        cursor = await conn.cursor(f'SELECT {_COLUMNS} FROM "{partition}" ORDER BY position')
        while True:
            rows = await cursor.fetch(chunk_rows)
            if not rows:
                break
            frame = pl.DataFrame([tuple(r) for r in rows], schema=_SCHEMA, orient="row")
            path = target / f"part-{len(files):05d}.parquet"
            frame.write_parquet(path, compression="zstd")
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            files.append(ArchivedFile(name=path.name, rows=len(rows), sha256=digest))
    return files


def _verify(target: Path, rows: int, position_sum: int) -> None:
    files = sorted(target.glob("part-*.parquet"))
    if not files:
        if rows:
            raise ArchiveError(f"{target}: no files written for {rows} rows")
        return
    check = pl.scan_parquet(files).select(
        pl.len().alias("rows"), pl.col("position").sum().alias("sum")
    )
    got = check.collect().row(0)
    if got != (rows, position_sum):
        raise ArchiveError(f"{target}: files hold {got}, the partition ({rows}, {position_sum})")


def read_archive(
    root: Path, start: date | None = None, end: date | None = None
) -> Iterator[RecordedEvent]:
    """Archived market-data events of days in [start, end] (None: open), in position order."""
    days = sorted((root / "md").glob("day=*"))
    for folder in days:
        day = date.fromisoformat(folder.name.removeprefix("day="))
        if (start is not None and day < start) or (end is not None and day > end):
            continue
        files = sorted(folder.glob("part-*.parquet"))
        if not files:
            continue
        frame = pl.scan_parquet(files).sort("position").collect()
        for row in frame.iter_rows(named=True):
            yield _stored_row(row).decode()


def _stored_row(row: dict[str, object]) -> StoredEvent:
    def maybe_uuid(value: object) -> uuid.UUID | None:
        return None if value is None else uuid.UUID(str(value))

    return StoredEvent(
        position=int(str(row["position"])),
        stream=str(row["stream"]),
        version=int(str(row["version"])),
        event_id=uuid.UUID(str(row["event_id"])),
        type=str(row["type"]),
        occurred_at=row["occurred_at"],  # type: ignore[arg-type]
        recorded_at=row["recorded_at"],  # type: ignore[arg-type]
        producer=str(row["producer"]),
        causation_id=maybe_uuid(row["causation_id"]),
        correlation_id=maybe_uuid(row["correlation_id"]),
        data=msgspec.Raw(str(row["data"]).encode()),
    )


def manifest(root: Path, day: date) -> MarketDataArchived:
    """The manifest written beside one archived day."""
    raw = (day_dir(root, day) / "_manifest.json").read_bytes()
    return msgspec.json.decode(raw, type=MarketDataArchived)


__all__ = [
    "ARCHIVE_STREAM",
    "ArchiveError",
    "archive_before",
    "archive_partition",
    "manifest",
    "md_partitions",
    "read_archive",
]
