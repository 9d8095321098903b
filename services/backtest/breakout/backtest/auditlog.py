"""The reads a replay or an audit needs beyond the `EventStore` port, on PostgreSQL.

The port reads by stream and in global order; an auditor also asks "what did this consumer
record", "which event is this id", "what did this event cause" and "which consumers exist".
These are SQL over the same `events` table (indexes: `events_domain` by event id and by
causation id, market data by (occurred_at, event_id) — hence the time hint on id lookups).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

from breakout.common.events import RecordedEvent
from breakout.common.store.postgres import stored_event
from breakout.common.store.postgres_sql import ENVELOPE

_BY_PRODUCER = f"""
SELECT {ENVELOPE} FROM events_domain
WHERE producer = $1 AND position > $2 AND position <= $3
ORDER BY position LIMIT $4
"""
_DOMAIN_BY_IDS = f"SELECT {ENVELOPE} FROM events_domain WHERE event_id = ANY($1::uuid[])"
# Market data is indexed by (occurred_at, event_id): a derived event's occurred_at is its
# input's by default, so the exact time finds it through the index; a window around it next.
_MD_BY_ID_AT = f"SELECT {ENVELOPE} FROM events_md WHERE occurred_at = $2 AND event_id = $1"
_MD_BY_ID_NEAR = f"""
SELECT {ENVELOPE} FROM events_md
WHERE occurred_at BETWEEN $2 AND $3 AND event_id = $1 LIMIT 1
"""
_CAUSED_BY = f"""
SELECT {ENVELOPE} FROM events_domain WHERE causation_id = ANY($1::uuid[]) ORDER BY position
"""
_BY_TYPE_FIELD = f"""
SELECT {ENVELOPE} FROM events_domain
WHERE type = ANY($1::text[]) AND data ->> $2 = $3 ORDER BY position
"""
_CHECKPOINTS = "SELECT consumer, position FROM consumer_checkpoints ORDER BY consumer"
_RECORDED_AT = "SELECT recorded_at FROM events WHERE position >= $1 ORDER BY position LIMIT 1"
_HEAD = "SELECT coalesce(max(position), 0) FROM events"
NEAR = timedelta(days=1)


class PostgresAuditLog:
    """Audit reads over one store database (a pool of its own)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @classmethod
    async def connect(cls, dsn: str) -> PostgresAuditLog:
        """Open a small pool on a migrated store database."""
        return cls(await asyncpg.create_pool(dsn, min_size=1, max_size=2))

    async def close(self) -> None:
        """Release the pool."""
        await self._pool.close()

    async def checkpoints(self) -> dict[str, int]:
        """Every consumer that ever committed, and its checkpoint."""
        rows = await self._pool.fetch(_CHECKPOINTS)
        return {r["consumer"]: r["position"] for r in rows}

    async def by_producer(
        self, producer: str, after: int, until: int, limit: int = 5000
    ) -> list[RecordedEvent]:
        """Domain events `producer` recorded with a position in (after, until], in order."""
        rows = await self._pool.fetch(_BY_PRODUCER, producer, after, until, limit)
        return [stored_event(r).decode() for r in rows]

    async def by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, RecordedEvent]:
        """Domain events by id (market data: `md_by_id`)."""
        rows = await self._pool.fetch(_DOMAIN_BY_IDS, list(ids))
        return {e.event_id: e for e in (stored_event(r).decode() for r in rows)}

    async def md_by_id(self, event_id: uuid.UUID, near: datetime) -> RecordedEvent | None:
        """A market-data event by id, looked for at `near` (its effect's time) first."""
        row = await self._pool.fetchrow(_MD_BY_ID_AT, event_id, near)
        if row is None:
            row = await self._pool.fetchrow(_MD_BY_ID_NEAR, event_id, near - NEAR, near + NEAR)
        return stored_event(row).decode() if row is not None else None

    async def caused_by(self, ids: Sequence[uuid.UUID]) -> list[RecordedEvent]:
        """Domain events whose causation is one of `ids`, in store order."""
        rows = await self._pool.fetch(_CAUSED_BY, list(ids))
        return [stored_event(r).decode() for r in rows]

    async def by_field(self, types: Sequence[str], field: str, value: str) -> list[RecordedEvent]:
        """Domain events of `types` whose payload's `field` is `value` (e.g. a signal id)."""
        rows = await self._pool.fetch(_BY_TYPE_FIELD, list(types), field, value)
        return [stored_event(r).decode() for r in rows]

    async def position_at(self, when: datetime) -> int:
        """The last position recorded before `when` (bisecting positions by recorded_at).

        `recorded_at` follows the position closely (positions are drawn in commit order), so a
        bisection over positions finds the boundary without an index on time.
        """
        low, high = 0, int(await self._pool.fetchval(_HEAD))
        while low < high:
            middle = (low + high + 1) // 2
            recorded = await self._pool.fetchval(_RECORDED_AT, middle)
            if recorded is not None and recorded < when:
                low = middle
            else:
                high = middle - 1
        return low
