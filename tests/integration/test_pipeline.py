"""Store -> relay -> bus -> process application, on both stacks, including bad input."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import time
import urllib.request
from collections.abc import AsyncIterator

import msgspec
import pytest

from breakout.common.bus.memory import InMemoryBus
from breakout.common.clock import SimulatedClock
from breakout.common.config import InfraSettings
from breakout.common.events import (
    MessageDeadLettered,
    RecordedEvent,
    StoredEvent,
    dead_letter_stream,
    encode_wire,
)
from breakout.common.relay import Relay, relayed_positions
from breakout.common.runtime.application import ProcessApplication, RuntimeConfig
from breakout.common.runtime.service import run_until_signalled
from breakout.common.store import InMemoryEventStore
from breakout.common.store.port import EventFilter
from tests.integration.stacks import Stack, open_stack
from tests.support.sample import BASE_TIME, RunningTotal, TotalUpdated, tick

pytestmark = pytest.mark.integration
FAST = RuntimeConfig(fetch_timeout_s=0.1, ack_wait_s=2.0)


@pytest.fixture(params=["memory", "real"])
async def stack(
    request: pytest.FixtureRequest, infra: InfraSettings, bus_prefix: str
) -> AsyncIterator[Stack]:
    async with open_stack(request.param, infra, bus_prefix) as opened:
        yield opened


async def _until(predicate: object, timeout_s: float = 20.0) -> None:
    async def check() -> bool:
        result = predicate()  # type: ignore[operator]
        return bool(await result if asyncio.iscoroutine(result) else result)

    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def _last_tick(stack: Stack) -> int:
    ticks = await stack.store.read_all_raw(limit=100_000, filter=EventFilter(categories=("tick",)))
    return ticks[-1].position


async def _store_positions(stack: Stack) -> list[int]:
    return [e.position for e in await stack.store.read_all_raw(after=0, limit=100_000)]


def _outputs(events: list[RecordedEvent]) -> list[tuple[str, int, str, bytes]]:
    return [(e.stream, e.version, str(e.event_id), msgspec.json.encode(e.data)) for e in events]


async def _produce(stack: Stack, n: int, keys: str = "ABC") -> None:
    for seq in range(n):
        key = keys[seq % len(keys)]
        await stack.store.append(f"tick-{key}", [tick(key, seq, amount=seq)])


async def test_relay_and_consumer_process_everything_once_in_order(stack: Stack) -> None:
    relay = Relay(stack.store, stack.bus, stack.leader("relay"), batch_size=50)
    app = ProcessApplication("totals", RunningTotal(), stack.store, stack.bus, config=FAST)
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(app.run())]
    try:
        await _produce(stack, 120)
        last_tick = await _last_tick(stack)
        await _until(lambda: app.checkpoint >= last_tick)
        head = await stack.store.head_position()
        await _until(lambda: relay.cursor >= head)  # the consumer's outputs are relayed too
    finally:
        relay.stop()
        app.stop()
        await asyncio.gather(*tasks)
    totals = await stack.store.read_stream("total-A")
    assert [e.version for e in totals] == list(range(1, 41))
    last = totals[-1].data
    assert isinstance(last, TotalUpdated)
    assert last.total == sum(range(0, 120, 3))
    assert len(await _store_positions(stack)) == 240
    assert await relayed_positions(stack.bus) == await _store_positions(stack)


async def test_same_core_same_decisions_on_both_stacks(
    infra: InfraSettings, bus_prefix: str
) -> None:
    results = []
    for kind in ("memory", "real"):
        async with open_stack(kind, infra, f"{bus_prefix}{kind}") as stack:
            await _produce(stack, 60)
            await Relay(stack.store, stack.bus, stack.leader("relay")).publish_pending()
            app = ProcessApplication("totals", RunningTotal(), stack.store, stack.bus, config=FAST)
            task = asyncio.create_task(app.run())
            await _until(lambda app=app: app.checkpoint >= 60)
            app.stop()
            await task
            outputs = EventFilter(categories=("total",))
            results.append(_outputs(await stack.store.read_all(limit=1000, filter=outputs)))
    assert results[0] == results[1]
    assert len(results[0]) == 60


async def test_garbage_and_unknown_types_are_dead_lettered_and_consumer_goes_on(
    stack: Stack,
) -> None:
    relay = Relay(stack.store, stack.bus, stack.leader("relay"), batch_size=50)
    app = ProcessApplication("totals", RunningTotal(), stack.store, stack.bus, config=FAST)
    letters_seen: list[bytes] = []

    async def watch_dlq() -> None:
        async for message in stack.bus.subscribe("dlq.totals"):
            letters_seen.append(message.data)

    tasks = [asyncio.create_task(t) for t in (relay.run(), app.run(), watch_dlq())]
    try:
        await _produce(stack, 3, keys="A")
        third = await _last_tick(stack)
        await _until(lambda: app.checkpoint >= third)
        garbage = b"\x00\xffnot json at all"
        unknown = encode_wire(
            StoredEvent(
                position=10_000,
                stream="tick-A",
                version=99,
                event_id=tick("Z", 1).event_id,
                type="test.from_the_future.v9",
                occurred_at=BASE_TIME,
                recorded_at=BASE_TIME,
                producer="stranger",
                data=msgspec.Raw(b'{"type":"test.from_the_future.v9"}'),
            )
        )
        await stack.bus.publish_raw("ops.test.tick.A", garbage)
        await stack.bus.publish_raw("ops.test.tick.A", unknown)
        await stack.bus.publish_raw("ops.test.tick.A", b'{"position": "nope"}')
        await stack.store.append("tick-A", [tick("A", 3)])
        fourth = await _last_tick(stack)
        await _until(lambda: app.checkpoint >= fourth and len(letters_seen) >= 3)
    finally:
        relay.stop()
        app.stop()
        for task in tasks[:2]:
            await task
        tasks[2].cancel()
    letters = [e.data for e in await stack.store.read_stream(dead_letter_stream("totals"))]
    assert len(letters) == 3
    assert all(isinstance(letter, MessageDeadLettered) for letter in letters)
    reasons = [letter.reason for letter in letters]  # type: ignore[attr-defined]
    assert "DecodeError" in reasons[0] or "JSON" in reasons[0]
    assert "test.from_the_future.v9" in reasons[1]
    assert "position" in reasons[2]
    assert base64.b64decode(letters[0].payload_b64) == garbage  # type: ignore[attr-defined]
    totals = await stack.store.read_stream("total-A")
    assert [e.data.input_seq for e in totals] == [0, 1, 2, 3]  # type: ignore[attr-defined]


async def test_relay_restarts_without_publishing_twice(stack: Stack) -> None:
    await _produce(stack, 30)
    await stack.bus.ensure_stream()
    first = Relay(stack.store, stack.bus, stack.leader("relay"), batch_size=7)
    # Published, then killed before its cursor was saved:
    await first._publish(await stack.store.read_all_raw(limit=100), 0)
    assert await stack.store.checkpoint(first.name) == 0
    await stack.store.append("tick-A", [tick("A", 30)])
    # A new relay resumes where the bus is, not where the store's cursor is.
    second = Relay(stack.store, stack.bus, stack.leader("relay"), batch_size=7)
    assert await second.publish_pending() == 1
    assert await relayed_positions(stack.bus) == await _store_positions(stack)
    assert len(await _store_positions(stack)) == 31
    assert await stack.store.checkpoint(second.name) == (await _store_positions(stack))[-1]


async def test_two_relays_one_leader(stack: Stack) -> None:
    relays = [Relay(stack.store, stack.bus, stack.leader("relay"), batch_size=10) for _ in range(2)]
    tasks = [asyncio.create_task(r.run()) for r in relays]
    try:
        await _produce(stack, 50)
        await _until(lambda: max(r.cursor for r in relays) >= 50)
        assert sum(1 for r in relays if r.health()["leading"]) == 1
    finally:
        for r in relays:
            r.stop()
        await asyncio.gather(*tasks)
    assert await relayed_positions(stack.bus) == await _store_positions(stack)
    assert len(await _store_positions(stack)) == 50


async def test_consumer_behind_bus_retention_catches_up_from_the_store(bus_prefix: str) -> None:
    store = InMemoryEventStore(SimulatedClock())
    bus = InMemoryBus(bus_prefix, max_msgs=10)  # the bus keeps only the last 10 messages
    stack = Stack("memory", store, bus)
    app = ProcessApplication("totals", RunningTotal(), store, bus, config=FAST)
    task = asyncio.create_task(app.run())
    await asyncio.sleep(0.2)  # following the bus, nothing to do yet
    await _produce(stack, 60, keys="A")
    await Relay(store, bus, stack.leader("relay")).publish_pending()  # 50 of 60 already gone
    assert await bus.first_sequence() == 51
    await _until(lambda: app.checkpoint >= 60)
    app.stop()
    await task
    totals = await store.read_stream("total-A")
    assert [e.data.input_seq for e in totals] == list(range(60))  # type: ignore[attr-defined]


async def test_service_shell_serves_health_and_metrics(bus_prefix: str) -> None:
    store = InMemoryEventStore(SimulatedClock())
    bus = InMemoryBus(bus_prefix)
    app = ProcessApplication("totals", RunningTotal(), store, bus, config=FAST)
    await store.append("tick-A", [tick("A", 0)])
    port = _free_port()
    stopping = asyncio.Event()
    service = asyncio.create_task(
        run_until_signalled(
            "totals", [app], {"consumer": app.health}, health_port=port, stopping=stopping
        )
    )
    await _until(lambda: app.checkpoint >= 1)
    health = await _get(f"http://127.0.0.1:{port}/health")
    metrics = await _get(f"http://127.0.0.1:{port}/metrics/")
    stopping.set()
    await service
    body = json.loads(health)
    assert body["ok"] is True
    assert body["components"]["consumer"]["checkpoint"] == 1
    assert 'breakout_events_in_total{consumer="totals"}' in metrics


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _get(url: str) -> str:
    def fetch() -> str:
        for _ in range(50):
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    return str(response.read().decode())
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"{url} never answered")

    return await asyncio.to_thread(fetch)
