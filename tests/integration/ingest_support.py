"""Running the ingest service in-process against exchange_sim and a real Postgres store."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from breakout.common.events import RecordedEvent, md_stream
from breakout.common.exchange import ccxt_config, pro_exchange
from breakout.common.store import PostgresEventStore
from breakout.ingest.config import IngestConfig
from breakout.ingest.context import IngestContext
from breakout.ingest.ratelimit import RateLimiter
from breakout.ingest.service import IngestService
from breakout.ingest.writer import MarketDataWriter


def unique_venue() -> str:
    """A venue name no other test uses, so md streams never collide in the shared database."""
    return f"sim{uuid.uuid4().hex[:8]}"


def ingest_config(
    base_url: str, venue: str, groups: dict[str, tuple[str, ...]], group: str, **kw: Any
) -> IngestConfig:
    """A fast-cadence config for tests (short staleness, one-second book snapshots)."""
    defaults: dict[str, Any] = {
        "book_interval_ms": 200,
        "ticker_interval_s": 1.0,
        "stale_after_s": 3.0,
        "candle_history_bars": 30,
        "timeframes": ("1m",),
    }
    defaults.update(kw)
    return IngestConfig(base_url=base_url, venue=venue, groups=groups, group=group, **defaults)


@asynccontextmanager
async def running_ingest(
    config: IngestConfig, dsn: str, *, capacity: float = 5000.0
) -> AsyncIterator[IngestService]:
    """Run an ingest service until the block ends, then stop it (flushing what it holds)."""
    store = await PostgresEventStore.connect(dsn)
    client = pro_exchange(
        "binance", ccxt_config("binance", config.base_url, enable_rate_limit=False)
    )
    writer = MarketDataWriter(store, config.group, flush_interval_s=0.05)
    service = IngestService(
        IngestContext(config, client, RateLimiter(capacity, 60.0), writer), store
    )
    task = asyncio.create_task(service.run())
    try:
        yield service
        if task.done():
            task.result()  # surface a crash of the service inside the block
    finally:
        service.stop()
        await asyncio.wait_for(task, 20)
        await store.close()


async def stream_events(dsn: str, kind: str, venue: str, symbol: str) -> list[RecordedEvent]:
    """Every event of one md stream, in stream order."""
    store = await PostgresEventStore.connect(dsn)
    try:
        return await store.read_stream(md_stream(kind, venue, symbol))
    finally:
        await store.close()


async def wait_until(predicate: Any, timeout_s: float = 30.0, every_s: float = 0.25) -> None:
    """Poll an async predicate until it is true (a test fails with a clear message otherwise)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        if await predicate():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s: {predicate.__name__}")
        await asyncio.sleep(every_s)


def assert_consecutive(ids: Sequence[int]) -> None:
    """Trade ids recorded with no hole and no repeat."""
    assert len(ids) == len(set(ids)), "a trade was recorded twice"
    assert list(ids) == list(range(ids[0], ids[0] + len(ids))), "a trade id is missing"
