"""Ingest against exchange_sim through the real ccxt / ccxt.pro, into a real Postgres store."""

from __future__ import annotations

from typing import Any

import ccxt.pro
import pytest
from structlog.testing import capture_logs

from breakout.common.bus import ConsumerConfig, NatsBus
from breakout.common.config import InfraSettings
from breakout.common.events import (
    BookSnapshot,
    Candle,
    MarketDataGap,
    MarketDataResynced,
    MarketTrade,
    Ticker24h,
    decode_wire,
    md_stream,
)
from breakout.common.exchange import ccxt_config
from breakout.common.leader import InMemoryLeaderLock
from breakout.common.relay import Relay
from breakout.common.store import PostgresEventStore
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

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


async def _trades(dsn: str, venue: str, symbol: str) -> list[MarketTrade]:
    events = await stream_events(dsn, "trade", venue, symbol)
    return [e.data for e in events if isinstance(e.data, MarketTrade)]


async def _of(dsn: str, kind: str, venue: str, symbol: str, cls: type[Any]) -> list[Any]:
    return [
        e.data for e in await stream_events(dsn, kind, venue, symbol) if isinstance(e.data, cls)
    ]


async def _exchange_trades(base_url: str, symbol: str, from_id: int, count: int) -> list[Any]:
    client = ccxt.pro.binance(ccxt_config("binance", base_url, enable_rate_limit=False))
    try:
        out: list[Any] = []
        while len(out) < count:
            page = await client.fetch_trades(
                symbol, limit=1000, params={"fromId": from_id + len(out)}
            )
            if not page:
                break
            out += page
        return out[:count]
    finally:
        await client.close()


async def test_trades_books_candles_and_tickers_arrive_with_the_exchanges_values(
    store_dsn: str,  # noqa: F811
) -> None:
    venue = unique_venue()
    async with running_sim(["BTCUSDT", "ETHUSDT"], seed=3, speed=20) as sim:
        config = ingest_config(sim.base_url, venue, {"all": ("BTCUSDT", "ETHUSDT")}, "all")
        async with running_ingest(config, store_dsn):

            async def built_candles() -> bool:
                candles = await _of(store_dsn, "candle.1m", venue, "BTCUSDT", Candle)
                return sum(c.source == "trades" for c in candles) >= 2

            await wait_until(built_candles, timeout_s=60)
        trades = await _trades(store_dsn, venue, "BTCUSDT")
        assert len(trades) > 20
        assert_consecutive([t.trade_id for t in trades])
        truth = await _exchange_trades(sim.base_url, "BTC/USDT", trades[0].trade_id, len(trades))
        assert [(t.trade_id, t.price, t.qty, t.side, t.exchange_ts_ms) for t in trades] == [
            (int(x["id"]), x["price"], x["amount"], x["side"], x["timestamp"]) for x in truth
        ]

        books = await _of(store_dsn, "book", venue, "ETHUSDT", BookSnapshot)
        assert len(books) >= 3
        assert all(b.bids[0][0] < b.asks[0][0] for b in books)
        assert [b.sequence for b in books] == sorted({b.sequence for b in books})
        assert all(0 < len(b.bids) <= 20 and 0 < len(b.asks) <= 20 for b in books)
        assert max(len(b.bids) for b in books) == 20  # a full top-20 once the book is deep
        assert all(b.bids == sorted(b.bids, reverse=True) for b in books)
        assert all(b.asks == sorted(b.asks) for b in books)

        candles = await _of(store_dsn, "candle.1m", venue, "BTCUSDT", Candle)
        opens = [c.open_ts_ms for c in candles]
        assert opens == sorted(set(opens)), "candles out of order or repeated"
        assert sum(c.source == "exchange" for c in candles) >= 25  # the history backfill
        client = ccxt.pro.binance(ccxt_config("binance", sim.base_url, enable_rate_limit=False))
        try:
            for candle in [c for c in candles if c.source == "trades"]:
                (kline,) = await client.fetch_ohlcv(
                    "BTC/USDT", "1m", since=candle.open_ts_ms, limit=1
                )
                assert kline[0] == candle.open_ts_ms
                assert (candle.open, candle.high, candle.low, candle.close) == tuple(kline[1:5])
                assert candle.volume == pytest.approx(kline[5], rel=1e-9)
        finally:
            await client.close()

        tickers = await _of(store_dsn, "ticker", venue, "BTCUSDT", Ticker24h)
        assert tickers
        assert tickers[-1].high >= tickers[-1].last >= tickers[-1].low > 0


async def test_an_exchange_clock_behind_ours_still_gives_whole_candles(
    store_dsn: str,  # noqa: F811
) -> None:
    # The exchange's clock ten minutes behind ours (as a backlog would look): candles must
    # close on the exchange's time, not ours, or every minute's trades arrive as late prints
    # and the still-open kline is taken for a closed one.
    venue = unique_venue()
    behind_ms = 600_000
    start_ms = wall_clock_ms() - behind_ms
    async with running_sim(["BTCUSDT"], seed=5, speed=12, start_ms=start_ms) as sim:
        config = ingest_config(sim.base_url, venue, {"all": ("BTCUSDT",)}, "all")
        with capture_logs() as logs:
            async with running_ingest(config, store_dsn):

                async def built_candles() -> bool:
                    candles = await _of(store_dsn, "candle.1m", venue, "BTCUSDT", Candle)
                    return sum(c.source == "trades" for c in candles) >= 3

                await wait_until(built_candles, timeout_s=90)
        (clock,) = [e for e in logs if e["event"] == "exchange clock"]
        assert clock["offset_ms"] < -behind_ms // 2
        candles = await _of(store_dsn, "candle.1m", venue, "BTCUSDT", Candle)
        client = ccxt.pro.binance(ccxt_config("binance", sim.base_url, enable_rate_limit=False))
        try:
            exchange_now = await client.fetch_time()
            assert candles[-1].close_ts_ms < exchange_now  # nothing still open was recorded
            for candle in candles[-6:]:
                (kline,) = await client.fetch_ohlcv(
                    "BTC/USDT", "1m", since=candle.open_ts_ms, limit=1
                )
                got = (candle.open_ts_ms, candle.open, candle.high, candle.low, candle.close)
                assert got == tuple(kline[:5]), candle.source
                assert candle.volume == pytest.approx(kline[5], rel=1e-9)
        finally:
            await client.close()
    mismatches = await stream_events(store_dsn, "candle_mismatch", venue, "BTCUSDT")
    assert mismatches == []


async def test_recorded_market_data_reaches_the_bus_in_store_order(
    store_dsn: str,  # noqa: F811
    infra: InfraSettings,
    bus_prefix: str,
) -> None:
    venue = unique_venue()
    async with running_sim(["SOLUSDT"], seed=6, trade_rate_multiplier=3) as sim:
        config = ingest_config(sim.base_url, venue, {"g": ("SOLUSDT",)}, "g")
        async with running_ingest(config, store_dsn):

            async def some() -> bool:
                return len(await _trades(store_dsn, venue, "SOLUSDT")) >= 10

            await wait_until(some)
    store = await PostgresEventStore.connect(store_dsn)
    bus = await NatsBus.connect(infra.nats_url, prefix=bus_prefix)
    try:
        await bus.ensure_stream()
        await Relay(store, bus, InMemoryLeaderLock("relay")).publish_pending()
        subjects = (f"md.trade.{venue}.SOLUSDT", f"md.book.{venue}.SOLUSDT")
        pull = await bus.pull_consumer(ConsumerConfig(durable="md-check", filter_subjects=subjects))
        stored = await store.read_stream(md_stream("trade", venue, "SOLUSDT"))
        stored += await store.read_stream(md_stream("book", venue, "SOLUSDT"))
        on_bus = []
        # Read until the bus has given as many as the store holds (or stays silent a while:
        # an empty fetch on a loaded machine is not yet the end of the stream).
        quiet = 0
        while len(on_bus) < len(stored) and quiet < 5:
            batch = await pull.fetch(500, timeout_s=2)
            quiet = 0 if batch else quiet + 1
            on_bus += [decode_wire(m.data) for m in batch]
            for m in batch:
                await m.ack()
        on_bus += [decode_wire(m.data) for m in await pull.fetch(500, timeout_s=1)]  # no extra
        assert {e.subject() for e in (s.data for s in stored)} == set(subjects)
        # Every stored md event is on the bus once, with the same payload, in store order.
        assert [m.event_id for m in on_bus] == [
            e.event_id for e in sorted(stored, key=lambda e: e.position)
        ]
        assert [m.decode().data for m in on_bus] == [
            e.data for e in sorted(stored, key=lambda e: e.position)
        ]
    finally:
        await bus.delete_stream()
        await bus.close()
        await store.close()


async def test_a_dropped_websocket_loses_no_trade(store_dsn: str) -> None:  # noqa: F811
    venue = unique_venue()
    async with running_sim(["BTCUSDT"], seed=5, trade_rate_multiplier=5) as sim:
        config = ingest_config(sim.base_url, venue, {"g": ("BTCUSDT",)}, "g")
        async with running_ingest(config, store_dsn):

            async def some_trades() -> bool:
                return len(await _trades(store_dsn, venue, "BTCUSDT")) >= 20

            await wait_until(some_trades)
            await sim.fault("drop_ws")
            before = len(await _trades(store_dsn, venue, "BTCUSDT"))

            async def resynced() -> bool:
                events = await _of(store_dsn, "resynced", venue, "BTCUSDT", MarketDataResynced)
                return (
                    any(e.feed == "trades" for e in events)
                    and len(await _trades(store_dsn, venue, "BTCUSDT")) > before + 20
                )

            await wait_until(resynced)
        trades = await _trades(store_dsn, venue, "BTCUSDT")
        assert_consecutive([t.trade_id for t in trades])
        gaps = await _of(store_dsn, "gap", venue, "BTCUSDT", MarketDataGap)
        assert any(g.feed == "trades" and "lost" in g.reason for g in gaps)
        truth = await _exchange_trades(sim.base_url, "BTC/USDT", trades[0].trade_id, len(trades))
        assert [t.trade_id for t in trades] == [int(x["id"]) for x in truth]


async def test_a_skipped_depth_id_resyncs_the_book_and_it_never_crosses(
    store_dsn: str,  # noqa: F811
) -> None:
    venue = unique_venue()
    async with running_sim(["ETHUSDT"], seed=8) as sim:
        config = ingest_config(sim.base_url, venue, {"g": ("ETHUSDT",)}, "g")
        async with running_ingest(config, store_dsn):

            async def books() -> bool:
                return len(await _of(store_dsn, "book", venue, "ETHUSDT", BookSnapshot)) >= 3

            await wait_until(books)
            await sim.fault("skip_depth", symbol="ETHUSDT", count=5)

            async def resynced() -> bool:
                events = await _of(store_dsn, "resynced", venue, "ETHUSDT", MarketDataResynced)
                return any(e.feed == "book" for e in events)

            await wait_until(resynced)
            await wait_until(books)
        gaps = await _of(store_dsn, "gap", venue, "ETHUSDT", MarketDataGap)
        assert any(g.feed == "book" and "update id gap" in g.reason for g in gaps)
        snapshots = await _of(store_dsn, "book", venue, "ETHUSDT", BookSnapshot)
        assert all(b.bids[0][0] < b.asks[0][0] for b in snapshots)
        resync = next(
            e
            for e in await _of(store_dsn, "resynced", venue, "ETHUSDT", MarketDataResynced)
            if e.feed == "book"
        )
        assert resync.to_id is not None and resync.from_id is not None
        assert resync.to_id > resync.from_id
