"""SQL of the PostgreSQL event store, and the pure staging of rows (versions, idempotency)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from breakout.common.events import NewEvent, encode_event, is_market_data, stream_category
from breakout.common.store.port import EventFilter, StreamAppend, WrongExpectedVersion

WRITER_LOCK_KEY = 0x6272_6B77_7274  # "brkwrt": the one lock every event writer takes
NOTIFY_CHANNEL = "breakout_events"

COLUMNS = (
    "stream",
    "version",
    "event_id",
    "type",
    "category",
    "data",
    "occurred_at",
    "producer",
    "causation_id",
    "correlation_id",
    "market_data",
)
Row = tuple[
    str, int, uuid.UUID, str, str, bytes, datetime, str, uuid.UUID | None, uuid.UUID | None, bool
]

# A row's data is encoded before the writer lock is taken: the lock is held as briefly as possible.
Encoded = tuple[NewEvent, bytes]

INSERT_AND_NOTIFY = """
WITH written AS (
    INSERT INTO events (stream, version, event_id, type, category, data, occurred_at, producer,
                        causation_id, correlation_id, market_data)
    SELECT * FROM unnest($1::text[], $2::bigint[], $3::uuid[], $4::text[], $5::text[],
                         $6::jsonb[], $7::timestamptz[], $8::text[], $9::uuid[], $10::uuid[],
                         $11::boolean[])
    RETURNING position
)
SELECT pg_notify('breakout_events', max(position)::text) FROM written
"""
# After a COPY, this session's last sequence value is the batch's highest position (the
# writer lock is held, so nobody else drew a number in between).
NOTIFY_CURRVAL = "SELECT pg_notify('breakout_events', currval('events_position_seq')::text)"
WRITER_LOCK = "SELECT pg_advisory_xact_lock($1)"
STREAM_VERSIONS = (
    "SELECT stream, max(version) AS version FROM events WHERE stream = ANY($1::text[])"
    " GROUP BY stream"
)
EXISTING_IDS = """
SELECT event_id FROM events
WHERE event_id = ANY($1::uuid[])
  AND (NOT market_data OR occurred_at BETWEEN $2 AND $3)
"""
STAGING_CREATE = (
    "CREATE TEMP TABLE breakout_staging"
    " (event_id uuid, occurred_at timestamptz, market_data boolean) ON COMMIT DROP"
)
STAGING_EXISTING = """
SELECT s.event_id FROM breakout_staging s
WHERE EXISTS (
    SELECT 1 FROM events e
    WHERE e.event_id = s.event_id AND e.market_data = s.market_data
      AND (NOT s.market_data OR e.occurred_at = s.occurred_at))
"""
CHECKPOINT_ADVANCE = """
INSERT INTO consumer_checkpoints AS c (consumer, position) VALUES ($1, $2)
ON CONFLICT (consumer) DO UPDATE SET position = excluded.position, updated_at = now()
    WHERE c.position < excluded.position
RETURNING position
"""
CHECKPOINT = "SELECT position FROM consumer_checkpoints WHERE consumer = $1"
SNAPSHOT_SAVE = """
INSERT INTO snapshots (consumer, position, state) VALUES ($1, $2, $3)
ON CONFLICT (consumer) DO UPDATE
    SET position = excluded.position, state = excluded.state, taken_at = now()
"""
SNAPSHOT_LOAD = "SELECT consumer, position, state, taken_at FROM snapshots WHERE consumer = $1"
HEAD = "SELECT coalesce(max(position), 0) FROM events"
STREAM_VERSION = (
    "SELECT coalesce(max(version), 0) FROM events WHERE market_data = $2 AND stream = $1"
)
ENSURE_MD_DAY = "SELECT breakout_ensure_md_day($1)"
ENVELOPE = (
    "position, stream, version, event_id, type, occurred_at, recorded_at, producer,"
    " causation_id, correlation_id, data"
)
READ_STREAM = f"""
SELECT {ENVELOPE} FROM events
WHERE market_data = $4 AND stream = $1 AND version > $2
ORDER BY version LIMIT $3
"""


def read_all_query(filter: EventFilter | None) -> tuple[str, list[Any]]:
    """The global read for a filter: SQL with $1 = after, $2 = limit, then the filter's values."""
    where = ["position > $1"]
    args: list[Any] = []
    if filter is not None and filter.categories is not None:
        args.append(list(filter.categories))
        where.append(f"category = ANY(${len(args) + 2}::text[])")
        # Let the planner prune a whole partition when the filter can only match one of them.
        md = {is_market_data(c) for c in filter.categories}
        if len(md) == 1:
            where.append("market_data" if md == {True} else "NOT market_data")
    if filter is not None and filter.types is not None:
        args.append(list(filter.types))
        where.append(f"type = ANY(${len(args) + 2}::text[])")
    sql = f"SELECT {ENVELOPE} FROM events WHERE {' AND '.join(where)} ORDER BY position LIMIT $2"
    return sql, args


def encode_appends(appends: Sequence[StreamAppend]) -> list[list[Encoded]]:
    """Encode every payload once, outside the transaction."""
    return [[(e, encode_event(e.data)) for e in a.events] for a in appends]


def md_days(appends: Iterable[StreamAppend]) -> set[date]:
    """UTC days of the market-data events in `appends` (their partitions must exist)."""
    return {
        e.occurred_at.astimezone(UTC).date()
        for a in appends
        if is_market_data(a.stream)
        for e in a.events
    }


def stage(
    appends: Sequence[StreamAppend],
    encoded: Sequence[Sequence[Encoded]],
    versions: dict[str, int],
    existing: set[uuid.UUID],
) -> list[Row]:
    """Number the fresh events on from `versions` (updated in place); raise on a conflict.

    Same rules as the in-memory store: stored ids are skipped, and an append whose events are
    all stored checks nothing.
    """
    rows: list[Row] = []
    seen: set[uuid.UUID] = set()
    for append, events in zip(appends, encoded, strict=True):
        fresh = [(e, d) for e, d in events if e.event_id not in existing and e.event_id not in seen]
        if not fresh:
            continue
        version = versions.get(append.stream, 0)
        if append.expected_version is not None and append.expected_version != version:
            raise WrongExpectedVersion(append.stream, append.expected_version, version)
        category = stream_category(append.stream)
        market_data = is_market_data(append.stream)
        for event, data in fresh:
            version += 1
            seen.add(event.event_id)
            rows.append(
                (
                    append.stream,
                    version,
                    event.event_id,
                    event.type,
                    category,
                    data,
                    event.occurred_at,
                    event.producer,
                    event.causation_id,
                    event.correlation_id,
                    market_data,
                )
            )
        versions[append.stream] = version
    return rows
