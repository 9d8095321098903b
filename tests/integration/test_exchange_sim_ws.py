"""The real ccxt.pro (websockets) against the exchange simulator with its clock running."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import ccxt.pro as ccxtpro
import pytest

from breakout.exchange_sim.testing import RunningSim, ccxt_config, running_sim

pytestmark = pytest.mark.integration


@pytest.fixture
async def sim() -> AsyncIterator[RunningSim]:
    async with running_sim(
        ["BTCUSDT", "ETHUSDT"], trade_rate_multiplier=3.0, history_days=0.1
    ) as s:
        yield s


@pytest.fixture
async def pro(sim: RunningSim) -> AsyncIterator[ccxtpro.binance]:
    exchange = ccxtpro.binance(ccxt_config(sim.base_url))
    yield exchange
    await exchange.close()


async def test_watch_trades_receives_every_trade_in_order(pro: ccxtpro.binance) -> None:
    ids: list[int] = []
    while len(ids) < 100:
        ids += [int(t["id"]) for t in await pro.watch_trades("BTC/USDT")]
    assert ids == list(range(ids[0], ids[0] + len(ids)))


async def test_watch_order_book_stays_continuous_and_uncrossed(pro: ccxtpro.binance) -> None:
    nonces: list[int] = []
    for _ in range(30):
        book = await pro.watch_order_book("BTC/USDT")
        assert book["bids"][0][0] < book["asks"][0][0]
        nonces.append(book["nonce"])
    assert nonces == sorted(nonces) and nonces[-1] > nonces[0]


async def test_ccxt_book_equals_the_exchange_book_at_the_same_update_id(
    sim: RunningSim, pro: ccxtpro.binance
) -> None:
    """Snapshot plus diffs, as ccxt applies them, give the book the exchange holds."""
    feed = sim.exchange.feeds["ETHUSDT"]
    spec = feed.spec
    compared = 0
    for _ in range(300):
        book = await pro.watch_order_book("ETH/USDT")
        # Nothing awaits between the watch returning and these reads, but the exchange may have
        # stepped past the diff ccxt just applied: compare only when both stand at the same id.
        if book["nonce"] != feed.book.update_id:
            continue
        for side, is_bid in (("bids", True), ("asks", False)):
            levels = [
                [float(spec.price(p)), float(spec.qty(q))] for p, q in feed.book.levels(is_bid, 20)
            ]
            assert book[side][:20] == levels
        compared += 1
        if compared == 5:
            break
    assert compared == 5


async def test_skipped_depth_ids_make_ccxt_raise_then_resync(
    sim: RunningSim, pro: ccxtpro.binance
) -> None:
    for _ in range(5):
        await pro.watch_order_book("BTC/USDT")
    await sim.fault("skip_depth", symbol="BTCUSDT", count=7)
    with pytest.raises(ccxtpro.InvalidNonce):  # ccxt raises ChecksumError, an InvalidNonce
        for _ in range(50):
            await pro.watch_order_book("BTC/USDT")
    book = await pro.watch_order_book("BTC/USDT")  # subscribes again: a fresh snapshot
    for _ in range(5):
        book = await pro.watch_order_book("BTC/USDT")
    assert book["bids"][0][0] < book["asks"][0][0]


async def test_dropped_connection_fails_pending_watches_and_ccxt_reconnects(
    sim: RunningSim, pro: ccxtpro.binance
) -> None:
    before = [int(t["id"]) for t in await pro.watch_trades("BTC/USDT")]
    await pro.watch_ticker("BTC/USDT")
    # A ticker comes once a second, so this watch is almost surely still waiting at the drop;
    # try a few times in case a ticker slipped in first.
    failures = 0
    for _ in range(5):
        pending = asyncio.ensure_future(pro.watch_ticker("BTC/USDT"))
        await asyncio.sleep(0.05)
        dropped = await sim.fault("drop_ws")
        assert dropped["dropped"] >= 1
        try:
            await pending
        except ccxtpro.NetworkError:
            failures += 1
            break
    assert failures == 1
    after: list[int] = []
    while not after or after[-1] <= before[-1]:
        after += [int(t["id"]) for t in await pro.watch_trades("BTC/USDT")]  # new connections
    assert after[-1] > before[-1]
    state = await sim.state()
    assert state["connections"] >= 1
    assert state["connections_accepted"] > 2


async def test_subscribe_is_acknowledged_and_streams_can_be_listed(sim: RunningSim) -> None:
    import aiohttp

    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"ws://127.0.0.1:{sim.port}/ws") as ws,
    ):
        await ws.send_json(
            {"method": "SUBSCRIBE", "params": ["btcusdt@aggTrade", "ethusdt@depth"], "id": 1}
        )
        replies = []
        async for msg in ws:
            data = msg.json()
            if "id" in data:
                replies.append(data)
                if len(replies) == 1:
                    await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 2})
                else:
                    break
        assert replies[0] == {"result": None, "id": 1}
        assert replies[1] == {"result": ["btcusdt@aggTrade", "ethusdt@depth"], "id": 2}
        await ws.send_json({"method": "SUBSCRIBE", "params": ["nope@trade"], "id": 3})
        async for msg in ws:
            data = msg.json()
            if data.get("id") == 3:
                assert data["error"]["code"] == 2
                break


async def test_combined_stream_wraps_payloads(sim: RunningSim) -> None:
    import aiohttp

    url = f"ws://127.0.0.1:{sim.port}/stream?streams=btcusdt@trade/ethusdt@depth@100ms"
    seen: set[str] = set()
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        async for msg in ws:
            data = msg.json()
            seen.add(data["stream"])
            assert data["data"]["e"] in ("trade", "depthUpdate")
            if seen == {"btcusdt@trade", "ethusdt@depth@100ms"}:
                break


async def test_ws_trade_ids_match_the_rest_backfill_endpoints(sim: RunningSim) -> None:
    """Backfill by id: @aggTrade ids are aggTrades ids, @trade ids are historicalTrades ids."""
    config = ccxt_config(sim.base_url, sim.api_key, sim.api_secret)
    config["options"]["watchTrades"] = {"name": "aggTrade"}
    agg_ws = ccxtpro.binance(config)
    trade_ws = ccxtpro.binance(ccxt_config(sim.base_url, sim.api_key, sim.api_secret))
    try:
        aggs: list[dict[str, object]] = []
        while len(aggs) < 30:
            aggs += await agg_ws.watch_trades("BTC/USDT")
        backfill = await agg_ws.fetch_trades("BTC/USDT", limit=30, params={"fromId": aggs[0]["id"]})
        assert [t["id"] for t in backfill] == [t["id"] for t in aggs[:30]]
        assert [t["amount"] for t in backfill] == [t["amount"] for t in aggs[:30]]
        trades: list[dict[str, object]] = []
        while len(trades) < 30:
            trades += await trade_ws.watch_trades("BTC/USDT")
        history = await trade_ws.fetch_trades(
            "BTC/USDT",
            limit=30,
            params={"fetchTradesMethod": "publicGetHistoricalTrades", "fromId": trades[0]["id"]},
        )
        assert [t["id"] for t in history] == [t["id"] for t in trades[:30]]
    finally:
        await agg_ws.close()
        await trade_ws.close()


async def test_stall_sends_nothing_then_resumes_with_a_gap(
    sim: RunningSim, pro: ccxtpro.binance
) -> None:
    ids = [int(t["id"]) for t in await pro.watch_trades("BTC/USDT")]
    await sim.fault("stall_ws", seconds=1.0)
    # Trades already queued before the stall still arrive; those of the stall never do.
    while not any(b - a > 1 for a, b in itertools.pairwise(ids)):
        ids += [int(t["id"]) for t in await pro.watch_trades("BTC/USDT")]
    assert ids == sorted(ids)
    assert (await sim.state())["connections_accepted"] == 1  # the same connection carried on


async def test_watch_ohlcv_and_bids_asks(pro: ccxtpro.binance) -> None:
    candles = await pro.watch_ohlcv("BTC/USDT", "1m")
    assert candles and candles[-1][0] % 60_000 == 0
    top = await pro.watch_bids_asks(["BTC/USDT"])
    assert top["BTC/USDT"]["bid"] < top["BTC/USDT"]["ask"]
