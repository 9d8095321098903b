"""Crash safety of order placement: SIGKILL the execution service between the exchange call and
recording its answer; after a restart the order exists once at the exchange and once in the log."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from breakout.common.config import InfraSettings
from breakout.common.events import (
    MarketRulesObserved,
    OrderAcknowledged,
    OrderFilled,
    OrderSubmitted,
    PositionOpened,
    risk_stream,
)
from tests.integration.test_leader import terminate_holder
from tests.integration.trading_support import (
    OURS,
    TradingStack,
    approved_intent,
    e2e_preset,
    order_at_exchange,
    trading_stack,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]


def start_execution(
    stack: TradingStack, infra: InfraSettings, prefix: str, log: Path
) -> subprocess.Popen[bytes]:
    """`breakout-execution run` as its own process, live broker on the simulator."""
    env = {
        **os.environ,
        "DATABASE_URL": stack.dsn,
        "NATS_URL": infra.nats_url,
        "BREAKOUT_BUS_PREFIX": prefix,
        "EXCHANGE_BASE_URL": stack.sim.base_url,
        "EXCHANGE_API_KEY": OURS[0],
        "EXCHANGE_API_SECRET": OURS[1],
        "EXECUTION_POLL_S": "0.2",
    }
    argv = [
        sys.executable,
        "-m",
        "breakout.execution.app",
        "run",
        "--preset",
        "breakout_v1",
        "--symbols",
        "BTCUSDT",
        "--broker",
        "live",
        "--i-understand-this-trades-real-money",
    ]
    return subprocess.Popen(
        argv, env=env, cwd=REPO, stdout=log.open("ab"), stderr=subprocess.STDOUT
    )


async def test_sigkill_between_submit_and_ack_places_no_second_order(
    infra: InfraSettings, bus_prefix: str, tmp_path: Path
) -> None:
    preset = e2e_preset()  # sized under the TWAP threshold: the entry is one order
    async with trading_stack(infra, bus_prefix, ingest=False) as stack:
        first = start_execution(stack, infra, bus_prefix, tmp_path / "execution.log")
        try:
            await stack.wait_for(MarketRulesObserved, timeout_s=90)  # a loaded start
            # The exchange holds the next order 3 s before matching it: the window to kill in.
            await stack.sim.fault("delay_orders", delay_s=3.0, count=1)
            intent = await approved_intent(stack, preset)
            await stack.append(risk_stream(preset.name), intent)
            submitted = await stack.wait_for(OrderSubmitted, timeout_s=30)
            await asyncio.sleep(1.0)  # the POST is at the exchange, its answer not back yet
            assert await stack.events(OrderAcknowledged) == []
            first.send_signal(signal.SIGKILL)
            first.wait()
        finally:
            if first.poll() is None:
                first.kill()
        second = start_execution(stack, infra, bus_prefix, tmp_path / "execution.log")
        try:
            await stack.wait_for(OrderFilled, timeout_s=60)
            opened = await stack.wait_for(PositionOpened, timeout_s=30)
        finally:
            second.terminate()
            second.wait(timeout=20)
        at_exchange = await order_at_exchange(stack, submitted.order_id)
        assert len(at_exchange) == 1, at_exchange
        acks = [
            a for a in await stack.events(OrderAcknowledged) if a.order_id == submitted.order_id
        ]
        assert len(acks) == 1 and acks[0].latency_ms is None  # found, not placed, by the restart
        assert opened.qty > 0
        assert len(await stack.events(OrderSubmitted)) == 1


async def test_execution_steps_down_when_its_leader_lock_is_lost(
    infra: InfraSettings, bus_prefix: str, tmp_path: Path
) -> None:
    # One router per venue: when its lock's session ends, a standby may be routing now, so
    # this process stops (exit non-zero) rather than route beside it.
    async with trading_stack(infra, bus_prefix, ingest=False) as stack:
        log = tmp_path / "execution.log"
        process = start_execution(stack, infra, bus_prefix, log)
        try:
            await stack.wait_for(MarketRulesObserved, timeout_s=90)
            await terminate_holder(stack.dsn, "execution:binance")
            code = await asyncio.to_thread(process.wait, 30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert code != 0, log.read_text()[-3000:]
    assert "leader lock lost" in log.read_text()
