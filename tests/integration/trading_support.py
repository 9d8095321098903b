"""The trading stack in-process for tests: exchange_sim, Postgres, NATS, relay, risk, execution.

Signals, regime and book metrics are appended to the store the way the signals, regime and
features services would write them; market data comes from the real ingest service reading
exchange_sim through ccxt; orders go to exchange_sim through ccxt (the live broker).
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import ccxt.pro
import msgspec

from breakout.common.bus.nats import NatsBus
from breakout.common.config import InfraSettings
from breakout.common.events import (
    BookMetrics,
    DepthBand,
    Event,
    NewEvent,
    OrderIntentApproved,
    RecordedEvent,
    SignalGenerated,
    feat_stream,
)
from breakout.common.exchange import ccxt_config, pro_exchange
from breakout.common.leader import PostgresLeaderLock
from breakout.common.presets import Preset, load_preset
from breakout.common.relay import Relay
from breakout.common.runtime.application import ProcessApplication, RuntimeConfig
from breakout.common.store.port import EventFilter
from breakout.common.store.postgres import PostgresEventStore
from breakout.exchange_sim.accounts import AccountConfig, Accounts
from breakout.exchange_sim.exchange import SimExchange
from breakout.exchange_sim.market import MarketConfig
from breakout.exchange_sim.state import wall_clock_ms
from breakout.exchange_sim.testing import RunningSim, running_sim
from breakout.execution.broker import Broker
from breakout.execution.ccxt_broker import CcxtBroker
from breakout.execution.config import ExecutionSettings
from breakout.execution.core import ExecutionCore
from breakout.execution.router import OrderRouter
from breakout.risk.core import RiskCore
from breakout.risk.decide import RiskView, decide
from breakout.risk.sizing import MarketRules
from tests.integration.ingest_support import ingest_config, running_ingest, unique_venue
from tests.integration.stacks import fresh_database
from tests.support.trading import regime

FAST = RuntimeConfig(fetch_timeout_s=0.1, ack_wait_s=5.0)
OURS = ("sim-ours", "sim-ours-secret")
WHALE = ("sim-whale", "sim-whale-secret")
OPENING_USDT = Decimal(100_000)


def sim_exchange(symbols: list[str]) -> SimExchange:
    """A simulated market with two accounts: ours (100k USDT) and a whale to move prices."""
    accounts = Accounts(
        [
            AccountConfig(api_key=OURS[0], secret=OURS[1], balances={"USDT": OPENING_USDT}),
            AccountConfig(
                api_key=WHALE[0],
                secret=WHALE[1],
                balances={"USDT": Decimal(50_000_000), "BTC": Decimal(500)},
            ),
        ]
    )
    return SimExchange.simulated(
        symbols, start_ms=wall_clock_ms(), config=MarketConfig(seed=7), accounts=accounts
    )


def client(sim: RunningSim, keys: tuple[str, str]) -> ccxt.pro.Exchange:
    """A ccxt.pro client on the simulator with `keys`."""
    return pro_exchange(
        "binance",
        ccxt_config(
            "binance", sim.base_url, api_key=keys[0], secret=keys[1], enable_rate_limit=False
        ),
    )


@dataclass
class TradingStack:
    """Everything a trading test touches."""

    sim: RunningSim
    dsn: str
    store: PostgresEventStore
    bus: NatsBus
    venue: str
    tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    stoppers: dict[str, Callable[[], None]] = field(default_factory=dict)

    async def append(self, stream: str, event: Event) -> None:
        """Append one event as its producing service would."""
        new = NewEvent(
            event_id=uuid.uuid4(), data=event, occurred_at=datetime.now(UTC), producer="test"
        )
        await self.store.append(stream, [new])

    async def events(
        self, *types: type[Event], categories: tuple[str, ...] | None = None
    ) -> list[Any]:
        """Every stored event of these types, in store order."""
        tags = tuple(t.type_tag() for t in types)
        found: list[RecordedEvent] = []
        cursor = 0
        while True:
            batch = await self.store.read_all(
                after=cursor, limit=5000, filter=EventFilter(types=tags, categories=categories)
            )
            found += batch
            if len(batch) < 5000:
                return [e.data for e in found]
            cursor = batch[-1].position

    async def wait_for(
        self,
        cls: type[Event],
        predicate: Callable[[Any], bool] = lambda _: True,
        timeout_s: float = 60.0,
    ) -> Any:
        """The first stored `cls` event matching `predicate` (fails the test after `timeout_s`)."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            for task in self.tasks.values():
                if task.done() and task.exception() is not None:
                    raise AssertionError(f"a component crashed: {task.exception()!r}")
            matches = [e for e in await self.events(cls) if predicate(e)]
            if matches:
                return matches[0]
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no {cls.__name__} within {timeout_s}s")
            await asyncio.sleep(0.2)

    def start(self, name: str, component: Any) -> None:
        """Run a component (relay, process application, router) as a task."""
        self.tasks[name] = asyncio.create_task(component.run(), name=name)
        self.stoppers[name] = component.stop

    async def stop(self, name: str) -> None:
        """Stop one component and wait for it."""
        self.stoppers.pop(name)()
        task = self.tasks.pop(name)
        # A component finishes the call in hand first (a ccxt call may take its full timeout
        # on a loaded machine); one that still hangs after that is cancelled, and named.
        done, _ = await asyncio.wait({task}, timeout=30)
        if not done:
            task.cancel()
            raise AssertionError(f"{name} did not stop within 30 s")
        task.result()

    async def start_risk(self, presets: list[Preset]) -> None:
        """The risk core over the real store and bus."""
        self.start(
            "risk", ProcessApplication("risk", RiskCore(presets), self.store, self.bus, config=FAST)
        )

    def execution_settings(
        self, presets: list[Preset], symbols: tuple[str, ...]
    ) -> ExecutionSettings:
        """Execution settings on the simulator with our keys."""
        return ExecutionSettings(
            presets=tuple(p.name for p in presets),
            symbols=symbols,
            broker="live",
            venue="binance",
            base_url=self.sim.base_url,
            api_key=OURS[0],
            api_secret=OURS[1],
            poll_s=0.2,
            balance_every_s=2.0,
            recv_window_s=2.0,
        )

    async def start_execution(
        self,
        presets: list[Preset],
        symbols: tuple[str, ...] = ("BTCUSDT",),
        broker: Broker | None = None,
    ) -> OrderRouter:
        """The execution core and its router (the live broker on the simulator by default)."""
        settings = self.execution_settings(presets, symbols)
        core = ExecutionCore(presets)
        self.start(
            "execution", ProcessApplication("execution", core, self.store, self.bus, config=FAST)
        )
        router = OrderRouter(
            self.store,
            broker or CcxtBroker(client(self.sim, OURS)),
            symbols,
            poll_s=0.2,
            balance_every_s=2.0,
            recv_window_s=settings.recv_window_s,
        )
        self.start("router", router)
        return router

    async def wait_for_book(
        self, paper: Any, symbol: str = "BTCUSDT", timeout_s: float = 30
    ) -> None:
        """Until the paper broker has seen a book of `symbol` from the bus."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while symbol not in paper.books:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no book of {symbol} reached the paper broker")
            await asyncio.sleep(0.1)

    async def book_metrics(self, symbol: str = "BTCUSDT") -> BookMetrics:
        """Book metrics of the simulator's current book, as the features service computes them."""
        public = client(self.sim, OURS)
        try:
            book = await public.fetch_order_book(symbol.replace("USDT", "/USDT"), 1000)
        finally:
            await public.close()
        bid, ask = book["bids"][0][0], book["asks"][0][0]
        mid = (bid + ask) / 2

        def depth(side: list[list[float]], pct: float) -> float:
            return sum(p * q for p, q in side if abs(p - mid) / mid <= pct / 100)

        now = wall_clock_ms()
        return BookMetrics(
            exchange="binance",
            symbol=symbol,
            ts_ms=now,
            sequence=int(book.get("nonce") or 0),
            best_bid=bid,
            best_ask=ask,
            mid=mid,
            spread_bps=(ask - bid) / mid * 10_000,
            bid_usd_0_3pct=depth(book["bids"], 0.3),
            ask_usd_0_3pct=depth(book["asks"], 0.3),
            bid_usd_0_5pct=depth(book["bids"], 0.5),
            ask_usd_0_5pct=depth(book["asks"], 0.5),
            imbalance=0.0,
            imbalance_band_pct=0.5,
            bands=[
                DepthBand(
                    pct=0.5, bid_usd=depth(book["bids"], 0.5), ask_usd=depth(book["asks"], 0.5)
                )
            ],
            bid_reach_pct=abs(book["bids"][-1][0] - mid) / mid * 100,
            ask_reach_pct=abs(book["asks"][-1][0] - mid) / mid * 100,
            tick_size=0.01,
        )

    async def append_book(self, symbol: str = "BTCUSDT") -> BookMetrics:
        """Record the current book's metrics."""
        metrics = await self.book_metrics(symbol)
        await self.append(feat_stream("book", "binance", symbol), metrics)
        return metrics


@asynccontextmanager
async def trading_stack(
    infra: InfraSettings,
    bus_prefix: str,
    symbols: tuple[str, ...] = ("BTCUSDT",),
    *,
    ingest: bool = True,
) -> AsyncIterator[TradingStack]:
    """Simulator + fresh database + NATS + relay (+ ingest), torn down afterwards."""
    async with AsyncExitStack() as stack:
        sim = await stack.enter_async_context(running_sim(exchange=sim_exchange(list(symbols))))
        dsn = await stack.enter_async_context(fresh_database(infra))
        store = await PostgresEventStore.connect(dsn)
        stack.push_async_callback(store.close)
        bus = await NatsBus.connect(infra.nats_url, prefix=bus_prefix)
        await bus.ensure_stream()
        stack.push_async_callback(bus.close)
        stack.push_async_callback(bus.delete_stream)
        trading = TradingStack(sim=sim, dsn=dsn, store=store, bus=bus, venue=unique_venue())
        leader = PostgresLeaderLock(dsn, "relay", poll_s=0.2, watchdog_s=1.0)
        trading.start("relay", Relay(store, bus, leader, batch_size=500))
        if ingest:
            config = ingest_config(
                sim.base_url, trading.venue, {"g": symbols}, "g", stale_after_s=30.0
            )
            await stack.enter_async_context(running_ingest(config, dsn))
        try:
            yield trading
        finally:
            for name in list(trading.stoppers):
                await trading.stop(name)
            await leader.release()


def e2e_preset() -> Preset:
    """breakout_v1 with a small R (about 40k USDT at a 10 bps stop: within the book, and under
    the TWAP threshold so the entry is one order) and a 2 bps breakeven."""
    base = load_preset("breakout_v1")
    risk = msgspec.structs.replace(base.risk, risk_per_trade=0.0004)
    position = msgspec.structs.replace(base.position_config, breakeven_fee_buffer_bps=2.0)
    return msgspec.structs.replace(base, risk=risk, position_config=position)


def breakout_signal(mid: float, preset: Preset) -> SignalGenerated:
    """A long momentum breakout at `mid` with a stop 10 bps below and ATR(5m) of 3 bps."""
    now = wall_clock_ms()
    stop = round(mid * (1 - 0.001), 2)
    return SignalGenerated(
        signal_id=f"e2e-{uuid.uuid4().hex[:8]}",
        preset=preset.name,
        preset_ref=preset.ref(),
        exchange="binance",
        symbol="BTCUSDT",
        side="long",
        strategy="momentum",
        entry_order="market",
        entry_price=mid,
        level_price=round(mid * 0.9995, 2),
        stop_price=stop,
        atr_5m=mid * 0.0003,
        swing_price=stop,
        confidence=1.0,
        reason="e2e",
        ts_ms=now,
        expires_ts_ms=now + 60_000,
        checks=[],
    )


async def move_fair_price(
    stack: TradingStack, total_bps: float, steps: int, every_s: float
) -> None:
    """Script the simulated world: the fair price of BTCUSDT moves `total_bps` in `steps`.

    The simulator's makers quote around its fair price and its takers trade around them, so
    the tape and the book follow; the range the price process reverts to moves with it.
    """
    market = stack.sim.exchange.feed("BTCUSDT")
    process = market.process  # type: ignore[attr-defined]
    step_log = math.log1p(total_bps / 10_000) / steps
    for _ in range(steps):
        process.fair_log += step_log
        process.anchor_log += step_log
        process.range_center_log += step_log
        await asyncio.sleep(every_s)


async def account(stack: TradingStack) -> dict[str, Decimal]:
    ours = client(stack.sim, OURS)
    try:
        balance = await ours.fetch_balance()
    finally:
        await ours.close()
    return {k: Decimal(repr(v)) for k, v in balance["total"].items() if v}


async def approved_intent(
    stack: TradingStack, preset: Preset, **overrides: Any
) -> OrderIntentApproved:
    """An intent the risk core approves for a signal at the simulator's mid (appended by tests
    that start downstream of risk, as the risk service would write it)."""
    book = await stack.book_metrics()
    signal = breakout_signal(book.mid, preset)
    if overrides:
        signal = msgspec.structs.replace(signal, **overrides)
    view = RiskView(
        equity_quote=float(OPENING_USDT),
        free_quote=float(OPENING_USDT),
        rules={
            "BTCUSDT": MarketRules(
                step_size=Decimal("0.00001"), min_qty=Decimal("0.00001"), min_notional=Decimal(5)
            )
        },
        books={"BTCUSDT": book},
        regime=regime("RISK_ON", presets=(preset.name,)),
    )
    result = decide(signal, preset, view)
    assert isinstance(result, OrderIntentApproved), result
    return result


async def order_at_exchange(stack: TradingStack, client_order_id: str) -> list[dict[str, Any]]:
    """Every order of our account on BTCUSDT with this client order id (allOrders)."""
    ours = client(stack.sim, OURS)
    try:
        orders = await ours.fetch_orders("BTC/USDT")
    finally:
        await ours.close()
    return [o for o in orders if o.get("clientOrderId") == client_order_id]
