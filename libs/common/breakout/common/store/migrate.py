"""Versioned SQL migrations (`migrations/NNNN_*.sql`), applied once each, in name order."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from importlib import resources

import asyncpg

# Held for the whole run so two migrators (two services starting at once) never interleave.
MIGRATE_LOCK_KEY = 0x6272_6B6D_6967  # "brkmig"
MD_DAYS_AHEAD = 2
"""Market-data day partitions created ahead of time, beyond today (and yesterday, for late data)."""


def migration_files() -> list[tuple[str, str]]:
    """Every migration as (name, SQL), in the order it must be applied."""
    folder = resources.files("breakout.common.store") / "migrations"
    files = [f for f in folder.iterdir() if f.name.endswith(".sql")]
    return [(f.name.removesuffix(".sql"), f.read_text("utf-8")) for f in sorted(files, key=_name)]


def _name(file: object) -> str:
    return str(getattr(file, "name", ""))


async def migrate(dsn: str, today: date | None = None) -> list[str]:
    """Apply pending migrations and pre-create market-data day partitions; return names applied."""
    conn: asyncpg.Connection = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATE_LOCK_KEY)
        try:
            applied = await _apply_pending(conn)
            await ensure_md_days(conn, today or datetime.now(UTC).date())
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATE_LOCK_KEY)
    finally:
        await conn.close()
    return applied


async def _apply_pending(conn: asyncpg.Connection) -> list[str]:
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
    applied: list[str] = []
    for name, sql in migration_files():
        if name in done:
            continue
        # Each migration and its bookkeeping row commit together: a failed one leaves no trace.
        async with conn.transaction():
            await conn.execute(sql)
            await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
        applied.append(name)
    return applied


async def ensure_md_days(conn: asyncpg.Connection, today: date) -> None:
    """Create the market-data partitions from yesterday to `MD_DAYS_AHEAD` days after `today`."""
    for offset in range(-1, MD_DAYS_AHEAD + 1):
        await conn.execute("SELECT breakout_ensure_md_day($1)", today + timedelta(days=offset))
