"""Relay figures: store -> NATS -> a consumer end to end, vs raw nats-py JetStream publishing."""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid

import nats

from breakout.common.bus.nats import NatsBus
from breakout.common.events import encode_wire
from breakout.common.leader import InMemoryLeaderLock
from breakout.common.relay import DEFAULT_BATCH_SIZE, Relay
from breakout.common.store.postgres import PostgresEventStore


async def relay_eps(
    store: PostgresEventStore,
    bus: NatsBus,
    nats_url: str,
    total: int,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> float:
    """Events/s from the relay's start until a consumer process has acked all `total` events."""
    consumer = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.consumer",
        nats_url,
        bus.prefix,
        str(total),
        stdout=asyncio.subprocess.PIPE,
    )
    assert consumer.stdout is not None
    if (await consumer.stdout.readline()).strip() != b"ready":
        raise RuntimeError("bench consumer did not start")
    relay = Relay(store, bus, InMemoryLeaderLock("bench-relay"), batch_size=batch_size)
    started = time.time()
    task = asyncio.create_task(relay.run())
    finished = float((await consumer.stdout.readline()).strip())
    await consumer.wait()
    relay.stop()
    await task
    return total / (finished - started)


async def relay_vs_raw(
    store: PostgresEventStore, nats_url: str, prefix: str, total: int, rounds: int = 3
) -> dict[str, float]:
    """Relay end to end and raw publishing of the same payloads, interleaved; medians of each.

    Each relay round gets a stream of its own (a relay resumes from its stream's tail)."""
    relayed, raw = [], []
    for round_no in range(rounds):
        raw.append(await raw_publish_eps(store, nats_url, f"{prefix}r{round_no}", total))
        bus = await NatsBus.connect(nats_url, prefix=f"{prefix}{uuid.uuid4().hex[:6]}")
        try:
            await bus.ensure_stream()
            relayed.append(await relay_eps(store, bus, nats_url, total))
        finally:
            await bus.delete_stream()
            await bus.close()
    return {"bus.raw_publish_eps": statistics.median(raw), "relay.eps": statistics.median(relayed)}


async def raw_publish_eps(
    store: PostgresEventStore, nats_url: str, prefix: str, total: int
) -> float:
    """Events/s of raw `js.publish_async` of the same wire payloads, all acks awaited."""
    payloads = []
    cursor = 0
    while len(payloads) < total:
        batch = await store.read_all_raw(after=cursor, limit=1000)
        if not batch:
            break
        payloads.extend((e.type, encode_wire(e)) for e in batch)
        cursor = batch[-1].position
    client = await nats.connect(nats_url)
    js = client.jetstream()
    stream = f"BENCHRAW_{prefix.upper()}"
    await js.add_stream(name=stream, subjects=[f"{prefix}raw.>"])
    try:
        started = time.perf_counter()
        futures = []
        for i, (_, payload) in enumerate(payloads):
            futures.append(
                await js.publish_async(
                    f"{prefix}raw.md.trade", payload, headers={"Nats-Msg-Id": str(i)}
                )
            )
        await asyncio.gather(*futures)
        return len(payloads) / (time.perf_counter() - started)
    finally:
        await js.delete_stream(stream)
        await client.close()
