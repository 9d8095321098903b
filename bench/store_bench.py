"""Store figures: bulk append vs a raw COPY baseline, single-append latency, decoded reads."""

from __future__ import annotations

import statistics
import time
import uuid

import asyncpg

from bench.workload import T0, batches, trade
from breakout.common.events import NewEvent, encode_event
from breakout.common.store.postgres import PostgresEventStore

BATCH = 1000


async def append_batch_eps(store: PostgresEventStore, total: int) -> float:
    """Events/s through `append_bulk`, batches of 1,000."""
    work = batches(total, BATCH, uuid.uuid4().hex[:8])
    started = time.perf_counter()
    for batch in work:
        await store.append_bulk(batch)
    return total / (time.perf_counter() - started)


async def copy_baseline_eps(dsn: str, total: int) -> float:
    """Events/s of the same rows by raw `copy_records_to_table` into a bare table."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            """CREATE TEMP TABLE bare (position bigint, stream text, version bigint,
               event_id uuid, type text, data jsonb, occurred_at timestamptz,
               recorded_at timestamptz, producer text)"""
        )
        run = uuid.uuid4().hex[:8]
        rows = []
        for i in range(total):
            stream, event = trade(i, run)
            rows.append(
                (
                    i + 1,
                    stream,
                    i + 1,
                    event.event_id,
                    event.type,
                    encode_event(event.data).decode(),
                    event.occurred_at,
                    T0,
                    event.producer,
                )
            )
        started = time.perf_counter()
        for start in range(0, total, BATCH):
            await conn.copy_records_to_table("bare", records=rows[start : start + BATCH])
        return total / (time.perf_counter() - started)
    finally:
        await conn.close()


async def single_append_latency_ms(store: PostgresEventStore, n: int) -> tuple[float, float]:
    """p50 and p99 of one-event appends with an expected version (a decision's path)."""
    run = uuid.uuid4().hex[:8]
    stream = f"order-bench{run}"
    samples = []
    for version in range(n):
        _, template = trade(version, run)
        event = NewEvent(
            event_id=uuid.uuid4(), data=template.data, occurred_at=T0, producer="bench"
        )
        started = time.perf_counter()
        await store.append(stream, [event], expected_version=version)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


async def read_all_eps(store: PostgresEventStore, limit_events: int) -> float:
    """Decoded events/s of a global read, batches of 1,000."""
    cursor, seen = 0, 0
    started = time.perf_counter()
    while seen < limit_events:
        events = await store.read_all(after=cursor, limit=BATCH)
        if not events:
            break
        seen += len(events)
        cursor = events[-1].position
    return seen / (time.perf_counter() - started)


async def md_bytes_per_event(dsn: str) -> tuple[float, float]:
    """On-disk bytes per market-data event (heap + indexes + TOAST) and JSON payload bytes."""
    conn = await asyncpg.connect(dsn)
    try:
        total = await conn.fetchval(
            """SELECT sum(pg_total_relation_size(inhrelid))
               FROM pg_inherits WHERE inhparent = 'events_md'::regclass"""
        )
        rows, payload = await conn.fetchrow(
            "SELECT count(*), avg(octet_length(data::text)) FROM events WHERE market_data"
        )
        return float(total) / rows, float(payload)
    finally:
        await conn.close()
