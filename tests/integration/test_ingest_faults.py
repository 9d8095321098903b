"""Ingest under faults: rate limits, stalled sockets, groups side by side, SIGKILL restarts, a
lost leader lock."""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import socket
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from structlog.testing import capture_logs

from breakout.common.events import (
    MarketDataGap,
    MarketTrade,
    NewEvent,
    SubscriptionRequested,
    Ticker24h,
)
from breakout.common.store import PostgresEventStore
from breakout.exchange_sim.exchange import SimExchange
from breakout.exchange_sim.market import MarketConfig
from breakout.exchange_sim.server import serve
from breakout.exchange_sim.state import wall_clock_ms
from breakout.exchange_sim.testing import running_sim
from tests.integration.ingest_support import (
    assert_consecutive,
    ingest_config,
    running_ingest,
    stream_events,
    unique_venue,
    wait_until,
)
from tests.integration.store_support import store_dsn  # noqa: F401  (fixture)
from tests.integration.test_leader import terminate_holder

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


async def _of(dsn: str, kind: str, venue: str, symbol: str, cls: type[Any]) -> list[Any]:
    events = await stream_events(dsn, kind, venue, symbol)
    return [e.data for e in events if isinstance(e.data, cls)]


async def _trade_ids(dsn: str, venue: str, symbol: str) -> list[int]:
    return [t.trade_id for t in await _of(dsn, "trade", venue, symbol, MarketTrade)]


async def test_429s_open_the_breaker_and_ingest_recovers(store_dsn: str) -> None:  # noqa: F811
    venue = unique_venue()
    async with running_sim(["BTCUSDT"], seed=11) as sim:
        config = ingest_config(sim.base_url, venue, {"g": ("BTCUSDT",)}, "g")
        async with running_ingest(config, store_dsn) as service:

            async def tickers() -> bool:
                return bool(await _of(store_dsn, "ticker", venue, "BTCUSDT", Ticker24h))

            await wait_until(tickers)
            await sim.fault("rate_limit", status=429, seconds=3, retry_after_s=2)
            breaker = service.ctx.limiter.breaker

            async def opened() -> bool:
                return breaker.trips > 0

            await wait_until(opened)
            assert service.health()["rest_breaker"] in ("open", "half_open")
            count = len(await _of(store_dsn, "ticker", venue, "BTCUSDT", Ticker24h))

            async def recovered() -> bool:
                now = await _of(store_dsn, "ticker", venue, "BTCUSDT", Ticker24h)
                return breaker.trips == 0 and len(now) > count + 1

            await wait_until(recovered, timeout_s=40)
            assert service.health()["rest_breaker"] == "closed"
        # The websocket feeds never depended on REST: trades stayed continuous throughout.
        assert_consecutive(await _trade_ids(store_dsn, venue, "BTCUSDT"))


async def test_a_stalled_socket_is_detected_and_its_trades_backfilled(
    store_dsn: str,  # noqa: F811
) -> None:
    venue = unique_venue()
    async with running_sim(["BTCUSDT"], seed=12, trade_rate_multiplier=5) as sim:
        config = ingest_config(sim.base_url, venue, {"g": ("BTCUSDT",)}, "g", stale_after_s=2.0)
        async with running_ingest(config, store_dsn):

            async def some() -> bool:
                return len(await _trade_ids(store_dsn, venue, "BTCUSDT")) >= 10

            await wait_until(some)
            await sim.fault("stall_ws", seconds=6)

            async def stale_seen() -> bool:
                gaps = await _of(store_dsn, "gap", venue, "BTCUSDT", MarketDataGap)
                return any("RequestTimeout" in g.reason for g in gaps)

            await wait_until(stale_seen, timeout_s=30)
            before = len(await _trade_ids(store_dsn, venue, "BTCUSDT"))

            async def flowing() -> bool:
                return len(await _trade_ids(store_dsn, venue, "BTCUSDT")) > before + 20

            await wait_until(flowing, timeout_s=40)
        assert_consecutive(await _trade_ids(store_dsn, venue, "BTCUSDT"))


async def test_two_groups_side_by_side_and_a_run_time_subscription(
    store_dsn: str,  # noqa: F811
) -> None:
    venue = unique_venue()
    groups = {"majors": ("BTCUSDT",), "alts": ("ETHUSDT",)}
    async with running_sim(["BTCUSDT", "ETHUSDT", "SOLUSDT"], seed=13) as sim:
        majors = ingest_config(sim.base_url, venue, groups, "majors")
        alts = ingest_config(sim.base_url, venue, groups, "alts")
        async with running_ingest(majors, store_dsn) as a, running_ingest(alts, store_dsn) as b:
            store = await PostgresEventStore.connect(store_dsn)
            try:
                request = SubscriptionRequested(
                    exchange=venue, symbols=["SOLUSDT"], requested_by="test"
                )
                await store.append(
                    f"ctl-{uuid.uuid4().hex[:8]}",
                    [
                        NewEvent(
                            event_id=uuid.uuid4(),
                            data=request,
                            occurred_at=datetime.now(UTC),
                            producer="test",
                        )
                    ],
                )
            finally:
                await store.close()

            async def all_three() -> bool:
                ids = [
                    await _trade_ids(store_dsn, venue, s) for s in ("BTCUSDT", "ETHUSDT", "SOLUSDT")
                ]
                return all(len(i) >= 5 for i in ids)

            await wait_until(all_three, timeout_s=60)
            owners = {name for name, svc in (("majors", a), ("alts", b)) if "SOLUSDT" in svc.feeds}
        assert len(owners) == 1, "exactly one group took the new symbol"
        for symbol, group in (
            ("BTCUSDT", "majors"),
            ("ETHUSDT", "alts"),
            ("SOLUSDT", owners.pop()),
        ):
            events = await stream_events(store_dsn, "trade", venue, symbol)
            assert {e.producer for e in events} == {f"ingest.{group}"}
            assert_consecutive([e.data.trade_id for e in events])  # type: ignore[attr-defined]


def _spawn(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "breakout.ingest.app"]
    return subprocess.Popen(argv, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


async def test_sigkilled_ingest_resumes_without_loss_or_duplicates(
    store_dsn: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    venue = unique_venue()
    async with running_sim(["BTCUSDT", "ETHUSDT"], seed=14, trade_rate_multiplier=5) as sim:
        env = {
            **os.environ,
            "DATABASE_URL": store_dsn,
            "EXCHANGE_BASE_URL": sim.base_url,
            "INGEST_VENUE": venue,
            "INGEST_GROUPS": "g=BTCUSDT,ETHUSDT",
            "SYMBOL_GROUP": "g",
            "INGEST_BOOK_INTERVAL_MS": "200",
        }
        log = tmp_path / "ingest.log"
        for round_ in range(3):
            process = _spawn(env, log)
            try:
                floor = len(await _trade_ids(store_dsn, venue, "BTCUSDT"))

                async def progressed(floor: int = floor) -> bool:
                    return len(await _trade_ids(store_dsn, venue, "BTCUSDT")) > floor + 10

                await wait_until(progressed, timeout_s=60)
            finally:
                # SIGKILL mid-stream twice; the last round stops with SIGTERM.
                process.send_signal(signal.SIGKILL if round_ < 2 else signal.SIGTERM)
                await asyncio.to_thread(process.wait, 30)
            await asyncio.sleep(1.5)  # trades go on at the exchange while nobody listens
    for symbol in ("BTCUSDT", "ETHUSDT"):
        ids = await _trade_ids(store_dsn, venue, symbol)
        assert len(ids) > 30, log.read_text()[-3000:]
        assert_consecutive(ids)
    assert process.returncode == 0, log.read_text()[-3000:]


async def test_ingest_started_before_the_exchange_waits_for_it(store_dsn: str) -> None:  # noqa: F811
    # At 300 symbols the simulator builds its markets for minutes before it listens: ingest,
    # started meanwhile, keeps retrying the markets instead of dying into a restart loop.
    venue = unique_venue()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    config = ingest_config(f"http://127.0.0.1:{port}", venue, {"g": ("BTCUSDT",)}, "g")
    with capture_logs() as logs:
        async with running_ingest(config, store_dsn) as service:

            async def retrying() -> bool:
                retries = [e for e in logs if e["event"] == "call failed; retrying"]
                return sum(e.get("what") == "rest call" for e in retries) >= 2

            await wait_until(retrying)
            assert not service.feeds and service.failure is None
            exchange = SimExchange.simulated(
                ["BTCUSDT"], start_ms=wall_clock_ms(), config=MarketConfig(seed=3, history_days=0.1)
            )
            runner, _ = await serve(exchange, "127.0.0.1", port)
            try:

                async def trading() -> bool:
                    return len(await _trade_ids(store_dsn, venue, "BTCUSDT")) > 5

                await wait_until(trading, timeout_s=60)
            finally:
                await runner.cleanup()
    events = [e["event"] for e in logs]
    assert "markets loaded" in events and "candle history loaded" in events


async def test_ingest_steps_down_when_its_leader_lock_is_lost(
    store_dsn: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    # Its lock's session ends (a Postgres restart, a partition): a standby may lead the group
    # now, so this process stops and exits non-zero; its restart waits for the lock again.
    venue = unique_venue()
    async with running_sim(["BTCUSDT"], seed=15, trade_rate_multiplier=5) as sim:
        env = {
            **os.environ,
            "DATABASE_URL": store_dsn,
            "EXCHANGE_BASE_URL": sim.base_url,
            "INGEST_VENUE": venue,
            "INGEST_GROUPS": "g=BTCUSDT",
            "SYMBOL_GROUP": "g",
        }
        log = tmp_path / "ingest.log"
        process = _spawn(env, log)
        try:

            async def trading() -> bool:
                return len(await _trade_ids(store_dsn, venue, "BTCUSDT")) > 5

            await wait_until(trading, timeout_s=60)
            await terminate_holder(store_dsn, f"ingest:{venue}:g")
            code = await asyncio.to_thread(process.wait, 30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert code != 0, log.read_text()[-3000:]
    assert "leader lock lost" in log.read_text()


async def test_a_websocket_send_on_a_closing_connection_is_a_gap_not_a_crash(
    store_dsn: str,  # noqa: F811
) -> None:
    # A subscription sent on a connection that is closing (the stale-socket watchdog closed
    # it, or the server dropped it) fails in aiohttp with ClientConnectionResetError, and ccxt
    # rejects every watch on that connection with it, unwrapped (its `on_error`, called here on
    # the live connection as ccxt calls it). Ingest under load died of this: the feed let it
    # through, its task group failed, and the process stopped. Now it is a lost stream.
    venue = unique_venue()
    async with running_sim(["BTCUSDT"], seed=16, trade_rate_multiplier=5) as sim:
        config = ingest_config(sim.base_url, venue, {"g": ("BTCUSDT",)}, "g")
        async with running_ingest(config, store_dsn) as service:

            async def trading(more_than: int = 5) -> bool:
                return len(await _trade_ids(store_dsn, venue, "BTCUSDT")) > more_than

            await wait_until(trading)
            reset = aiohttp.ClientConnectionResetError("Cannot write to closing transport")
            for client in list(service.ctx.client.clients.values()):
                client.on_error(reset)

            async def lost() -> bool:
                gaps = await _of(store_dsn, "gap", venue, "BTCUSDT", MarketDataGap)
                return any("ClientConnectionResetError" in g.reason for g in gaps)

            await wait_until(lost)
            before = len(await _trade_ids(store_dsn, venue, "BTCUSDT"))
            await wait_until(functools.partial(trading, before + 10), timeout_s=60)
            assert service.failure is None
    assert_consecutive(await _trade_ids(store_dsn, venue, "BTCUSDT"))
