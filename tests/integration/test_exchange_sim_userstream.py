"""ccxt.pro's private streams (orders, balance, my trades) over the websocket API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import ccxt.pro as ccxtpro
import pytest

from breakout.exchange_sim.testing import RunningSim, ccxt_config, running_sim

pytestmark = pytest.mark.integration


@pytest.fixture
async def sim() -> AsyncIterator[RunningSim]:
    async with running_sim(["BTCUSDT"], history_days=0.05) as running:
        yield running


@pytest.fixture
async def pro(sim: RunningSim) -> AsyncIterator[ccxtpro.binance]:
    exchange = ccxtpro.binance(ccxt_config(sim.base_url, sim.api_key, sim.api_secret))
    await exchange.load_markets()
    yield exchange
    await exchange.close()


async def _subscribed(pro: ccxtpro.binance, watch: asyncio.Future[object]) -> None:
    """Wait until ccxt's user data stream subscription is acknowledged (before trading)."""
    client = pro.client(pro.urls["api"]["ws"]["ws-api"]["spot"])
    while True:
        assert not watch.done(), watch
        pending = client.futures.get("authenticate:signature:spot")
        if client.subscriptions.get("spot") is True and (pending is None or pending.done()):
            return
        await asyncio.sleep(0.01)


async def test_watch_orders_reports_a_placed_then_cancelled_order(pro: ccxtpro.binance) -> None:
    watch = asyncio.ensure_future(pro.watch_orders("BTC/USDT"))
    await _subscribed(pro, watch)
    order = await pro.create_order("BTC/USDT", "limit", "buy", 0.01, 50_000)
    await pro.cancel_order(order["id"], "BTC/USDT")
    await watch
    # Updates that land between two watch calls go to ccxt's cache, not to a watcher.
    while (latest := {o["id"]: o for o in pro.orders})[order["id"]]["status"] != "canceled":
        await pro.watch_orders("BTC/USDT")
    update = latest[order["id"]]
    assert (update["price"], update["amount"], update["filled"]) == (50_000, 0.01, 0)


async def test_watch_my_trades_and_balance_after_a_market_order(pro: ccxtpro.binance) -> None:
    trades_watch = asyncio.ensure_future(pro.watch_my_trades("BTC/USDT"))
    await _subscribed(pro, trades_watch)
    balance_watch = asyncio.ensure_future(pro.watch_balance())
    order = await pro.create_order("BTC/USDT", "market", "buy", 0.01)
    trades = await trades_watch
    assert {t["order"] for t in trades} == {order["id"]}
    assert sum(t["amount"] for t in trades) == pytest.approx(0.01)
    assert trades[0]["fee"]["currency"] == "BTC"
    balance = await balance_watch
    assert balance["BTC"]["free"] == pytest.approx(0.01 * 0.999)
    assert balance["USDT"]["free"] == pytest.approx(100_000 - order["cost"])


async def test_wrong_secret_is_refused_on_the_user_stream(sim: RunningSim) -> None:
    import aiohttp

    from breakout.exchange_sim.signing import sign

    params = {"apiKey": sim.api_key, "timestamp": int(time.time() * 1000)}
    payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"ws://127.0.0.1:{sim.port}/ws-api/v3") as ws,
    ):
        for secret, expected in ((sim.api_secret, 200), ("wrong-secret", 400)):
            signed = {**params, "signature": sign(secret, payload)}
            await ws.send_json(
                {"id": secret, "method": "userDataStream.subscribe.signature", "params": signed}
            )
            reply = await ws.receive_json()
            assert (reply["id"], reply["status"]) == (secret, expected)
        assert reply["error"] == {"code": -1022, "msg": "Signature for this request is not valid."}
    exchange = ccxtpro.binance(ccxt_config(sim.base_url, sim.api_key, "wrong-secret"))
    try:
        await exchange.load_markets()
        # ccxt 4.5 raises AuthenticationError from the reply, then trips over its own cleanup
        # (a KeyError): either way the watch fails.
        with pytest.raises((ccxtpro.AuthenticationError, KeyError)):
            await exchange.watch_orders("BTC/USDT")
    finally:
        await exchange.close()
