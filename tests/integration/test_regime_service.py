"""`breakout-regime run` as a real process: pollers and core wired from the environment, fed by
exchange_sim's macro world over HTTP, with /health, stopping cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import urllib.request
from pathlib import Path

import pytest

from breakout.common.config import InfraSettings
from breakout.common.events.regime import (
    NEWS_CLASSIFIED_STREAM,
    MacroObserved,
    macro_stream,
    news_stream,
)
from breakout.common.relay import Relay
from breakout.exchange_sim.macro import MacroWorld, segment
from tests.integration.stacks import open_stack
from tests.integration.test_regime_feeds import serve_world

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _health(port: int) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
        body: dict[str, object] = json.loads(response.read())
        return body


async def test_the_service_polls_decides_and_stops_on_sigterm(
    infra: InfraSettings, bus_prefix: str, tmp_path: Path
) -> None:
    # Live clock: a week of history up to now, on a busy wire (a seed's own world can have
    # six quiet hours, and which six the first poll reads depends on the time of day).
    world = MacroWorld(seed=9, script=[segment("risk_on", 24 * 8, headlines_per_h=3.0)])
    health_port = _free_port()
    async with (
        serve_world(world, prefix="/sim") as base,
        open_stack("real", infra, bus_prefix) as stack,
    ):
        assert stack.dsn is not None
        env = {
            **os.environ,
            "DATABASE_URL": stack.dsn,
            "NATS_URL": infra.nats_url,
            "BREAKOUT_BUS_PREFIX": bus_prefix,
            "MACRO_SIM_URL": base,
        }
        log = (tmp_path / "regime.log").open("wb")
        argv = [
            sys.executable,
            "-m",
            "breakout.regime.app",
            "run",
            "--health-port",
            str(health_port),
        ]
        proc = await asyncio.create_subprocess_exec(
            *argv, env=env, cwd=REPO, stdout=log, stderr=asyncio.subprocess.STDOUT
        )
        relay = Relay(stack.store, stack.bus, stack.leader("relay"), batch_size=200)
        relay_task = asyncio.create_task(relay.run())
        try:
            for _ in range(600):
                classified = await stack.store.read_stream(NEWS_CLASSIFIED_STREAM)
                news = await stack.store.read_stream(news_stream("newsapi"))
                if news and len(classified) == len(news):
                    break
                assert proc.returncode is None, (tmp_path / "regime.log").read_text()
                await asyncio.sleep(0.1)
            else:
                raise AssertionError((tmp_path / "regime.log").read_text())
            dxy = await stack.store.read_stream(macro_stream("DXY"))
            btcd = await stack.store.read_stream(macro_stream("BTCD"))
            assert len(dxy) == 29  # Twelve Data's 30 latest candles less the running one
            assert len(btcd) == 1
            assert all(isinstance(e.data, MacroObserved) for e in dxy + btcd)
            health = await asyncio.to_thread(_health, health_port)
            assert health["ok"] is True
            components = health["components"]
            assert isinstance(components, dict)
            assert {"feed.twelvedata", "feed.coingecko", "feed.newsapi", "consumer"} <= set(
                components
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), 20)
            relay.stop()
            await relay_task
        assert code == 0, (tmp_path / "regime.log").read_text()
        assert b"sim-" not in (tmp_path / "regime.log").read_bytes()  # no key in the logs
