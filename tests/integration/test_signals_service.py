"""`breakout-signals run` as a real process: preset from the environment, events over NATS from
a real store, a scan and a momentum signal recorded, a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from breakout.common.config import InfraSettings
from breakout.common.events import (
    Event,
    NewEvent,
    ScanCompleted,
    SignalGenerated,
    scan_stream,
    signal_stream,
)
from breakout.common.relay import Relay
from breakout.common.store.port import EventStore
from tests.integration.stacks import open_stack
from tests.unit.signals.factories import T0, book, breakout, market

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


async def _append(store: EventStore, events: list[Event]) -> None:
    for data in events:
        new = NewEvent(
            event_id=uuid.uuid4(),
            data=data,
            occurred_at=datetime.fromtimestamp(T0 / 1000, UTC),
            producer="test",
        )
        await store.append(f"test-{type(data).__name__}", [new])


async def test_the_service_scans_signals_and_stops_on_sigterm(
    infra: InfraSettings, bus_prefix: str, tmp_path: Path
) -> None:
    preset_file = tmp_path / "unit_preset.json"
    preset_file.write_bytes(msgspec.json.encode({"name": "unit_preset", "version": 1}))
    async with open_stack("real", infra, bus_prefix) as stack:
        assert stack.dsn is not None
        env = {
            **os.environ,
            "DATABASE_URL": stack.dsn,
            "NATS_URL": infra.nats_url,
            "BREAKOUT_BUS_PREFIX": bus_prefix,
            "SIGNALS_PRESET": str(preset_file),
        }
        log_path = tmp_path / "signals.log"
        log = log_path.open("wb")
        argv = [sys.executable, "-m", "breakout.signals.app", "run"]
        proc = await asyncio.create_subprocess_exec(
            *argv, env=env, cwd=REPO, stdout=log, stderr=asyncio.subprocess.STDOUT
        )
        relay = Relay(stack.store, stack.bus, stack.leader("relay"), batch_size=200)
        relay_task = asyncio.create_task(relay.run())
        try:
            await _append(stack.store, [*market("ETHUSDT"), book("ETHUSDT", T0 + 61_000)])
            await _append(stack.store, breakout())
            for _ in range(300):
                scans = await stack.store.read_stream(scan_stream("unit_preset"))
                signals = await stack.store.read_stream(signal_stream("unit_preset", "ETHUSDT"))
                if scans and any(isinstance(e.data, SignalGenerated) for e in signals):
                    break
                assert proc.returncode is None, log_path.read_text()
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(log_path.read_text())
            assert isinstance(scans[0].data, ScanCompleted)
            assert scans[0].producer == "signals-unit_preset"
        finally:
            proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), 20)
            relay.stop()
            await relay_task
        assert code == 0, log_path.read_text()
