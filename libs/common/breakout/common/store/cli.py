"""`breakout db migrate`, `breakout store tail|stats|archive`: the operator's view of the store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from breakout.common.config import InfraSettings
from breakout.common.events import MarketDataArchived, StoredEvent, encode_wire
from breakout.common.store.archive import archive_before
from breakout.common.store.migrate import migrate
from breakout.common.store.port import EventFilter
from breakout.common.store.postgres import PostgresEventStore

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
store_app = typer.Typer(help="Inspect the event store.", no_args_is_help=True)
console = Console()

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="PostgreSQL DSN (default: $DATABASE_URL)."),
]


@db_app.callback()
def db_group() -> None:
    """Database schema (a group even with one command, so it reads `db migrate` everywhere)."""


def _dsn(database_url: str | None) -> str:
    return database_url or InfraSettings.from_env().database_url


@db_app.command("migrate")
def migrate_command(database_url: DatabaseUrl = None) -> None:
    """Apply pending schema migrations."""
    applied = asyncio.run(migrate(_dsn(database_url)))
    for name in applied:
        console.print(f"applied {name}")
    if not applied:
        console.print("schema is up to date")


@store_app.command("tail")
def tail_command(
    after: Annotated[
        int | None, typer.Option(help="Start after this position (default: the current head).")
    ] = None,
    type: Annotated[list[str] | None, typer.Option("--type", help="Only these type tags.")] = None,
    category: Annotated[
        list[str] | None, typer.Option("--category", help="Only these stream categories.")
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="One JSON envelope per line.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Follow the global order (payloads undecoded) and print each event as it is appended."""
    filter = EventFilter(
        categories=tuple(category) if category else None, types=tuple(type) if type else None
    )
    try:
        asyncio.run(_tail(_dsn(database_url), after, filter, json))
    except KeyboardInterrupt:
        return


async def _tail(dsn: str, after: int | None, filter: EventFilter, as_json: bool) -> None:
    store = await PostgresEventStore.connect(dsn, max_size=2)
    try:
        start = await store.head_position() if after is None else after
        async for event in _follow_raw(store, start, filter):
            print(_line(event, as_json), flush=True)
    finally:
        await store.close()


async def _follow_raw(
    store: PostgresEventStore, after: int, filter: EventFilter
) -> AsyncIterator[StoredEvent]:
    # `follow` without decoding: this process does not import every service's event types,
    # and an operator must be able to tail types it has no class for. Same head-first rule.
    cursor = after
    while True:
        head = await store.head_position()
        events = await store.read_all_raw(after=cursor, limit=1000, filter=filter)
        for event in events:
            yield event
            cursor = event.position
        if len(events) < 1000:
            cursor = max(cursor, head)
            await store.wait_for_append(1.0)


def _line(event: StoredEvent, as_json: bool) -> str:
    if as_json:
        return encode_wire(event).decode()
    return (
        f"{event.position:>12} {event.stream} v{event.version} {event.type}"
        f" {event.occurred_at.isoformat()}"
    )


@store_app.command("stats")
def stats_command(
    exact: Annotated[
        bool, typer.Option(help="Count market-data rows exactly (scans every md partition).")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Rows, per-category counts, head position, partition sizes and consumer lag."""
    asyncio.run(_stats(_dsn(database_url), exact))


# Domain rows are counted exactly (kept forever but modest); market data, hundreds of millions of
# rows a day, is estimated from the planner's statistics unless asked for.
_CATEGORY_COUNTS = """
SELECT category, count(*) AS rows FROM events
WHERE NOT market_data OR $1 GROUP BY category ORDER BY category
"""
_PARTITIONS = """
SELECT c.relname AS partition, greatest(c.reltuples, 0)::bigint AS rows_estimate,
       pg_total_relation_size(c.oid) AS bytes
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE c.relkind = 'r' AND c.relname LIKE 'events%'
ORDER BY c.relname
"""
_CHECKPOINTS = "SELECT consumer, position, updated_at FROM consumer_checkpoints ORDER BY consumer"


async def _stats(dsn: str, exact: bool) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        head = await conn.fetchval("SELECT coalesce(max(position), 0) FROM events")
        categories = await conn.fetch(_CATEGORY_COUNTS, exact)
        partitions = await conn.fetch(_PARTITIONS)
        checkpoints = await conn.fetch(_CHECKPOINTS)
    finally:
        await conn.close()
    console.print(f"head position: {head}")
    table = Table("category", "rows", title="events by category" + ("" if exact else " (domain)"))
    for row in categories:
        table.add_row(row["category"], f"{row['rows']:,}")
    console.print(table)
    table = Table("partition", "rows (estimate)", "size", title="partitions")
    for row in partitions:
        table.add_row(row["partition"], f"{row['rows_estimate']:,}", _size(row["bytes"]))
    total = sum(r["rows_estimate"] for r in partitions)
    table.add_row("total", f"{total:,}", _size(sum(r["bytes"] for r in partitions)))
    console.print(table)
    table = Table("consumer", "position", "lag", "updated", title="checkpoints")
    for row in checkpoints:
        lag = head - row["position"]
        table.add_row(row["consumer"], str(row["position"]), f"{lag:,}", str(row["updated_at"]))
    console.print(table)


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024:
            return f"{n:.0f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


@store_app.command("archive")
def archive_command(
    retention_days: Annotated[
        int,
        typer.Option(
            min=1,
            envvar="BREAKOUT_MD_RETENTION_DAYS",
            help="Keep this many UTC days of market data in PostgreSQL (today counts as one).",
        ),
    ] = 3,
    directory: Annotated[
        Path,
        typer.Option("--dir", envvar="BREAKOUT_ARCHIVE_DIR", help="Where the Parquet files go."),
    ] = Path("archive"),
    database_url: DatabaseUrl = None,
) -> None:
    """Move market-data day partitions past the retention to Parquet (verified), then detach."""
    before = datetime.now(UTC).date() - timedelta(days=retention_days - 1)
    done = asyncio.run(_archive(_dsn(database_url), directory, before))
    for archived in done:
        console.print(
            f"archived {archived.partition}: {archived.rows:,} events"
            f" ({len(archived.files)} files) -> {archived.location}"
        )
    if not done:
        console.print(f"nothing to archive before {before.isoformat()}")


async def _archive(dsn: str, directory: Path, before: date) -> list[MarketDataArchived]:
    store = await PostgresEventStore.connect(dsn, max_size=2)
    try:
        return await archive_before(dsn, store, directory, before)
    finally:
        await store.close()
