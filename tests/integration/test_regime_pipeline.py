"""The regime service end to end on the real stack: exchange_sim's macro world over HTTP ->
pollers -> Postgres -> relay -> NATS -> the regime process application -> decisions on
`regime.state`, moving RISK_ON -> CHOP -> RISK_OFF on a scripted macro path; a replay of the
recorded observations reproduces every decision."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest

from breakout.common.bus.port import BusMessage
from breakout.common.clock import SimulatedClock
from breakout.common.config import InfraSettings
from breakout.common.events import decode_wire
from breakout.common.events.regime import (
    NEWS_CLASSIFIED_STREAM,
    REGIME_STREAM,
    NewsClassified,
    RegimeChanged,
    news_stream,
)
from breakout.common.relay import Relay
from breakout.common.runtime.application import ProcessApplication, RuntimeConfig
from breakout.common.store.port import EventFilter
from breakout.exchange_sim.macro import MacroWorld, segment
from breakout.regime.core import RegimeCore
from breakout.regime.poller import FeedPoller
from tests.integration.stacks import open_stack
from tests.integration.test_regime_feeds import NO_RETRY, WORLD_START, feeds, serve_world

pytestmark = pytest.mark.integration
FAST = RuntimeConfig(fetch_timeout_s=0.1, ack_wait_s=5.0)
INPUTS = EventFilter(categories=("macro", "feed", "news"))
PATH_HOURS = 110


async def _until(predicate: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_scripted_macro_path_over_the_real_stack(
    infra: InfraSettings, bus_prefix: str
) -> None:
    clock = SimulatedClock(WORLD_START + timedelta(hours=1))
    world = MacroWorld(
        seed=5,
        clock=clock,
        start=WORLD_START,
        script=[segment("risk_on", 36), segment("calm", 36), segment("risk_off", 36)],
    )
    seen_on_bus: list[BusMessage] = []
    async with serve_world(world) as base, open_stack("real", infra, bus_prefix) as stack:

        async def watch() -> None:
            async for message in stack.bus.subscribe("regime.state"):
                seen_on_bus.append(message)

        relay = Relay(stack.store, stack.bus, stack.leader("relay"), batch_size=200)
        app = ProcessApplication("regime", RegimeCore(), stack.store, stack.bus, config=FAST)
        tasks = [asyncio.create_task(t) for t in (relay.run(), app.run(), watch())]
        try:
            async with httpx.AsyncClient(timeout=5.0) as client:
                pollers = [FeedPoller(f, stack.store, client, clock, NO_RETRY) for f in feeds(base)]
                for _ in range(PATH_HOURS):
                    for poller in pollers:
                        assert (await poller.poll_once()).failure is None
                    clock.advance(3600)
            inputs = await stack.store.read_all(limit=100_000, filter=INPUTS)
            await _until(lambda: app.checkpoint >= inputs[-1].position)
            head = await stack.store.head_position()
            await _until(lambda: relay.cursor >= head)
            on_state = [
                e
                for e in await stack.store.read_stream(REGIME_STREAM)
                if e.data.subject() == "regime.state"
            ]
            await _until(lambda: len(seen_on_bus) >= len(on_state))
        finally:
            relay.stop()
            app.stop()
            for task in tasks[:2]:
                await task
            tasks[2].cancel()

        recorded = await stack.store.read_stream(REGIME_STREAM)
        changes = [e.data for e in recorded if isinstance(e.data, RegimeChanged)]
        assert [c.state for c in changes] == ["RISK_ON", "CHOP", "RISK_OFF"]
        assert [c.previous_state for c in changes] == [None, "RISK_ON", "CHOP"]
        chop = changes[1]
        assert chop.permissions.sides_allowed == []
        assert chop.permissions.presets_allowed == []
        # Decisions take their times from the events: each lies in its segment of the path.
        hours = [(c.decided_ts_ms - world.start_ms) / 3_600_000 for c in changes]
        assert hours[0] < 36 <= hours[1] < 72 <= hours[2] < PATH_HOURS + 1
        assert all(c.confidence > 0.6 for c in changes)
        assert changes[2].time_in_previous_s == (hours[2] - hours[1]) * 3600

        # Every article was classified once; consumers on the bus saw the same decisions.
        articles = await stack.store.read_stream(news_stream("newsapi"))
        classified = await stack.store.read_stream(NEWS_CLASSIFIED_STREAM)
        assert len(classified) == len(articles) > 50
        assert all(isinstance(c.data, NewsClassified) for c in classified)
        bus_ids = [decode_wire(m.data).event_id for m in seen_on_bus]
        assert bus_ids == [e.event_id for e in on_state]
        assert [e.data for e in on_state] == changes  # no feed went stale on this path

        # Replaying the recorded observations through a fresh core reproduces every decision
        # (compared as values: JSONB keeps object keys in its own order).
        outputs = await stack.store.read_all(
            limit=100_000, filter=EventFilter(categories=("regime",))
        )
        replay = RegimeCore()
        replayed = [(emit.stream, emit.event) for event in inputs for emit in replay.handle(event)]
        assert replayed == [(e.stream, e.data) for e in outputs]
