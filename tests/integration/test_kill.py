"""SIGKILL the relay and a consumer at random moments: downstream sees everything once in effect."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from breakout.common.bus.nats import NatsBus
from breakout.common.config import InfraSettings
from breakout.common.relay import relayed_position, relayed_positions
from breakout.common.store.postgres import PostgresEventStore
from tests.integration.stacks import fresh_database
from tests.support.sample import TotalUpdated, tick

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
COMMANDS = {
    "relay": [
        *[sys.executable, "-m", "breakout.common.cli", "relay"],
        *["--event-module", "tests.support.sample", "--batch-size", "100"],
    ],
    "consumer": [sys.executable, "-m", "tests.support.sample_app", "kill-totals"],
}


class Fleet:
    """The relay and the consumer as real processes, killed and restarted at will."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.kills = 0

    def start(self, name: str) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            COMMANDS[name], env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT
        )

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.kills += 1

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _env(dsn: str, infra: InfraSettings, bus_prefix: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": dsn,
        "NATS_URL": infra.nats_url,
        "BREAKOUT_BUS_PREFIX": bus_prefix,
    }


async def _chaos(fleet: Fleet, rng: random.Random, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await asyncio.sleep(rng.uniform(0.3, 1.0))
        victim = rng.choice(sorted(fleet.procs))
        fleet.kill(victim)
        await asyncio.sleep(rng.uniform(0.0, 0.4))
        fleet.start(victim)


async def test_sigkill_relay_and_consumer(
    infra: InfraSettings, bus_prefix: str, tmp_path: Path
) -> None:
    rng = random.Random(20261121)
    keys = "ABCD"
    n_ticks = 800
    async with fresh_database(infra) as dsn:
        fleet = Fleet(_env(dsn, infra, bus_prefix), tmp_path)
        store = await PostgresEventStore.connect(dsn)
        bus = await NatsBus.connect(infra.nats_url, prefix=bus_prefix)
        await bus.ensure_stream()
        for name in COMMANDS:
            fleet.start(name)
        stop = asyncio.Event()
        chaos = asyncio.create_task(_chaos(fleet, rng, stop))
        try:
            for seq in range(n_ticks):
                key = keys[seq % len(keys)]
                await store.append(f"tick-{key}", [tick(key, seq, amount=seq % 7)])
                if seq % 20 == 0:
                    await asyncio.sleep(0.12)
            stop.set()
            await chaos
            last_tick = (await store.read_stream("tick-D"))[-1].position
            await _wait_for(lambda: store.checkpoint("kill-totals"), last_tick, fleet, tmp_path)
            head = await store.head_position()
            await _wait_for(lambda: _last_relayed(bus), head, fleet, tmp_path)

            for i, key in enumerate(keys):
                totals = await store.read_stream(f"total-{key}")
                updates = [e.data for e in totals]
                assert all(isinstance(u, TotalUpdated) for u in updates)
                expected_seqs = list(range(i, n_ticks, len(keys)))
                assert [u.input_seq for u in updates] == expected_seqs  # type: ignore[union-attr]
                assert [e.version for e in totals] == list(range(1, len(expected_seqs) + 1))
                assert updates[-1].total == sum(s % 7 for s in expected_seqs)  # type: ignore[union-attr]
            assert await store.read_stream("dlq-kill-totals") == []

            bus_positions = await relayed_positions(bus)
            store_positions = [e.position for e in await store.read_all_raw(limit=100_000)]
            assert bus_positions == store_positions  # every event on the bus, once, in order
            assert fleet.kills >= 5
        finally:
            stop.set()
            fleet.stop_all()
            await bus.delete_stream()
            await bus.close()
            await store.close()


async def _last_relayed(bus: NatsBus) -> int:
    message = await bus.get(await bus.last_sequence())
    position = None if message is None else relayed_position(message)
    return position or 0


async def _wait_for(read: object, target: int, fleet: Fleet, logs: Path) -> None:
    deadline = asyncio.get_running_loop().time() + 60
    while (value := await read()) < target:  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            tails = {p.name: p.read_text()[-3000:] for p in logs.glob("*.log")}
            raise AssertionError(f"stuck at {value} < {target}; logs: {tails}")
        for name, proc in fleet.procs.items():
            if proc.poll() is not None:
                fleet.start(name)
        await asyncio.sleep(0.2)


async def test_sigterm_stops_a_consumer_gracefully(
    infra: InfraSettings, bus_prefix: str, tmp_path: Path
) -> None:
    async with fresh_database(infra) as dsn:
        fleet = Fleet(_env(dsn, infra, bus_prefix), tmp_path)
        store = await PostgresEventStore.connect(dsn)
        try:
            await store.append("tick-A", [tick("A", 0)])
            fleet.start("consumer")
            await _wait_for(lambda: store.checkpoint("kill-totals"), 1, fleet, tmp_path)
            proc = fleet.procs["consumer"]
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(proc.wait, 15) == 0
            log = (tmp_path / "consumer.log").read_text()
            assert '"event": "stopped"' in log
        finally:
            fleet.stop_all()
            await store.close()
