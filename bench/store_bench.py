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


async def copy_baseline_eps(dsn: str, total: int, *, temp: bool = False) -> float:
    """Events/s of the same rows by raw `copy_records_to_table` into a bare table.

    The bare table is an ordinary one (written to the WAL like the store's tables) with no
    index, constraint or partition; `temp=True` copies into a TEMP table instead, which skips
    the WAL altogether: a floor no durable store can reach, recorded beside it for reference.
    """
    conn = await asyncpg.connect(dsn)
    table = f"bare_{uuid.uuid4().hex[:8]}"
    try:
        await conn.execute(
            f"""CREATE {"TEMP" if temp else ""} TABLE {table} (position bigint, stream text,
               version bigint, event_id uuid, type text, data jsonb, occurred_at timestamptz,
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
            await conn.copy_records_to_table(table, records=rows[start : start + BATCH])
        return total / (time.perf_counter() - started)
    finally:
        await conn.execute(f"DROP TABLE IF EXISTS {table}")
        await conn.close()


async def append_vs_copy(
    store: PostgresEventStore, dsn: str, total: int, rounds: int = 3
) -> dict[str, float]:
    """The bulk append and both COPY baselines, interleaved over `rounds`; medians of each.

    Interleaving gives each the same share of whatever else the machine is doing (and of the
    database's growth); one round each, in a fixed order, measured the order as much as the code.
    """
    per_round = total // rounds
    append, logged, temp = [], [], []
    for _ in range(rounds):
        logged.append(await copy_baseline_eps(dsn, per_round))
        append.append(await append_batch_eps(store, per_round))
        temp.append(await copy_baseline_eps(dsn, per_round, temp=True))
    return {
        "store.copy_baseline_eps": statistics.median(logged),
        "store.copy_temp_baseline_eps": statistics.median(temp),
        "store.append_batch_eps": statistics.median(append),
    }


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
