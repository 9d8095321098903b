"""Ingest throughput and cost: exchange_sim (its own process) -> ccxt.pro -> ingest -> store.

- `saturation`: few symbols at a trade rate far above what one process can ingest; the figure
  is what it records per second, and the CPU it spends per 1,000 events.
- `realistic`: 50 symbols at the simulator's calibrated rates; the figures are the events/s and
  whether a backlog grows (feed latency in the first and the last third of the run).
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator

from breakout.common.events import MarketTrade, md_stream
from breakout.common.exchange import ccxt_config, pro_exchange
from breakout.common.store.postgres import PostgresEventStore
from breakout.ingest.config import IngestConfig
from breakout.ingest.context import IngestContext
from breakout.ingest.ratelimit import RateLimiter
from breakout.ingest.service import IngestService
from breakout.ingest.writer import MarketDataWriter

REALISTIC_SYMBOLS = [f"S{i:02d}USDT" for i in range(40)] + [
    "BTCUSDT",
    "ETHUSDT",
    "BNBUSDT",
    "SOLUSDT",
    "XRPUSDT",
    "DOGEUSDT",
    "ADAUSDT",
    "AVAXUSDT",
    "LINKUSDT",
    "LTCUSDT",
]


@contextlib.asynccontextmanager
async def sim_process(symbols: list[str], rate: float) -> AsyncIterator[str]:
    """exchange_sim in a child process (so its CPU is not counted as ingest's)."""
    argv = [sys.executable, "-m", "bench.sim_server", "--symbols", ",".join(symbols)]
    process = await asyncio.create_subprocess_exec(
        *argv, "--rate", str(rate), stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        line = b""
        while not line.startswith(b"http"):  # the simulator may log before its address
            line = await process.stdout.readline()
            if not line:
                raise RuntimeError("exchange_sim exited before it served")
        yield line.decode().strip()
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)


async def _run(
    dsn: str, symbols: list[str], rate: float, warmup_s: float, measure_s: float
) -> tuple[float, float, str, float]:
    """Events/s and CPU ms per 1k events over the measured window; the venue; buffered max."""
    venue = f"bench{uuid.uuid4().hex[:6]}"
    async with sim_process(symbols, rate) as base_url:
        config = IngestConfig(
            base_url=base_url,
            venue=venue,
            groups={"bench": tuple(symbols)},
            group="bench",
            check_candles=False,
            candle_history_bars=5,
            timeframes=("1m",),
        )
        store = await PostgresEventStore.connect(dsn)
        client = pro_exchange("binance", ccxt_config("binance", base_url, enable_rate_limit=False))
        writer = MarketDataWriter(store, "bench")
        service = IngestService(IngestContext(config, client, RateLimiter(), writer), store)
        task = asyncio.create_task(service.run())
        try:
            await asyncio.sleep(warmup_s)
            written0, cpu0, wall0 = writer.written, time.process_time(), time.perf_counter()
            buffered_max = 0
            while time.perf_counter() - wall0 < measure_s:
                await asyncio.sleep(0.5)
                buffered_max = max(buffered_max, writer.buffered)
            events = writer.written - written0
            cpu_s, wall_s = time.process_time() - cpu0, time.perf_counter() - wall0
        finally:
            service.stop()
            await asyncio.wait_for(task, 30)
            await store.close()
    cpu_ms_per_1k = cpu_s * 1e6 / max(events, 1)
    return events / wall_s, cpu_ms_per_1k, venue, float(buffered_max)


async def _latency_thirds(dsn: str, venue: str, symbol: str) -> tuple[float, float]:
    """Median receive − exchange time of the first and the last third of a symbol's trades."""
    store = await PostgresEventStore.connect(dsn)
    try:
        events = await store.read_stream(md_stream("trade", venue, symbol))
    finally:
        await store.close()
    lat = [
        e.data.received_ts_ms - e.data.exchange_ts_ms
        for e in events
        if isinstance(e.data, MarketTrade)
    ]
    third = max(1, len(lat) // 3)
    return statistics.median(lat[:third]), statistics.median(lat[-third:])


async def saturation(dsn: str) -> dict[str, float]:
    """Four symbols at 60x their calibrated trade rate (about 4,800 trades/s offered)."""
    eps, cpu_ms_per_1k, venue, buffered = await _run(
        dsn, ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"], 60.0, 8.0, 20.0
    )
    first, last = await _latency_thirds(dsn, venue, "BTCUSDT")
    return {
        "ingest.events_per_s": round(eps, 1),
        "ingest.cpu_per_1k_events_ms": round(cpu_ms_per_1k, 2),
        # What one core could take if CPU were the only limit (the simulator, in a process of
        # its own on the same two cores, runs out before ingest does).
        "ingest.cpu_bound_ceiling_eps": round(1e6 / max(cpu_ms_per_1k, 1e-9)),
        "ingest.saturation_buffered_max": buffered,
        "ingest.saturation_latency_first_third_p50_ms": first,
        "ingest.saturation_latency_last_third_p50_ms": last,
    }


async def realistic(dsn: str) -> dict[str, float]:
    """50 symbols at calibrated rates for 30 s: does the feed latency grow?"""
    eps, _, venue, buffered = await _run(dsn, REALISTIC_SYMBOLS, 1.0, 8.0, 30.0)
    first, last = await _latency_thirds(dsn, venue, "BTCUSDT")
    return {
        "ingest.realistic_50.events_per_s": round(eps, 1),
        "ingest.realistic_50.buffered_max": buffered,
        "ingest.realistic_50.latency_first_third_p50_ms": first,
        "ingest.realistic_50.latency_last_third_p50_ms": last,
    }
