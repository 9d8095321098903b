"""Run one chaos session: private Postgres and NATS, exchange_sim and every service as processes
under the supervisor's `ServiceRunner`, optionally with faults injected, then collect the truth.

Faults (chosen by a seeded RNG, every `interval_s` or so):
    kill        SIGKILL of a random service's process group (the runner restarts it)
    nats        the private nats-server stopped, then started on its own data
    postgres    the private Postgres cluster stopped (fast shutdown), then started again
    ws_drop     exchange_sim closes every websocket
    rate_limit  exchange_sim answers every REST call with 429 for a few seconds
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec

from breakout.common.bus.matching import matches_any
from breakout.common.bus.nats import NatsBus
from breakout.common.devstack.processes import free_port
from breakout.common.devstack.services import ServiceSpec
from breakout.common.devstack.supervisor import Backoff, ServiceRunner
from breakout.common.events import RecordedEvent, decode_event
from breakout.common.exchange import ccxt_config, pro_exchange
from breakout.common.relay import relayed_positions
from breakout.common.store.migrate import migrate
from breakout.common.store.port import StreamAppend
from breakout.common.store.postgres import PostgresEventStore
from breakout.execution.core import ExecutionCore
from breakout.features.core import FeaturesCore
from breakout.gateway.readmodels.registry import ReadModels
from breakout.risk.core import RiskCore
from breakout.signals.core import SignalsCore
from tests.chaos.reference import consumer_names
from tests.chaos.services import service_specs
from tests.chaos.session import (
    DECIDED,
    OURS,
    RECORDED_VENUE,
    Recording,
    write_preset,
)
from tests.support.servers import PrivateNats, PrivatePostgres

FAULT_KINDS = ("kill", "nats", "postgres", "ws_drop", "rate_limit")
# The exchange is the outside world: its faults are drops and 429s, never a restart of its state.
NOT_KILLED = ("exchange-sim",)


@dataclass(frozen=True)
class FaultPlan:
    """How many faults, how often, and from which seed."""

    count: int
    seed: int = 2026
    interval_s: float = 2.0
    kinds: tuple[str, ...] = FAULT_KINDS


@dataclass
class Outcome:
    """What a run left behind, read after every service stopped."""

    events: list[RecordedEvent]
    bus_positions: list[int]
    checkpoints: dict[str, int]
    selected_heads: dict[str, int]
    orders: list[dict[str, Any]]
    balances: dict[str, Decimal]
    faults: Counter[str] = field(default_factory=Counter)
    fault_log: list[tuple[float, str, str]] = field(default_factory=list)
    restarts: dict[str, int] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)


class HeadTracker:
    """Follows the store: its head, and the last position each consumer selects."""

    def __init__(self, subjects: dict[str, tuple[str, ...]]) -> None:
        self.subjects = subjects
        self.last = dict.fromkeys(subjects, 0)
        self.head = 0

    async def update(self, store: PostgresEventStore) -> None:
        """Read what was appended since the last call."""
        while batch := await store.read_all_raw(after=self.head, limit=5000):
            for event in batch:
                subject = decode_event(event.type, event.data).subject()
                for name, subjects in self.subjects.items():
                    if matches_any(subjects, subject):
                        self.last[name] = event.position
            self.head = batch[-1].position


def _fast_backoff() -> Backoff:
    return Backoff(initial_s=0.2, max_s=2.0, reset_after_s=10.0)


class Session:
    """One run of the whole system over a recording."""

    def __init__(self, recording: Recording, workdir: Path, shared_pg: str | None = None) -> None:
        self.recording = recording
        self.workdir = workdir
        # A private cluster (restartable) where the machine has the binaries; else a database
        # of its own on the shared server `shared_pg`, and no Postgres restarts.
        self.pg = PrivatePostgres(workdir / "postgres") if shared_pg is None else None
        self.admin_url = self.pg.url if self.pg is not None else str(shared_pg)
        self.database = f"chaos_{uuid.uuid4().hex[:10]}"
        self.nats = PrivateNats(workdir / "nats")
        self.sim_port = free_port()
        self.prefix = "chaos"
        self.runners: dict[str, ServiceRunner] = {}
        self.stops: dict[str, asyncio.Event] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.reports: list[tuple[str, str, str]] = []
        self.faults: Counter[str] = Counter()
        self.fault_log: list[tuple[float, str, str]] = []
        self.started = time.monotonic()
        self.tracker = HeadTracker(self.consumer_subjects())
        self.deciding = (*consumer_names(recording), "risk", "execution")
        self._harness_store: PostgresEventStore | None = None

    @property
    def dsn(self) -> str:
        """The run's store."""
        return self.admin_url.rpartition("/")[0] + "/" + self.database

    @property
    def sim_url(self) -> str:
        """The exchange."""
        return f"http://127.0.0.1:{self.sim_port}"

    # -- setting up -----------------------------------------------------------------------

    async def prepare(self) -> None:
        """Servers up, a migrated store holding the recording."""
        if self.pg is not None:
            self.pg.start()
        self.nats.start()
        admin = await asyncpg.connect(self.admin_url)
        try:
            await admin.execute(f'CREATE DATABASE "{self.database}"')
        finally:
            await admin.close()
        await migrate(self.dsn)
        store = await PostgresEventStore.connect(self.dsn)
        try:
            await store.append_bulk([self.recording.regime()])
        finally:
            await store.close()

    def specs(self) -> list[ServiceSpec]:
        """exchange_sim, the relay and every service, in start order."""
        return service_specs(self.recording, self.sim_port)

    def env(self) -> dict[str, str]:
        """What every service gets."""
        presets = self.workdir / "presets"
        write_preset(presets, self.recording.preset)
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
        return inherited | {
            "DATABASE_URL": self.dsn,
            "NATS_URL": self.nats.url,
            "BREAKOUT_BUS_PREFIX": self.prefix,
            "BREAKOUT_PRESETS_DIR": str(presets),
            "EXCHANGE_BASE_URL": self.sim_url,
            "EXCHANGE_API_KEY": OURS[0],
            "EXCHANGE_API_SECRET": OURS[1],
            "PYTHONUNBUFFERED": "1",
        }

    async def start(self) -> None:
        """Start the exchange and the relay, then every service at once (as after a reboot)."""
        env = self.env()
        for spec in self.specs():
            stop = asyncio.Event()
            runner = ServiceRunner(
                spec,
                env,
                self.workdir / "logs",
                lambda *r: self.reports.append(r),
                stop,
                stop_timeout_s=20.0,
                backoff=_fast_backoff,
            )
            self.runners[spec.name] = runner
            self.stops[spec.name] = stop
            self.tasks[spec.name] = asyncio.create_task(runner.run(), name=spec.name)
            if spec.layer < 2:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(runner.ready.wait(), 30.0)

    async def stop_service(self, name: str) -> None:
        """SIGTERM one service for good (its runner does not restart it)."""
        self.stops[name].set()
        await self.runners[name].stop()
        await self.tasks.pop(name)

    async def stop_all(self) -> None:
        """Stop what is left, highest layer first."""
        layers = sorted({r.spec.layer for n, r in self.runners.items() if n in self.tasks})
        for layer in reversed(layers):
            names = [n for n in self.tasks if self.runners[n].spec.layer == layer]
            await asyncio.gather(*(self.stop_service(n) for n in names))

    async def shutdown_servers(self) -> None:
        """Stop the private servers (or drop the database on the shared one)."""
        self.nats.stop()
        if self.pg is not None:
            self.pg.remove()
            return
        admin = await asyncpg.connect(self.admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        finally:
            await admin.close()

    # -- faults ---------------------------------------------------------------------------

    async def inject(self, plan: FaultPlan) -> None:
        """Inject `plan.count` faults: every kind once first (shuffled), then at random."""
        rng = random.Random(plan.seed)
        first = list(plan.kinds)
        rng.shuffle(first)
        for index in range(plan.count):
            kind = first[index] if index < len(first) else rng.choice(_weighted(plan.kinds))
            detail = await self._fault(kind, rng)
            self.faults[kind] += 1
            self.fault_log.append((round(time.monotonic() - self.started, 1), kind, detail))
            await asyncio.sleep(rng.uniform(0.5, 1.5) * plan.interval_s)

    async def _fault(self, kind: str, rng: random.Random) -> str:
        match kind:
            case "kill":
                names = sorted(n for n in self.tasks if n not in NOT_KILLED)
                name = rng.choice(names)
                process = self.runners[name].process
                if process is not None and process.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                return name
            case "nats":
                down_s = rng.uniform(0.5, 2.0)
                await asyncio.to_thread(self.nats.stop)
                await asyncio.sleep(down_s)
                await asyncio.to_thread(self.nats.start)
                return f"down {down_s:.1f}s"
            case "postgres":
                down_s = rng.uniform(0.5, 2.0)
                assert self.pg is not None, "no private Postgres: leave out its restarts"
                await asyncio.to_thread(self.pg.stop)
                await asyncio.sleep(down_s)
                await asyncio.to_thread(self.pg.start)
                return f"down {down_s:.1f}s"
            case "ws_drop":
                await self._sim_fault({"action": "drop_ws"})
                return "all websockets"
            case "rate_limit":
                seconds = rng.uniform(1.0, 4.0)
                await self._sim_fault(
                    {"action": "rate_limit", "status": 429, "seconds": seconds, "retry_after_s": 1}
                )
                return f"429 for {seconds:.1f}s"
        raise ValueError(f"unknown fault {kind}")

    async def _sim_fault(self, body: dict[str, Any]) -> None:
        async with httpx.AsyncClient(timeout=5.0) as client:
            answer = await client.post(f"{self.sim_url}/_sim/faults", json=body)
            answer.raise_for_status()

    # -- settling and reading the truth ----------------------------------------------------

    def consumer_subjects(self) -> dict[str, tuple[str, ...]]:
        """Every durable consumer of the run (by name) and the subjects it selects, from the
        real cores and read models."""
        preset = self.recording.preset
        features_name, signals_name = consumer_names(self.recording)
        features = msgspec.structs.replace(self.recording.features, symbols=DECIDED)
        cores: dict[str, Any] = {
            features_name: FeaturesCore(features),
            signals_name: SignalsCore(preset, RECORDED_VENUE, DECIDED),
            "risk": RiskCore([preset]),
            "execution": ExecutionCore([preset]),
        }
        # The gateway's read models are durable consumers too (`gateway-<model>`).
        cores |= {f"gateway-{model.name}": model for model in ReadModels().all()}
        return {name: tuple(core.subjects) for name, core in cores.items()}

    async def heads(self) -> tuple[dict[str, int], dict[str, int]]:
        """(checkpoint per consumer, position of the last event it selects); the relay's is
        the store's head."""
        store = await self._store()
        await self.tracker.update(store)
        pool: Any = store._pool
        rows = await pool.fetch("SELECT consumer, position FROM consumer_checkpoints")
        found = {r["consumer"]: int(r["position"]) for r in rows}
        checkpoints = {name: found.get(name, 0) for name in self.tracker.last}
        checkpoints["relay"] = found.get("relay:" + self.prefix, 0)
        return checkpoints, {**self.tracker.last, "relay": self.tracker.head}

    async def _store(self) -> PostgresEventStore:
        if self._harness_store is None:
            self._harness_store = await PostgresEventStore.connect(self.dsn)
        return self._harness_store

    async def _forget_store(self) -> None:
        # After a Postgres restart the pool's connections are dead: start afresh.
        if self._harness_store is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._harness_store.close(), 5.0)
            self._harness_store = None

    async def _retrying(self, what: Callable[[], Any], timeout_s: float = 120.0) -> Any:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return await what()
            except (
                OSError,
                asyncpg.PostgresError,
                asyncpg.InterfaceError,
                asyncpg.InternalClientError,
            ) as exc:
                if time.monotonic() > deadline:
                    raise AssertionError(f"the store stayed away: {exc!r}") from exc
                await self._forget_store()
                await asyncio.sleep(0.5)

    async def quiet(self, timeout_s: float, *, everyone: bool = False) -> None:
        """Until every decision consumer (`everyone`: every consumer and the relay) has handled
        everything it selects."""
        deadline = time.monotonic() + timeout_s
        while True:
            checkpoints, selected = await self._retrying(self.heads)
            names = [n for n in selected if everyone or n in self.deciding]
            if all(checkpoints[n] >= selected[n] for n in names):
                return
            if time.monotonic() > deadline:
                behind = {n: (checkpoints[n], selected[n]) for n in names}
                raise AssertionError(f"not quiet in {timeout_s}s: {behind}\n{self.tails()}")
            await asyncio.sleep(0.1)

    async def feed(self, pace_s: float, slice_timeout_s: float) -> None:
        """Write the recording slice by slice, each once the services handled the last."""
        for appends in self.recording.slices():
            began = time.monotonic()

            async def write(appends: list[StreamAppend] = appends) -> None:
                store = await self._store()
                await store.append_bulk(appends)  # a retried batch writes nothing twice

            await self._retrying(write)
            await self.quiet(slice_timeout_s)
            await asyncio.sleep(max(0.0, pace_s - (time.monotonic() - began)))

    async def settle(self, timeout_s: float, quiet_s: float = 5.0) -> float:
        """Until every consumer and the relay are at their heads and nothing new arrives."""
        began = time.monotonic()
        while True:
            await self.quiet(max(1.0, timeout_s - (time.monotonic() - began)), everyone=True)
            head = self.tracker.head
            await asyncio.sleep(quiet_s)
            await self._retrying(self.heads)
            if self.tracker.head == head:
                return time.monotonic() - began

    def tails(self) -> str:
        """The last lines of every service log (for failures)."""
        out = []
        for name, runner in self.runners.items():
            if runner.log_path.exists():
                lines = runner.log_path.read_text(errors="replace").splitlines()[-6:]
                out.append(f"--- {name}\n" + "\n".join(lines))
        return "\n".join(out)

    async def collect(self) -> Outcome:
        """Everything the assertions need (the services are stopped; the exchange still runs)."""
        checkpoints, selected = await self._retrying(self.heads)
        store = await self._store()
        events = await store.read_all(limit=10_000_000)
        await self._forget_store()
        bus = await NatsBus.connect(self.nats.url, prefix=self.prefix)
        try:
            positions = await relayed_positions(bus)
        finally:
            await bus.close()
        orders, balances = await exchange_truth(self.sim_url)
        return Outcome(
            events=events,
            bus_positions=positions,
            checkpoints=checkpoints,
            selected_heads=selected,
            orders=orders,
            balances=balances,
            faults=self.faults,
            fault_log=self.fault_log,
            restarts={n: r.restarts for n, r in self.runners.items()},
        )


def _weighted(kinds: tuple[str, ...]) -> list[str]:
    # Kills are the common fault; server restarts are rarer (each one costs seconds).
    weights = {"kill": 6, "nats": 1, "postgres": 1, "ws_drop": 2, "rate_limit": 2}
    return [k for k in kinds for _ in range(weights.get(k, 1))]


async def exchange_truth(sim_url: str) -> tuple[list[dict[str, Any]], dict[str, Decimal]]:
    """Our orders on the decided symbols and our balances, as the exchange reports them."""
    exchange = pro_exchange(
        "binance",
        ccxt_config("binance", sim_url, api_key=OURS[0], secret=OURS[1], enable_rate_limit=False),
    )
    try:
        orders: list[dict[str, Any]] = []
        for symbol in DECIDED:
            orders += await exchange.fetch_orders(symbol.replace("USDT", "/USDT"))
        balance = await exchange.fetch_balance()
    finally:
        await exchange.close()
    totals = {k: Decimal(repr(v)) for k, v in balance["total"].items() if v}
    return orders, totals


async def run_session(
    recording: Recording,
    workdir: Path,
    plan: FaultPlan | None,
    *,
    shared_pg: str | None = None,
    slice_timeout_s: float = 180.0,
    settle_timeout_s: float = 180.0,
) -> Outcome:
    """One full session: clean when `plan` is None, else with its faults during the feed."""
    session = Session(recording, workdir, shared_pg)
    began = time.monotonic()
    await session.prepare()
    try:
        await session.start()
        started_s = time.monotonic() - began
        slices = len(recording.slices())
        # Spread the faults over the feed: each slice takes at least its share of their time.
        pace_s = plan.count * plan.interval_s / slices if plan is not None else 0.0
        faults = asyncio.create_task(session.inject(plan)) if plan is not None else None
        await session.feed(pace_s, slice_timeout_s)
        fed_s = time.monotonic() - began - started_s
        if faults is not None:
            await faults
        # The live feed is the one producer that never ends: stop it, then let the rest drain.
        await session.stop_service("ingest")
        settle_s = await session.settle(settle_timeout_s)
        # Everything but the relay at once (SIGTERM: each finishes what it holds), then the relay.
        services = ("gateway", "reconcile", "execution", "risk", "signals", "features")
        await asyncio.gather(*(session.stop_service(name) for name in services))
        await session.stop_service("relay")
        outcome = await session.collect()
        outcome.timings_s = {
            "start": round(started_s, 1),
            "feed": round(fed_s, 1),
            "settle": round(settle_s, 1),
            "total": round(time.monotonic() - began, 1),
        }
        return outcome
    finally:
        await session._forget_store()
        await session.stop_all()
        await session.shutdown_servers()
