"""The backtest engine: the live cores in one process, over an in-memory store, in market time.

    market event -> store -> features -> signals -> risk -> execution -> order router -> paper
                    (each output dispatched, in store order, to every core subscribed to it)

Each core runs inside the same `ProcessApplication` as live, under the consumer name live uses
(`features`, `signals-<preset>`, `risk`, `execution`), so every output id is the one a live run
derives (`uuid5(consumer, input id, index)`) and commits with its checkpoint as live. There is
no bus: the engine reads the store in global order and hands each event to the applications
whose subjects match it — what each durable consumer would receive, in the same order. The
execution service's `OrderRouter` and `PaperBroker` place and fill the orders, on a simulated
clock that stands at the market time of the event in hand.

Latency: an order decided at t is placed at t + `latency_ms` (the router holds it), and fills
against the book standing then. The paper broker's own placement wait is not used here.

Ordering: after each market event every consequence is settled (all cores, router, fills)
before the next market event — the pipeline never lags the market, which live can.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal

import msgspec

from breakout.backtest.feed import MarketInput
from breakout.common.bus.matching import matches_any
from breakout.common.clock import SimulatedClock
from breakout.common.events import (
    BookSnapshot,
    MarketRulesObserved,
    OrderSubmitted,
    RecordedEvent,
)
from breakout.common.presets import Preset
from breakout.common.runtime.application import ProcessApplication, RuntimeConfig
from breakout.common.runtime.core import Core
from breakout.common.store.memory import InMemoryEventStore
from breakout.execution.core import ExecutionCore
from breakout.execution.paper import PaperBroker
from breakout.execution.router import OrderRouter
from breakout.features.config import FeaturesConfig
from breakout.features.core import FeaturesCore
from breakout.risk.core import RiskCore
from breakout.signals.core import SignalsCore
from breakout.signals.mlmodel import preset_model

NEVER = 10**15  # snapshots are for restarts; a backtest does not restart


class EngineSetup(msgspec.Struct, frozen=True, kw_only=True):
    """One run's wiring: the preset, the venue and markets, the paper account, the latency."""

    preset: Preset
    exchange: str
    symbols: tuple[str, ...]
    quote: str
    rules: list[MarketRulesObserved]
    balances: dict[str, Decimal]
    latency_ms: float = 50.0
    balance_every_s: float = 10.0
    features: FeaturesConfig | None = None


class StaticRules:
    """The paper broker's rules source: the markets' rules known before the run."""

    def __init__(self, rules: Sequence[MarketRulesObserved]) -> None:
        self._rules = {r.symbol: r for r in rules}

    async def market_rules(self, symbols: Sequence[str]) -> list[MarketRulesObserved]:
        """The rules of `symbols` that are known."""
        return [self._rules[s] for s in symbols if s in self._rules]

    async def close(self) -> None:
        """Nothing to release."""


def consumer_names(preset: Preset) -> tuple[str, str, str, str]:
    """The consumers live runs: features, signals of the preset, risk, execution."""
    return ("features", f"signals-{preset.name}", "risk", "execution")


class BacktestEngine:
    """Runs market inputs through the live cores (see the module docstring)."""

    def __init__(self, setup: EngineSetup, start_ms: int) -> None:
        self.setup = setup
        self.clock = SimulatedClock(_at(start_ms))
        self.store = InMemoryEventStore(self.clock)
        preset = setup.preset
        runtime = RuntimeConfig(snapshot_every=NEVER)
        cores: tuple[Core, ...] = (
            FeaturesCore(setup.features or FeaturesConfig.from_preset(preset)),
            SignalsCore(preset, setup.exchange, ml=preset_model(preset)),
            RiskCore([preset], quote=setup.quote),
            ExecutionCore([preset]),
        )
        self.apps = [
            ProcessApplication(name, core, self.store, None, config=runtime, clock=self.clock)
            for name, core in zip(consumer_names(preset), cores, strict=True)
        ]
        self.broker = PaperBroker(
            StaticRules(setup.rules),
            self.store,
            None,
            setup.symbols,
            exchange=setup.exchange,
            balances=dict(setup.balances),
            latency_ms=0.0,  # the router's hold models the latency (module docstring)
            clock=self.clock,
        )
        self.router = OrderRouter(
            self.store,
            self.broker,
            setup.symbols,
            balance_every_s=setup.balance_every_s,
            clock=self.clock,
        )
        self.cursor = 0
        self.market_events = 0
        self._routes: dict[str, list[ProcessApplication]] = {}
        self._due: list[float] = []
        self._orders_changed = True
        self._next_router_s = 0.0

    async def run(
        self, inputs: Iterable[MarketInput], on_progress: Callable[[int], None] | None = None
    ) -> None:
        """Feed every input in order and settle each one's consequences."""
        await self.router.record_rules()
        await self._settle()
        for item in inputs:
            await self._place_due(item.ts_ms / 1000)
            if item.ts_ms > self._now_ms():
                self.clock.set(_at(item.ts_ms))
            await self.store.append(item.stream, [item.event])
            self.market_events += 1
            await self._settle()
            if on_progress is not None and self.market_events % 1000 == 0:
                on_progress(self.market_events)
        await self._settle()

    def _now_ms(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    async def _place_due(self, until_s: float) -> None:
        # Orders whose latency has elapsed before this market event are placed first, against
        # the book standing at their placement time.
        while self._due and self._due[0] <= until_s:
            due = self._due.pop(0)
            if due > self.clock.now().timestamp():
                self.clock.set(datetime.fromtimestamp(due, tz=UTC))
            await self._settle()

    async def _settle(self) -> None:
        while True:
            await self._drain()
            if not self._router_has_work():
                return
            before = self.cursor
            self._orders_changed = False
            self._next_router_s = self.clock.now().timestamp() + self.setup.balance_every_s
            await self.router.step()
            await self._drain()
            if self.cursor == before:
                return

    def _router_has_work(self) -> bool:
        # The router is stepped only when it could act: an order event it has not read, an
        # order still working (it may have filled on a book), or its balance report is due.
        if self._orders_changed or self.clock.now().timestamp() >= self._next_router_s:
            return True
        return any(view.terminal is None for view in self.router.views.values())

    async def _drain(self) -> None:
        while True:
            batch = await self.store.read_all(after=self.cursor, limit=1000)
            if not batch:
                return
            for event in batch:
                self.cursor = event.position
                await self._dispatch(event)

    async def _dispatch(self, event: RecordedEvent) -> None:
        data = event.data
        if event.stream.startswith("order-"):
            self._orders_changed = True
        if isinstance(data, BookSnapshot):
            self.broker.on_book(data)  # resting paper orders may fill on this book
        elif isinstance(data, OrderSubmitted):
            place_at = self.clock.now().timestamp() + self.setup.latency_ms / 1000
            self.router.hold_until[data.order_id] = place_at
            self._due.append(place_at)
            self._due.sort()
        subject = data.subject()
        apps = self._routes.get(subject)
        if apps is None:
            apps = [a for a in self.apps if matches_any(a.core.subjects, subject)]
            self._routes[subject] = apps
        for app in apps:
            await app.process(event)


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
