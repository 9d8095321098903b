"""What every feed of one ingest process shares: the client, the limiter, the writer, ids."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import ccxt
import ccxt.pro
import structlog
from prometheus_client import Counter, Histogram

from breakout.common.backoff import retrying
from breakout.common.events import (
    Event,
    MarketDataGap,
    MarketDataResynced,
    NewEvent,
    md_stream,
)
from breakout.common.events.md import Feed
from breakout.common.ids import external_event_id
from breakout.ingest.ccxt_adapter import rate_checked
from breakout.ingest.config import IngestConfig
from breakout.ingest.ratelimit import Priority, RateLimited, RateLimiter
from breakout.ingest.writer import MarketDataWriter

T = TypeVar("T")
log = structlog.get_logger(__name__)
# A websocket stream lost: ccxt's own error, or the transport's. A subscription sent on a
# connection that is closing (the stale-socket watchdog closed it, the server dropped it) is
# rejected with aiohttp's ClientConnectionResetError, a ConnectionError ccxt does not wrap.
STREAM_LOST: tuple[type[BaseException], ...] = (ccxt.NetworkError, ConnectionError)

LATENCY = Histogram(
    "breakout_ingest_latency_seconds",
    "Receive time minus exchange time of md events",
    ["feed"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
)
FAULTS = Counter("breakout_ingest_faults_total", "md.gap events by feed", ["feed"])


class HistoryGate:
    """Bounds how many symbols fetch their candle history at once, and logs the progress.

    At start every feed wants its history; with hundreds of symbols, hundreds of concurrent
    klines calls only queue up at a busy exchange until ccxt's timeout, then retry together.
    Admitted in order a few at a time, each call is answered, and a slow start says how far
    it has come rather than looking hung.
    """

    LOG_EVERY_S = 10.0

    def __init__(self, concurrency: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._clock = clock
        self.started_at: float | None = None
        self.wanted = 0
        self.loaded = 0
        self._logged_at = 0.0

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the slots while one symbol's history is fetched."""
        now = self._clock()
        if self.started_at is None or self.loaded >= self.wanted:
            self.started_at, self._logged_at = now, now  # a (re)start of loading
        self.wanted += 1
        async with self._slots:
            yield
        self.loaded += 1
        now = self._clock()
        if self.loaded >= self.wanted or now - self._logged_at >= self.LOG_EVERY_S:
            self._logged_at = now
            log.info(
                "candle history loaded" if self.loaded >= self.wanted else "candle history loading",
                symbols=self.loaded,
                of=self.wanted,
                elapsed_s=round(now - self.started_at, 1),
            )


class IngestContext:
    """Shared by all symbol feeds of the process (one ccxt client, one REST rate limiter)."""

    def __init__(
        self,
        config: IngestConfig,
        client: ccxt.pro.Exchange,
        limiter: RateLimiter,
        writer: MarketDataWriter,
        now_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self.config = config
        self.client = client
        self.limiter = limiter
        self.writer = writer
        self.now_ms = now_ms
        self.producer = f"ingest.{config.group}"
        self._exchange_seen_ms = 0  # the newest exchange time a print carried
        self._seen_at_ms = 0  # our clock when it arrived
        self.clock_offset_ms = 0  # the exchange's clock minus ours, from its server time
        self.history = HistoryGate(config.history_concurrency)

    def saw_exchange_time(self, ts_ms: int) -> None:
        """Note the exchange time a print carried."""
        if ts_ms > self._exchange_seen_ms:
            self._exchange_seen_ms = ts_ms
            self._seen_at_ms = self.now_ms()

    def exchange_now_ms(self) -> int:
        """Where the feed stands on the exchange's clock: what decides that a candle is over.

        The newest print's exchange time, advanced by our clock since it arrived (so quiet
        minutes still close); before any print, our clock corrected by the exchange's server
        time (`sync_clock`). Not our clock alone: when ingest works through a backlog, or the
        exchange's clock is behind ours, our clock would close a minute while its trades are
        still on their way, leave them out of the built candle as late prints, and take the
        exchange's still-open kline for a closed one.
        """
        now = self.now_ms()
        if not self._exchange_seen_ms:
            return now + self.clock_offset_ms
        return self._exchange_seen_ms + (now - self._seen_at_ms)

    async def sync_clock(self) -> None:
        """Measure the exchange's clock against ours (its server time, at the mid round trip)."""
        sent = self.now_ms()
        server: int = await self.rest_retrying(1, Priority.LIVE, self.client.fetch_time)
        received = self.now_ms()
        self.clock_offset_ms = int(server) - (sent + received) // 2
        log.info("exchange clock", offset_ms=self.clock_offset_ms, rtt_ms=received - sent)

    async def rest(
        self, weight: float, priority: Priority, request: Callable[[], Awaitable[T]]
    ) -> T:
        """A REST call through the process's rate limiter and breaker."""
        return await self.limiter.call(weight, priority, rate_checked(self.client, request))

    async def rest_retrying(
        self, weight: float, priority: Priority, request: Callable[[], Awaitable[T]]
    ) -> T:
        """A REST call retried with backoff through network faults and rate limits.

        For calls whose data would otherwise be missing (backfills): they wait out an outage
        or an open breaker rather than give up; cancelling the caller ends the wait.
        """
        return await retrying(
            lambda: self.rest(weight, priority, request),
            (ccxt.NetworkError, RateLimited),
            what="rest call",
        )

    def record(
        self, kind: str, symbol: str, items: Sequence[tuple[tuple[Any, ...], Event]]
    ) -> None:
        """Queue events of one md stream, each with the key that makes its id deterministic."""
        if not items:
            return
        venue = self.config.venue
        stream = md_stream(kind, venue, symbol)
        now = self.now_ms()
        self.writer.put(
            stream,
            [
                NewEvent(
                    event_id=external_event_id(venue, symbol, kind, *key),
                    data=event,
                    occurred_at=_at(_source_ms(event) or now),
                    producer=self.producer,
                )
                for key, event in items
            ],
        )

    def record_gap(self, symbol: str, feed: Feed, reason: str, last_good_id: int | None) -> None:
        """Record that a feed of `symbol` lost continuity (and count it)."""
        FAULTS.labels(feed).inc()
        now = self.now_ms()
        gap = MarketDataGap(
            exchange=self.config.venue,
            symbol=symbol,
            feed=feed,
            reason=reason,
            last_good_id=last_good_id,
            detected_ts_ms=now,
        )
        self.record("gap", symbol, [((feed, now, reason), gap)])

    def record_resynced(
        self, symbol: str, feed: Feed, recovered: int, from_id: int | None, to_id: int | None
    ) -> None:
        """Record that a feed of `symbol` is continuous again."""
        now = self.now_ms()
        event = MarketDataResynced(
            exchange=self.config.venue,
            symbol=symbol,
            feed=feed,
            recovered=recovered,
            from_id=from_id,
            to_id=to_id,
            resynced_ts_ms=now,
        )
        self.record("resynced", symbol, [((feed, now, from_id, to_id), event)])


def _source_ms(event: Event) -> int | None:
    for name in ("exchange_ts_ms", "open_ts_ms", "detected_ts_ms", "resynced_ts_ms"):
        value = getattr(event, name, None)
        if value is not None:
            return int(value)
    return None


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
