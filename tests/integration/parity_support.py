"""A scripted session run live, for the parity test (test_parity.py).

The market data is the chaos test's recording (tests/chaos/session.py: exchange_sim scripted
into a compression then a breakout on ETHUSDT and a fake-out on SOLUSDT, read through ccxt by
the real ingest service). It is written into a fresh Postgres store step by step; the relay
publishes it to NATS, and features, signals, risk and execution (process applications under the
consumer names a backtest gives them), the order router and the paper broker (its market rules
read from exchange_sim through ccxt, its books from the bus) decide and trade on it.

Two choices make the run comparable with a backtest, and are what a live run on a real feed
approximates. Each step ends at a market event that is not a trade (a book, a candle, a ticker),
and while a position is open or an order works every event is a step (an exit may trigger on any
trade); the next step is written once every service has handled the last and the router has
placed every order, so no service lags the market at a decision point. And the paper broker's
clock is the market's (the latest market event's time plus the placement latency), as the wall
clock is in a live run on a live feed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec

from breakout.backtest.feed import market_time_ms
from breakout.common.bus.matching import matches_any
from breakout.common.bus.port import Bus
from breakout.common.clock import SimulatedClock
from breakout.common.events import (
    MarketTrade,
    OrderFillReceived,
    PositionClosed,
    PositionOpened,
    RecordedEvent,
)
from breakout.common.exchange import ccxt_config, pro_exchange
from breakout.common.presets import Preset
from breakout.common.relay import Relay
from breakout.common.runtime.application import ProcessApplication, RuntimeConfig
from breakout.common.store.port import EventStore, StreamAppend
from breakout.exchange_sim.testing import running_sim
from breakout.execution.ccxt_broker import CcxtBroker
from breakout.execution.core import ExecutionCore
from breakout.execution.paper import PaperBroker
from breakout.execution.router import OrderRouter
from breakout.features.config import FeaturesConfig
from breakout.features.core import FeaturesCore
from breakout.risk.core import RiskCore
from breakout.signals.core import SignalsCore
from tests.chaos.session import DECIDED, RECORDED_VENUE, Recording
from tests.integration.stacks import Stack

FAST = RuntimeConfig(fetch_timeout_s=0.05, ack_wait_s=5.0, snapshot_every=2_000)
SYMBOLS = DECIDED
OPENING = {"USDT": Decimal(100_000)}
LATENCY_MS = 50  # the paper broker's placement latency, and the backtest's


def market_entries(preset: Preset) -> Preset:
    """The chaos session's preset, entering momentum breakouts at market with the reward aimed
    at TP2 (the scripted breakout neither comes back through a stop-limit's trigger nor leaves
    a base-height projection worth the risk of a market entry): the session then goes as far
    as fills and an open position."""
    execution = msgspec.structs.replace(preset.execution_config, momentum_order="market")
    position = msgspec.structs.replace(preset.position_config, use_projection_target=False)
    return msgspec.structs.replace(preset, execution_config=execution, position_config=position)


@dataclass
class LiveSession:
    """What the live run left: its store's DSN, venue, market-time window and events."""

    dsn: str
    venue: str
    start_ms: int
    end_ms: int
    events: list[RecordedEvent]


def consumers(preset: Preset, features: FeaturesConfig, venue: str) -> dict[str, Any]:
    """The four decision cores under the consumer names a backtest gives them."""
    return {
        "features": FeaturesCore(features),
        f"signals-{preset.name}": SignalsCore(preset, venue),
        "risk": RiskCore([preset]),
        "execution": ExecutionCore([preset]),
    }


def feed_steps(recording: Recording) -> list[list[StreamAppend]]:
    """The recording cut after each market event that is not a trade (a book, a candle, a
    ticker): the steps the feeder writes, waiting for the services between two."""
    steps: list[list[StreamAppend]] = [[]]
    for event in recording.events:
        steps[-1].append(StreamAppend(stream=event.stream, events=[event.as_new()]))
        if not isinstance(event.data, MarketTrade):
            steps.append([])
    return [step for step in steps if step]


class Settled:
    """Follows the store: the last position each consumer (and the router) has to handle."""

    def __init__(self, store: EventStore, apps: list[ProcessApplication], router: OrderRouter):
        self.store, self.apps, self.router = store, apps, router
        self.head = 0
        self.last = {app.name: 0 for app in apps}
        self.last_order = 0
        self.open_positions: set[str] = set()

    def exposed(self) -> bool:
        """A position is open, or an order is still working."""
        working = any(view.terminal is None for view in self.router.views.values())
        return bool(self.open_positions) or working

    async def wait(self, timeout_s: float = 60.0) -> None:
        """Until every consumer handled what concerns it and the router read every order event,
        and nothing new was recorded in between."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline:
            before = self.head
            await self._update()
            if before == self.head and self._caught_up():
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"not settled in {timeout_s} s: {self.last} {self.head}")

    def _caught_up(self) -> bool:
        apps = all(app.checkpoint >= self.last[app.name] for app in self.apps)
        placed = all(
            view.exchange_order_id is not None or view.terminal is not None
            for view in self.router.views.values()
        )
        return apps and placed and self.router.cursor >= self.last_order

    async def _update(self) -> None:
        while batch := await self.store.read_all(after=self.head, limit=5000):
            for event in batch:
                subject = event.data.subject()
                for app in self.apps:
                    if matches_any(app.core.subjects, subject):
                        self.last[app.name] = event.position
                if event.stream.startswith("order-"):
                    self.last_order = event.position
                if isinstance(event.data, PositionOpened):
                    self.open_positions.add(event.data.position_id)
                elif isinstance(event.data, PositionClosed):
                    self.open_positions.discard(event.data.position_id)
            self.head = batch[-1].position


async def run_live(stack: Stack, preset: Preset, recording: Recording) -> LiveSession:
    """Write the recording into the live store step by step (`feed_steps`), each once every
    service has handled the one before; return the store's events at the end."""
    assert stack.dsn is not None
    bus: Bus = stack.bus
    venue = RECORDED_VENUE
    market = SimulatedClock(datetime.fromtimestamp(0, UTC))
    async with running_sim(list(SYMBOLS), seed=11, history_days=0.01, run_clock=False) as sim:
        apps = [
            ProcessApplication(name, core, stack.store, bus, config=FAST)
            for name, core in consumers(preset, recording.features, venue).items()
        ]
        public = ccxt_config("binance", sim.base_url, enable_rate_limit=False)
        paper = PaperBroker(
            CcxtBroker(pro_exchange("binance", public), exchange=venue),
            stack.store,
            bus,
            SYMBOLS,
            exchange=venue,
            balances=dict(OPENING),
            latency_ms=LATENCY_MS,
            clock=market,
        )
        router = OrderRouter(stack.store, paper, SYMBOLS, poll_s=0.05, balance_every_s=3600.0)
        relay = Relay(stack.store, bus, stack.leader("relay"), batch_size=500)
        components: list[Any] = [relay, paper, *apps, router]
        tasks = [asyncio.create_task(c.run()) for c in components]
        settled = Settled(stack.store, apps, router)
        try:
            await stack.store.append_bulk([recording.regime()])
            await _wait_for_paper_rules(paper, tasks)
            for step in feed_steps(recording):
                # While a position is open any trade may trigger an exit: one event at a time.
                parts = [[a] for a in step] if settled.exposed() else [step]
                for part in parts:
                    await stack.store.append_bulk(part)
                    last = max(market_time_ms(a.events[0].data) for a in part)
                    _advance(market, last + LATENCY_MS)
                    await settled.wait()
                    _crashed(tasks)
        finally:
            for component in components:
                component.stop()
            await asyncio.gather(*tasks)
            await paper.close()
    events = await stack.store.read_all(limit=10_000_000)
    times = [market_time_ms(e.data) for e in recording.events]
    return LiveSession(
        dsn=stack.dsn,
        venue=venue,
        # The session's market time: from its earliest event (ingest's candle history, recorded
        # at the start, is older than the first trade) to just past its last.
        start_ms=min(times),
        end_ms=max(times) + 1,
        events=events,
    )


def _advance(clock: SimulatedClock, ms: int) -> None:
    when = datetime.fromtimestamp(ms / 1000, UTC)
    if when > clock.now():
        clock.set(when)


async def _wait_for_paper_rules(paper: PaperBroker, tasks: list[asyncio.Task[None]]) -> None:
    for _ in range(600):
        if paper.rules:
            return
        _crashed(tasks)
        await asyncio.sleep(0.1)
    raise AssertionError("the paper broker never read the market rules")


def _crashed(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        if task.done() and task.exception() is not None:
            raise AssertionError(f"a component crashed: {task.exception()!r}")


def _story(events: list[RecordedEvent]) -> list[str]:
    """The decisions of a session, one line each (for a failure message)."""
    decisions = ("sig.signal_", "risk.", "exec.order", "pos.")
    return [
        f"{e.type} {msgspec.json.encode(e.data).decode()[:300]}"
        for e in events
        if e.type.startswith(decisions)
    ]


def filled(events: list[RecordedEvent]) -> bool:
    """The session has gone as far as a fill."""
    return any(isinstance(e.data, OrderFillReceived) for e in events)


def decoded(event: RecordedEvent) -> dict[str, Any]:
    """The decision fields of an event, as plain data."""
    out: dict[str, Any] = msgspec.to_builtins(event.data)
    return out
