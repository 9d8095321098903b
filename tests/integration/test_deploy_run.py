"""`make run` end to end: the system comes up, market data reaches the store and the bus, and
Ctrl-C or SIGTERM leaves no process behind.

Each run has its own database, bus prefix, work directory and ports (the gateway's too), so it
does not clash with the test session or with a `make run` of the developer.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import asyncpg
import httpx
import nats
import pytest

from breakout.common.bus.nats import NatsBus, stream_name
from breakout.common.config import InfraSettings
from breakout.common.devstack.probe import with_database

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
GROUPS = "majors=BTCUSDT,ETHUSDT;alts=SOLUSDT,XRPUSDT"
BUILT = ("exchange-sim", "relay", "ingest-majors", "ingest-alts", "features", "regime", "signals",
         "risk", "execution", "gateway")  # fmt: skip
# Deadlines for things to happen on a loaded 2-core machine; they fail a test only when the
# system never gets there, they measure nothing.
START_DEADLINE_S = 240.0
FLOW_DEADLINE_S = 120.0
STOP_DEADLINE_S = 120.0


@dataclass
class RunningSystem:
    """A `make run` in the background, with what identifies it."""

    process: subprocess.Popen[bytes]
    output: Path
    dsn: str
    prefix: str
    started: float  # time.monotonic() when it was started
    started_at: datetime  # and the wall clock then (the store's recorded_at is wall time)

    def text(self) -> str:
        """Everything it printed so far."""
        return self.output.read_text(errors="replace")

    def ours(self) -> set[int]:
        """Pids of live processes that carry this run's bus prefix in their environment."""
        return _pids_with_env(f"BREAKOUT_BUS_PREFIX={self.prefix}")


def _pids_with_env(marker: str) -> set[int]:
    needle = marker.encode() + b"\0"
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue  # exited while we looked
        if needle in environ and state != "Z":
            pids.add(int(entry.name))
    return pids


async def _eventually(what: str, check: Callable[[], bool], deadline_s: float, log: Path) -> None:
    deadline = time.monotonic() + deadline_s
    while not check():
        if time.monotonic() > deadline:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-60:])
            pytest.fail(f"{what} did not happen; output of make run:\n{tail}")
        await asyncio.sleep(1.0)


def _start(infra: InfraSettings, tmp_path: Path, run_args: str) -> RunningSystem:
    prefix = f"trun{uuid.uuid4().hex[:8]}"
    dsn = with_database(infra.database_url, f"bk_run_{uuid.uuid4().hex[:10]}")
    env = {
        **os.environ,
        "DATABASE_URL": dsn,  # `make run` creates this database on first contact
        "NATS_URL": infra.nats_url,
        "BREAKOUT_BUS_PREFIX": prefix,
        "GATEWAY_PORT": "0",
        "INGEST_GROUPS": GROUPS,
    }
    output = tmp_path / "make-run.out"
    argv = ["make", "--no-print-directory", "run", f"RUN_WORKDIR={tmp_path / 'stack'}"]
    argv.append(f"RUN_ARGS={run_args}")
    started, started_at = time.monotonic(), datetime.now(UTC)
    with output.open("wb") as out:
        # Its own session, like a terminal's foreground job: a Ctrl-C goes to its whole group.
        process = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return RunningSystem(process, output, dsn, prefix, started, started_at)


async def _cleanup(system: RunningSystem, infra: InfraSettings) -> None:
    if system.process.poll() is None:
        os.killpg(system.process.pid, signal.SIGKILL)
        system.process.wait()
    for pid in system.ours():  # only after a failure: the tests assert there are none
        os.kill(pid, signal.SIGKILL)
    bus = await NatsBus.connect(infra.nats_url, prefix=system.prefix)
    try:
        await bus.delete_stream()
    finally:
        await bus.close()
    admin = await asyncpg.connect(with_database(infra.database_url, "postgres"))
    try:
        name = system.dsn.rsplit("/", 1)[1]
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def full_system(infra: InfraSettings, tmp_path: Path) -> AsyncIterator[RunningSystem]:
    """`make run` with every service."""
    system = _start(infra, tmp_path, "")
    try:
        yield system
    finally:
        await _cleanup(system, infra)


@pytest.fixture
async def market_data_only(infra: InfraSettings, tmp_path: Path) -> AsyncIterator[RunningSystem]:
    """`make run` with the simulator, the relay and ingest only, and no summary."""
    system = _start(infra, tmp_path, "--only exchange-sim,relay,ingest --no-summary")
    try:
        yield system
    finally:
        await _cleanup(system, infra)


def _ready_in(system: RunningSystem, service: str) -> bool:
    return _ready(system.text(), service)


def _ready(text: str, service: str) -> bool:
    return re.search(rf"\b{re.escape(service)}\s+ready\b", text) is not None


async def _symbols_traded(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT DISTINCT data->>'symbol' AS symbol FROM events WHERE type = 'md.trade.v1'"
        )
        return {row["symbol"] for row in rows}
    finally:
        await conn.close()


async def _published(infra: InfraSettings, prefix: str) -> int:
    nc = await nats.connect(infra.nats_url)
    try:
        info = await nc.jetstream().stream_info(stream_name(prefix))
        return int(info.state.messages)
    finally:
        await nc.close()


async def _count(dsn: str, type_pattern: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(
            await conn.fetchval("SELECT count(*) FROM events WHERE type LIKE $1", type_pattern)
        )
    finally:
        await conn.close()


async def _wait_for(count: Callable[[], Awaitable[int]], what: str, system: RunningSystem) -> None:
    deadline = time.monotonic() + FLOW_DEADLINE_S
    while await count() == 0:
        if time.monotonic() > deadline:
            pytest.fail(f"no {what}:\n{system.text()[-4000:]}")
        await asyncio.sleep(1.0)


async def _wait_for_trades(system: RunningSystem, symbols: set[str]) -> None:
    deadline = time.monotonic() + FLOW_DEADLINE_S
    while not symbols <= await _symbols_traded(system.dsn):
        if time.monotonic() > deadline:
            pytest.fail(f"no md.trade for {symbols} in the store:\n{system.text()[-4000:]}")
        await asyncio.sleep(1.0)


# What a newcomer must see through the dashboard's API: a scan, a signal and a paper fill. The
# demo scenario's breakout bars open from 30 s after the simulator starts, one a minute
# (docs/operations.md); the deadline leaves room for a loaded CI machine, it measures nothing.
TRADING_DEADLINE_S = 420.0
DEMO_PRESET = "demo"


@dataclass
class Seen:
    """When (seconds after `make run` started) each thing was first listed by the API."""

    scan_s: float | None = None
    signal_s: float | None = None
    fill_s: float | None = None


def _token(text: str) -> str:
    found = re.search(r"dashboard: http://\S+/ui#token=(\S+)", text)
    assert found is not None, "make run printed no dashboard link with its token"
    return found.group(1)


async def _trading_visible(base_url: str, token: str, started: float) -> Seen:
    """Poll the REST API until it lists a scan, a generated signal and a paper fill."""
    seen = Seen()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=10) as client:
        assert (await client.get("/health")).status_code in (200, 503)
        # Reads need the run's token: without it the API refuses them.
        assert (await httpx.AsyncClient(base_url=base_url).get("/api/scan")).status_code == 401
        deadline = time.monotonic() + TRADING_DEADLINE_S
        while seen.fill_s is None or seen.signal_s is None or seen.scan_s is None:
            now = time.monotonic() - started
            if seen.scan_s is None and (await client.get(f"/api/scan/{DEMO_PRESET}")).is_success:
                seen.scan_s = round(now)
            if seen.signal_s is None:
                signals = (await client.get("/api/signals?outcome=generated")).json()
                seen.signal_s = round(now) if signals else None
            if seen.fill_s is None:
                orders = (await client.get("/api/orders")).json()
                if any(o["type"] == "exec.order_fill.v1" for o in orders):
                    seen.fill_s = round(now)
            if time.monotonic() > deadline:
                pytest.fail(f"not all of a scan, a signal and a fill were listed: {seen}")
            await asyncio.sleep(2.0)
    return seen


# The events whose first record makes the demo's timeline (docs/operations.md).
TIMELINE_TYPES = (
    "md.candle.v1", "md.trade.v1", "feat.indicators.v1", "feat.book_metrics.v1",
    "regime.changed.v1", "scan.completed.v1", "sig.state_changed.v1",
    "sig.signal_generated.v1", "risk.intent_approved.v1", "risk.order_denied.v1",
    "exec.order_submitted.v1", "exec.order_fill.v1", "pos.opened.v1",
)  # fmt: skip


async def _timeline(system: RunningSystem) -> dict[str, float]:
    """Seconds after `make run` started: each service ready (as printed), and the first record
    of each `TIMELINE_TYPES` event in the store."""
    marks: dict[str, float] = {}
    day = system.started_at.astimezone()
    for line in system.text().splitlines():
        found = re.match(r"(\d\d):(\d\d):(\d\d) (\S+)\s+ready\b", line)
        if found and f"{found.group(4)} ready" not in marks:
            hour, minute, second = (int(found.group(i)) for i in (1, 2, 3))
            at = day.replace(hour=hour, minute=minute, second=second, microsecond=0)
            marks[f"{found.group(4)} ready"] = max(0.0, (at - day).total_seconds() + 0.5)
    conn = await asyncpg.connect(system.dsn)
    try:
        rows = await conn.fetch(
            "SELECT type, min(recorded_at) AS first FROM events WHERE type = ANY($1::text[])"
            " GROUP BY type",
            list(TIMELINE_TYPES),
        )
    finally:
        await conn.close()
    for row in rows:
        name = row["type"].removesuffix(".v1")
        marks[f"first {name}"] = round((row["first"] - system.started_at).total_seconds(), 1)
    return marks | await _chain_marks(system)


async def _chain_marks(system: RunningSystem) -> dict[str, float]:
    """When the first setup was armed and the first signal generated, naming symbol and entry."""
    conn = await asyncpg.connect(system.dsn)
    try:
        rows = await conn.fetch(
            "SELECT DISTINCT ON (type) type, recorded_at, data->>'symbol' AS symbol,"
            " coalesce(data->>'strategy', data->>'reason') AS what FROM events"
            " WHERE type = 'sig.signal_generated.v1'"
            " OR (type = 'sig.state_changed.v1' AND data->>'state' = 'signal_wait')"
            " ORDER BY type, position"
        )
    finally:
        await conn.close()
    marks: dict[str, float] = {}
    for row in rows:
        at = round((row["recorded_at"] - system.started_at).total_seconds(), 1)
        kind = "signal" if row["type"] == "sig.signal_generated.v1" else "armed"
        marks[f"first {kind}: {row['symbol']} {row['what']}"] = at
    return marks


async def _sim_ahead_s(dsn: str) -> float:
    """How far the last trade's simulated time is ahead of its record: the simulator's clock
    offset from the wall's (docs/exchange_sim.md) less ingest's and the store's lag."""
    conn = await asyncpg.connect(dsn)
    try:
        ahead = await conn.fetchval(
            "SELECT extract(epoch FROM occurred_at - recorded_at) FROM events"
            " WHERE type = 'md.trade.v1' ORDER BY position DESC LIMIT 1"
        )
    finally:
        await conn.close()
    return float(ahead)


async def test_make_run_brings_the_system_up_and_ctrl_c_leaves_nothing(
    full_system: RunningSystem, infra: InfraSettings
) -> None:
    system = full_system
    await _eventually(
        "every service started", lambda: "Ctrl-C stops everything." in system.text(),
        START_DEADLINE_S, system.output,
    )  # fmt: skip
    for service in BUILT:
        await _eventually(
            f"{service} ready", partial(_ready_in, system, service), START_DEADLINE_S,
            system.output,
        )  # fmt: skip
    # Both symbol groups' ingest processes record trades, and the relay puts them on the bus.
    await _wait_for_trades(system, {"BTCUSDT", "XRPUSDT"})
    await _wait_for(lambda: _published(infra, system.prefix), "messages on the bus", system)
    # Features consumed them from the bus and recorded its own events: the whole loop runs.
    await _wait_for(lambda: _count(system.dsn, "feat.%"), "feat.* events in the store", system)
    await _eventually(
        "a summary of the store", lambda: "since start" in system.text(), FLOW_DEADLINE_S,
        system.output,
    )  # fmt: skip
    # The demo's promise: a scan, a signal and a paper fill, listed by the REST API.
    url = re.search(r"dashboard: (http://\S+)/ui", system.text())
    assert url is not None
    seen = await _trading_visible(url.group(1), _token(system.text()), system.started)
    print(f"make run: first scan {seen.scan_s} s, signal {seen.signal_s} s, fill {seen.fill_s} s")
    timeline = await _timeline(system)
    ahead_s = await _sim_ahead_s(system.dsn)
    print(f"make run timeline (s after start; simulator clock {ahead_s:.0f} s ahead, less lag):")
    for what, at in sorted(timeline.items(), key=lambda item: item[1]):
        print(f"  {at:6.1f}  {what}")
    # The store's own record of the chain, in causal order.
    chain = ("first scan.completed", "first sig.signal_generated", "first exec.order_fill")
    assert all(what in timeline for what in chain), timeline
    assert [timeline[w] for w in chain] == sorted(timeline[w] for w in chain)
    # The token is printed for the terminal only, never written into a service's log file.
    logs = (system.output.parent / "stack" / "logs").glob("*.log")
    assert not any(_token(system.text()) in log.read_text() for log in logs)

    assert system.ours()  # the services run with this run's environment
    os.killpg(system.process.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
    system.process.wait(timeout=STOP_DEADLINE_S)
    assert "stopped: every service" in system.text()
    assert system.ours() == set()


async def test_sigterm_to_the_supervisor_stops_every_service(
    market_data_only: RunningSystem,
) -> None:
    system = market_data_only
    await _eventually(
        "the services started", lambda: "Ctrl-C stops everything." in system.text(),
        START_DEADLINE_S, system.output,
    )  # fmt: skip
    for service in ("exchange-sim", "relay", "ingest-majors"):
        await _eventually(
            f"{service} ready", partial(_ready_in, system, service), START_DEADLINE_S,
            system.output,
        )  # fmt: skip
    assert not re.search(r"\bfeatures\s+(started|ready)", system.text())
    await _wait_for_trades(system, {"SOLUSDT"})
    supervisors = [pid for pid in system.ours() if _is_supervisor(pid)]
    assert len(supervisors) == 1, [_cmdline(p) for p in system.ours()]
    os.kill(supervisors[0], signal.SIGTERM)  # what Docker, systemd or a CI runner sends
    system.process.wait(timeout=STOP_DEADLINE_S)
    assert "stopped: every service" in system.text()
    assert system.ours() == set()


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _is_supervisor(pid: int) -> bool:
    argv = _cmdline(pid).split(b"\0")
    return any(a.endswith(b"/breakout") or a == b"breakout" for a in argv[:2]) and b"run" in argv
