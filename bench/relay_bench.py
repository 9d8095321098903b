"""Relay figures: store -> NATS -> a consumer end to end, vs raw nats-py JetStream publishing."""

from __future__ import annotations

import asyncio
import time

import nats

from breakout.common.bus.nats import NatsBus
from breakout.common.bus.port import ConsumerConfig
from breakout.common.events import encode_wire
from breakout.common.leader import InMemoryLeaderLock
from breakout.common.relay import Relay
from breakout.common.store.postgres import PostgresEventStore


async def relay_eps(store: PostgresEventStore, bus: NatsBus, total: int) -> float:
    """Events/s from the relay's start until a pull consumer has acked all `total` events."""
    consumer = await bus.pull_consumer(
        ConsumerConfig(durable="bench-consumer", filter_subjects=("md.>",), ack_wait_s=30)
    )
    relay = Relay(store, bus, InMemoryLeaderLock("bench-relay"), batch_size=1000)
    started = time.perf_counter()
    task = asyncio.create_task(relay.run())
    received = 0
    while received < total:
        messages = await consumer.fetch(1000, 5.0)
        if not messages:
            raise RuntimeError(f"relay stalled at {received}/{total}")
        for message in messages:
            await message.ack()
        received += len(messages)
    elapsed = time.perf_counter() - started
    relay.stop()
    await task
    return total / elapsed


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
