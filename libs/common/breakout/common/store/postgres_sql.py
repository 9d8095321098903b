"""SQL of the PostgreSQL event store, and the pure staging of rows (versions, idempotency)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, timedelta
from typing import Any

import msgspec

from breakout.common.events import is_market_data, stream_category
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
# A row in COPY column order. A list, built once before the writer lock is taken (payload
# encoding included); under the lock only its version (index 1) is filled in. The payload is
# passed as text: asyncpg's built-in jsonb codec is C, a custom bytes codec would be Python.
Row = list[Any]
VERSION, EVENT_ID, OCCURRED_AT, MARKET_DATA = 1, 2, 6, 10

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
MD_HEADS_AND_NOTIFY = """
WITH heads AS (
    INSERT INTO md_stream_heads (stream, version)
    SELECT * FROM unnest($1::text[], $2::bigint[])
    ON CONFLICT (stream) DO UPDATE SET version = excluded.version
)
SELECT pg_notify('breakout_events', currval('events_position_seq')::text)
"""
WRITER_LOCK = "SELECT pg_advisory_xact_lock($1)"
# Current versions, one index probe per stream: market-data heads from their table, domain
# streams from the (stream, version) index (max() on it reads one entry, not the stream).
_CURRENT_VERSIONS = """
SELECT s.stream,
       CASE WHEN starts_with(s.stream, 'md.')
            THEN (SELECT h.version FROM md_stream_heads h WHERE h.stream = s.stream)
            ELSE (SELECT max(e.version) FROM events_domain e WHERE e.stream = s.stream)
       END AS version
FROM unnest($1::text[]) AS s(stream)
"""
STREAM_VERSIONS = f"SELECT stream, version FROM ({_CURRENT_VERSIONS}) v WHERE version IS NOT NULL"
# Current versions and already-stored ids in one round trip (the lock is held meanwhile).
# Market-data ids are looked up only in the day partitions the batch's times fall in.
VERSIONS_AND_EXISTING = f"""
WITH current AS ({_CURRENT_VERSIONS})
SELECT coalesce(array_agg(stream) FILTER (WHERE version IS NOT NULL), '{{}}') AS streams,
       coalesce(array_agg(version) FILTER (WHERE version IS NOT NULL), '{{}}') AS versions,
       ARRAY(SELECT event_id FROM events
             WHERE event_id = ANY($2::uuid[])
               AND (NOT market_data OR occurred_at BETWEEN $3 AND $4)) AS existing
FROM current
"""
MD_HEADS_ADVANCE = """
INSERT INTO md_stream_heads (stream, version)
SELECT * FROM unnest($1::text[], $2::bigint[])
ON CONFLICT (stream) DO UPDATE SET version = excluded.version
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
STREAM_VERSION = f"SELECT coalesce(max(version), 0) FROM ({_CURRENT_VERSIONS}) v"
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


# The same bytes as `encode_event` (default msgspec JSON), without a Python call per event.
_encode_payload = msgspec.json.Encoder().encode


def encode_appends(appends: Sequence[StreamAppend]) -> list[list[Row]]:
    """Every append's rows, payloads encoded, versions not yet assigned."""
    tags: dict[type, str] = {}
    out: list[list[Row]] = []
    for append in appends:
        stream = append.stream
        category, market_data = stream_category(stream), is_market_data(stream)
        rows: list[Row] = []
        for e in append.events:
            data = e.data
            tag = tags.get(type(data))
            if tag is None:
                tag = tags[type(data)] = e.type
            rows.append(
                [stream, 0, e.event_id, tag, category, _encode_payload(data).decode(),
                 e.occurred_at, e.producer, e.causation_id, e.correlation_id, market_data]
            )  # fmt: skip
        out.append(rows)
    return out


def md_days(appends: Iterable[StreamAppend]) -> set[date]:
    """UTC days spanned by the market-data events in `appends` (their partitions must exist)."""
    days: set[date] = set()
    for append in appends:
        if append.events and is_market_data(append.stream):
            first = min(e.occurred_at for e in append.events).astimezone(UTC).date()
            last = max(e.occurred_at for e in append.events).astimezone(UTC).date()
            days.update(first + timedelta(days=n) for n in range((last - first).days + 1))
    return days


def md_partition(day: date) -> str:
    """Name of the market-data partition of one UTC day (as `breakout_ensure_md_day` makes it)."""
    return f"events_md_{day:%Y%m%d}"


def copy_targets(rows: list[Row]) -> dict[str, list[Row]]:
    """Rows grouped by the leaf partition they belong to.

    COPY into the leaf skips tuple routing through two levels of partitioning (about a third of
    the COPY's cost); PostgreSQL still checks each row against the leaf's partition bounds.
    """
    domain = [r for r in rows if not r[MARKET_DATA]]
    market = [r for r in rows if r[MARKET_DATA]] if len(domain) < len(rows) else []
    targets: dict[str, list[Row]] = {"events_domain": domain} if domain else {}
    if not market:
        return targets
    first = min(r[OCCURRED_AT] for r in market).astimezone(UTC).date()
    if max(r[OCCURRED_AT] for r in market).astimezone(UTC).date() == first:
        targets[md_partition(first)] = market  # the common case: a batch within one UTC day
        return targets
    names: dict[date, str] = {}
    for row in market:
        day = row[OCCURRED_AT].astimezone(UTC).date()
        table = names.get(day) or names.setdefault(day, md_partition(day))
        targets.setdefault(table, []).append(row)
    return targets


def stage(
    appends: Sequence[StreamAppend],
    encoded: Sequence[list[Row]],
    versions: dict[str, int],
    existing: set[uuid.UUID],
    *,
    dedupe: bool = True,
) -> list[Row]:
    """Number the fresh rows on from `versions` (updated in place); raise on a conflict.

    Same rules as the in-memory store: stored ids (and repeats within the batch) are skipped,
    and an append whose events are all stored checks nothing. `dedupe=False` trusts the caller
    that neither happens (a unique index will say so if it does).
    """
    staged: list[Row] = []
    seen: set[uuid.UUID] = set()
    for append, rows in zip(appends, encoded, strict=True):
        fresh = rows
        if dedupe:
            fresh = [r for r in rows if r[EVENT_ID] not in existing and r[EVENT_ID] not in seen]
            seen.update(r[EVENT_ID] for r in fresh)
        if not fresh:
            continue
        version = versions.get(append.stream, 0)
        if append.expected_version is not None and append.expected_version != version:
            raise WrongExpectedVersion(append.stream, append.expected_version, version)
        for row in fresh:
            version += 1
            row[VERSION] = version
        versions[append.stream] = version
        staged.extend(fresh)
    return staged


def md_heads(rows: Iterable[Row]) -> tuple[list[str], list[int]]:
    """The new head version of each market-data stream among `rows` (streams, versions)."""
    heads: dict[str, int] = {}
    for row in rows:
        if row[MARKET_DATA]:
            heads[row[0]] = row[VERSION]
    return list(heads), list(heads.values())
