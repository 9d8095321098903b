"""The regime service's httpx feeds against exchange_sim's macro world over real HTTP, into a
real Postgres store: observations with source times, no duplicates on re-poll, and every fault
(bad key, 500, 429 with Retry-After, malformed JSON, timeout) recorded as `macro.feed_failed`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiohttp import web

from breakout.common.clock import SimulatedClock
from breakout.common.config import InfraSettings
from breakout.common.events.regime import (
    MacroFeedFailed,
    MacroFeedRecovered,
    MacroObserved,
    NewsObserved,
    feed_stream,
    macro_stream,
    news_stream,
)
from breakout.common.store.postgres import PostgresEventStore
from breakout.exchange_sim.macro import MacroWorld, segment, setup_macro_routes
from breakout.regime.http_coingecko import CoinGeckoFeed
from breakout.regime.http_common import Feed
from breakout.regime.http_newsapi import NewsApiFeed
from breakout.regime.http_twelvedata import TwelveDataFeed
from breakout.regime.poller import FeedPoller, PollerConfig
from tests.integration.stacks import fresh_database

pytestmark = pytest.mark.integration

WORLD_START = datetime(2026, 1, 5, tzinfo=UTC)
HOUR_MS = 3_600_000
NO_RETRY = PollerConfig(interval_s=3600.0, min_interval_s=0.0, retries=0)


@asynccontextmanager
async def serve_world(world: MacroWorld, prefix: str = "") -> AsyncIterator[str]:
    """Serve `world`'s feeds on a free loopback port; yield the base URL."""
    app = web.Application()
    setup_macro_routes(app, world, prefix=prefix)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}{prefix}"
    finally:
        await runner.cleanup()


def feeds(
    base: str,
    *,
    twelvedata_key: str = "sim-twelvedata-key",
    newsapi_key: str = "sim-newsapi-key",
    coingecko_key: str | None = None,
) -> list[Feed]:
    """The three feeds pointed at a served world."""
    return [
        TwelveDataFeed(f"{base}/twelvedata", twelvedata_key),
        CoinGeckoFeed(f"{base}/coingecko/api/v3", coingecko_key),
        NewsApiFeed(f"{base}/newsapi/v2", newsapi_key),
    ]


@dataclass
class Rig:
    """A world behind HTTP, its clock, a Postgres store and pollers for each feed."""

    world: MacroWorld
    clock: SimulatedClock
    store: PostgresEventStore
    base: str
    client: httpx.AsyncClient

    def poller(self, feed: Feed, config: PollerConfig = NO_RETRY) -> FeedPoller:
        return FeedPoller(feed, self.store, self.client, self.clock, config)


@asynccontextmanager
async def rig(
    infra: InfraSettings, client_timeout_s: float = 2.0, **world_args: object
) -> AsyncIterator[Rig]:
    """A fresh rig (its own database), the world 30 h and 20 min into a risk-on day."""
    clock = SimulatedClock(WORLD_START + timedelta(hours=30, minutes=20))
    world = MacroWorld(
        seed=11,
        clock=clock,
        start=WORLD_START,
        script=[segment("risk_on", 48)],
        **world_args,  # type: ignore[arg-type]
    )
    async with fresh_database(infra) as dsn, serve_world(world) as base:
        store = await PostgresEventStore.connect(dsn)
        try:
            async with httpx.AsyncClient(timeout=client_timeout_s) as client:
                yield Rig(world, clock, store, base, client)
        finally:
            await store.close()


async def _count(store: PostgresEventStore) -> int:
    return len(await store.read_all(limit=100_000))


async def test_polls_record_observations_with_source_times_once(infra: InfraSettings) -> None:
    async with rig(infra) as r:
        pollers = [r.poller(f) for f in feeds(r.base)]
        for poller in pollers:
            assert (await poller.poll_once()).failure is None

        dxy = [e.data for e in await r.store.read_stream(macro_stream("DXY"))]
        # outputsize 30: hours 1..30, of which hour 30 is still running and not observed.
        assert len(dxy) == 29
        assert all(isinstance(d, MacroObserved) for d in dxy)
        closes = [r.world.dxy_candle(h).close for h in range(1, 30)]
        assert [d.value for d in dxy] == pytest.approx(closes, abs=5e-6)  # 5 decimals on the wire
        start_ms = r.world.start_ms
        assert [d.source_ts_ms for d in dxy] == [start_ms + (h + 1) * HOUR_MS for h in range(1, 30)]
        now_ms = r.world.now_ms()
        assert {d.received_ts_ms for d in dxy} == {now_ms}

        (btcd,) = [e.data for e in await r.store.read_stream(macro_stream("BTCD"))]
        assert isinstance(btcd, MacroObserved)
        updated_ms = now_ms - now_ms % 600_000  # CoinGecko refreshes every 10 minutes
        assert btcd.source_ts_ms == updated_ms
        assert btcd.value == pytest.approx(r.world.btc_dominance(updated_ms))

        news = [e.data for e in await r.store.read_stream(news_stream("newsapi"))]
        assert news
        assert all(isinstance(n, NewsObserved) for n in news)
        assert len({n.url for n in news}) == len(news)  # type: ignore[attr-defined]
        assert all(n.published_ts_ms <= now_ms for n in news)  # type: ignore[attr-defined]

        # A re-poll at the same moment records nothing new.
        before = await _count(r.store)
        for poller in pollers:
            assert (await poller.poll_once()).failure is None
        assert await _count(r.store) == before

        # An hour later: one more candle, one more dominance value, the hour's news.
        r.clock.advance(3600)
        for poller in pollers:
            await poller.poll_once()
        assert len(await r.store.read_stream(macro_stream("DXY"))) == 30
        assert len(await r.store.read_stream(macro_stream("BTCD"))) == 2
        assert await _count(r.store) > before + 2


@pytest.mark.parametrize("source", ["twelvedata", "coingecko", "newsapi"])
async def test_a_bad_key_is_an_auth_failure_event(infra: InfraSettings, source: str) -> None:
    async with rig(infra, coingecko_key="right-key") as r:
        wrong = feeds(r.base, twelvedata_key="wrong", newsapi_key="wrong", coingecko_key="wrong")
        feed = next(f for f in wrong if f.source == source)
        result = await r.poller(feed).poll_once()
        failure = result.failure
        assert failure is not None
        assert (failure.reason, failure.http_status) == ("auth", 401)
        said = {"twelvedata": "apikey", "coingecko": "10002", "newsapi": "apiKeyInvalid"}[source]
        assert said in failure.detail
        assert "wrong" not in failure.detail  # the key never lands in the log
        (stored,) = await r.store.read_stream(feed_stream(feed.source))
        assert stored.data == failure


FaultCheck = Callable[[MacroFeedFailed], bool]


@pytest.mark.parametrize(
    ("kind", "check"),
    [
        ("http_500", lambda f: f.reason == "http_status" and f.http_status == 500),
        ("malformed", lambda f: f.reason == "malformed"),
        ("timeout", lambda f: f.reason == "timeout"),
    ],
)
async def test_faults_are_recorded_and_the_feed_recovers(
    infra: InfraSettings, kind: str, check: FaultCheck
) -> None:
    async with rig(infra, client_timeout_s=0.3 if kind == "timeout" else 2.0) as r:
        for feed in feeds(r.base):
            r.world.inject_fault(feed.source, kind, count=2, delay_s=1.0)  # type: ignore[arg-type]
            poller = r.poller(feed)
            first = (await poller.poll_once()).failure
            second = (await poller.poll_once()).failure
            assert first is not None and check(first), first
            assert second is not None and second.consecutive_failures == 2
            assert second.last_success_ts_ms is None
            assert (await poller.poll_once()).failure is None
            events = [e.data for e in await r.store.read_stream(feed_stream(feed.source))]
            assert [type(e) for e in events] == [
                MacroFeedFailed,
                MacroFeedFailed,
                MacroFeedRecovered,
            ]
            recovered = events[2]
            assert isinstance(recovered, MacroFeedRecovered)
            assert recovered.failed_polls == 2


async def test_retries_within_a_poll_hide_a_single_glitch(infra: InfraSettings) -> None:
    async with rig(infra) as r:
        feed = feeds(r.base)[0]
        r.world.inject_fault("twelvedata", "http_500")
        poller = FeedPoller(
            feed,
            r.store,
            r.client,
            r.clock,
            PollerConfig(interval_s=3600.0, min_interval_s=0.0, retries=1, retry_backoff_s=0.01),
        )
        result = await poller.poll_once()
        assert result.failure is None
        assert result.observed == 29
        assert r.world.requests["twelvedata"] == 2
        assert await r.store.read_stream(feed_stream("twelvedata")) == []


async def test_429_is_recorded_and_retry_after_is_honoured(infra: InfraSettings) -> None:
    async with rig(infra) as r:
        feed = feeds(r.base)[1]
        r.world.inject_fault("coingecko", "rate_limit", retry_after_s=120)
        poller = r.poller(feed)
        failure = (await poller.poll_once()).failure
        assert failure is not None
        assert (failure.reason, failure.http_status, failure.retry_after_s) == (
            "rate_limited",
            429,
            120.0,
        )
        assert "Rate Limit" in failure.detail
        assert r.world.requests["coingecko"] == 1

        r.clock.advance(60)  # still inside the window the source asked for: no request at all
        skipped = await poller.poll_once()
        assert skipped.skipped_for_s == pytest.approx(60.0)
        assert r.world.requests["coingecko"] == 1

        r.clock.advance(61)
        assert (await poller.poll_once()).observed == 1
        assert r.world.requests["coingecko"] == 2
