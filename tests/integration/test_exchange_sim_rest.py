"""Binance REST details over real HTTP: parameters, error shapes, signed endpoints, /_sim."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import ccxt.async_support as ccxt
import httpx
import pytest
from aiohttp import web

from breakout.exchange_sim.accounts import AccountConfig, Accounts
from breakout.exchange_sim.exchange import SimExchange
from breakout.exchange_sim.market import MarketConfig
from breakout.exchange_sim.signing import sign
from breakout.exchange_sim.state import wall_clock_ms
from breakout.exchange_sim.testing import (
    TEST_API_KEY,
    TEST_API_SECRET,
    RunningSim,
    ccxt_config,
    running_sim,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def sim() -> AsyncIterator[RunningSim]:
    start = wall_clock_ms() - 5 * 60_000
    accounts = Accounts(
        [
            AccountConfig(
                api_key=TEST_API_KEY, secret=TEST_API_SECRET, balances={"USDT": Decimal(10_000)}
            )
        ]
    )
    exchange = SimExchange.simulated(
        ["BTCUSDT"], start_ms=start, config=MarketConfig(seed=5, history_days=1), accounts=accounts
    )
    exchange.advance_to(start + 4 * 60_000)
    async with running_sim(exchange=exchange, run_clock=False) as running:
        yield running


@pytest.fixture
async def http(sim: RunningSim) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.base_url) as client:
        yield client


async def signed(http: httpx.AsyncClient, method: str, path: str, **params: Any) -> httpx.Response:
    query = urlencode({**params, "timestamp": int(time.time() * 1000)})
    body = f"{query}&signature={sign(TEST_API_SECRET, query)}"
    headers = {"X-MBX-APIKEY": TEST_API_KEY}
    if method in ("GET", "DELETE"):
        return await http.request(method, f"{path}?{body}", headers=headers)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return await http.request(method, path, content=body, headers=headers)


async def test_agg_trades_by_id_and_by_time(sim: RunningSim, http: httpx.AsyncClient) -> None:
    latest = (await http.get("/api/v3/aggTrades", params={"symbol": "BTCUSDT", "limit": 50})).json()
    first = latest[0]["a"]
    by_id = (
        await http.get(
            "/api/v3/aggTrades", params={"symbol": "BTCUSDT", "fromId": first, "limit": 50}
        )
    ).json()
    assert by_id == latest
    window = {
        "symbol": "BTCUSDT",
        "startTime": latest[10]["T"],
        "endTime": latest[20]["T"],
        "limit": 1000,
    }
    by_time = (await http.get("/api/v3/aggTrades", params=window)).json()
    assert by_time[0]["T"] >= latest[10]["T"] and by_time[-1]["T"] <= latest[20]["T"]
    assert {t["a"] for t in latest[10:21]} <= {t["a"] for t in by_time}
    too_long = {**window, "endTime": latest[10]["T"] + 3_600_001}
    response = await http.get("/api/v3/aggTrades", params=too_long)
    assert response.status_code == 400 and response.json()["code"] == -1127


async def test_historical_trades_need_a_known_key(http: httpx.AsyncClient) -> None:
    recent = (await http.get("/api/v3/trades", params={"symbol": "BTCUSDT", "limit": 5})).json()
    params = {"symbol": "BTCUSDT", "fromId": recent[0]["id"], "limit": 5}
    refused = await http.get("/api/v3/historicalTrades", params=params)
    assert refused.status_code == 401 and refused.json()["code"] == -2015
    found = await http.get(
        "/api/v3/historicalTrades", params=params, headers={"X-MBX-APIKEY": TEST_API_KEY}
    )
    assert found.json() == recent


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "7m"}, -1120),
        ("/api/v3/klines", {"symbol": "BTCUSDT"}, -1102),
        ("/api/v3/depth", {"symbol": "BTCUSDT", "limit": "abc"}, -1100),
        ("/api/v3/ticker/24hr", {"symbols": '["BTCUSDT","NOPEUSDT"]'}, -1121),
        ("/api/v3/exchangeInfo", {"symbol": "NOPE"}, -1121),
    ],
)
async def test_bad_parameters_get_binance_errors(
    http: httpx.AsyncClient, path: str, params: dict[str, str], code: int
) -> None:
    response = await http.get(path, params=params)
    assert response.status_code == 400
    assert response.json()["code"] == code


async def test_ticker_shapes(http: httpx.AsyncClient) -> None:
    one = (await http.get("/api/v3/ticker/24hr", params={"symbol": "BTCUSDT"})).json()
    assert isinstance(one, dict) and one["symbol"] == "BTCUSDT"
    some = (await http.get("/api/v3/ticker/24hr", params={"symbols": '["BTCUSDT"]'})).json()
    assert [t["symbol"] for t in some] == ["BTCUSDT"]
    top = (await http.get("/api/v3/ticker/bookTicker", params={"symbol": "BTCUSDT"})).json()
    assert float(top["bidPrice"]) < float(top["askPrice"])
    assert (await http.get("/api/v3/ping")).json() == {}


async def test_signed_order_lifecycle(sim: RunningSim, http: httpx.AsyncClient) -> None:
    feed = sim.exchange.feeds["BTCUSDT"]
    price = str(feed.spec.price((feed.book.best_bid() or 0) - 10_000))  # 100 USDT below the bid
    tested = await signed(
        http,
        "POST",
        "/api/v3/order/test",
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.01",
        price=price,
    )
    assert tested.json() == {}
    placed = []
    for client_id in ("a1", "a2"):
        response = await signed(
            http,
            "POST",
            "/api/v3/order",
            symbol="BTCUSDT",
            side="BUY",
            type="LIMIT",
            timeInForce="GTC",
            quantity="0.01",
            price=price,
            newClientOrderId=client_id,
        )
        assert response.status_code == 200, response.text
        placed.append(response.json())
    assert [o["status"] for o in placed] == ["NEW", "NEW"]
    found = (
        await signed(http, "GET", "/api/v3/order", symbol="BTCUSDT", origClientOrderId="a2")
    ).json()
    assert found["orderId"] == placed[1]["orderId"]
    cancelled = (await signed(http, "DELETE", "/api/v3/openOrders", symbol="BTCUSDT")).json()
    assert sorted(o["orderId"] for o in cancelled) == sorted(o["orderId"] for o in placed)
    every = (await signed(http, "GET", "/api/v3/allOrders", symbol="BTCUSDT")).json()
    assert [o["status"] for o in every] == ["CANCELED", "CANCELED"]
    account = (await signed(http, "GET", "/api/v3/account")).json()
    assert {b["asset"]: b["free"] for b in account["balances"]}["USDT"] == "10000.00000000"
    none_left = await signed(http, "DELETE", "/api/v3/openOrders", symbol="BTCUSDT")
    assert none_left.json()["code"] == -2011


async def test_signed_request_without_key_or_late(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/v3/account", params={"timestamp": 1, "signature": "x"})
    assert response.status_code == 401 and response.json()["code"] == -2014
    query = urlencode({"timestamp": int(time.time() * 1000) - 60_000})
    late = await http.get(
        f"/api/v3/account?{query}&signature={sign(TEST_API_SECRET, query)}",
        headers={"X-MBX-APIKEY": TEST_API_KEY},
    )
    assert late.json() == {
        "code": -1021,
        "msg": "Timestamp for this request is outside of the recvWindow.",
    }


async def test_control_endpoints(sim: RunningSim, http: httpx.AsyncClient) -> None:
    health = (await http.get("/_sim/health")).json()
    assert health["status"] == "ok" and health["symbols"] == 1
    bad = await http.post("/_sim/faults", json={"action": "rate_limit", "status": 503})
    assert bad.status_code == 400
    await sim.fault("rate_limit", status=429, requests=2, retry_after_s=3)
    limited = await http.get("/api/v3/ping")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
    assert (await http.get("/_sim/health")).status_code == 200  # /_sim is never limited
    assert (await http.get("/api/v3/ping")).status_code == 429
    assert (await http.get("/api/v3/ping")).status_code == 200
    await sim.fault("delay_orders", delay_s=0.05, count=1)
    state = await sim.state()
    assert state["faults"]["delay_orders"]["delay_s"] == 0.05
    held = await signed(
        http, "POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001"
    )
    assert held.json()["status"] == "FILLED"  # held first, then matched as usual
    await sim.fault("clear")
    assert (await sim.state())["faults"]["delay_orders"] is None


async def test_configure_mounts_more_routes_on_the_same_server() -> None:
    async def hello(request: web.Request) -> web.Response:
        return web.json_response({"hello": "macro"})

    def mount(app: web.Application) -> None:
        app.router.add_get("/v1/hello", hello)

    async with (
        running_sim(["BTCUSDT"], run_clock=False, history_days=0.01, configure=mount) as sim,
        httpx.AsyncClient(base_url=sim.base_url) as http,
    ):
        assert (await http.get("/v1/hello")).json() == {"hello": "macro"}
        assert (await http.get("/api/v3/ping")).json() == {}


async def test_request_weight_limit_answers_429_like_binance() -> None:
    # exchangeInfo weighs 20: over a limit of 15 whatever the minute, so no clock race here.
    async with running_sim(["BTCUSDT"], run_clock=False, history_days=0.01, weight_limit=15) as sim:
        async with httpx.AsyncClient(base_url=sim.base_url) as http:
            ping = await http.get("/api/v3/ping")
            assert ping.headers["X-MBX-USED-WEIGHT-1M"] == "1"
            refused = await http.get("/api/v3/exchangeInfo")
            assert refused.status_code == 429
            assert refused.json()["code"] == -1003
            assert 1 <= int(refused.headers["Retry-After"]) <= 60
        exchange = ccxt.binance(ccxt_config(sim.base_url))
        try:
            with pytest.raises(ccxt.DDoSProtection):
                await exchange.load_markets()
        finally:
            await exchange.close()


async def test_a_handler_bug_is_answered_as_binances_unknown_error() -> None:
    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("a bug")

    def mount(app: web.Application) -> None:
        app.router.add_get("/api/v3/broken", broken)

    async with (
        running_sim(["BTCUSDT"], run_clock=False, history_days=0.01, configure=mount) as sim,
        httpx.AsyncClient(base_url=sim.base_url) as http,
    ):
        response = await http.get("/api/v3/broken")
        assert response.status_code == 500
        assert response.json()["code"] == -1000
        assert (await http.get("/api/v3/nope")).status_code == 404
