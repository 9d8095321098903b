"""The real ccxt (REST) against the exchange simulator on loopback.

A quiet exchange (clock not running, advanced by hand before serving) makes the REST answers
comparable with the simulator's own state without races.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from decimal import Decimal

import ccxt.async_support as ccxt
import pytest

from breakout.exchange_sim.accounts import AccountConfig, Accounts
from breakout.exchange_sim.exchange import SimExchange
from breakout.exchange_sim.market import MarketConfig
from breakout.exchange_sim.state import wall_clock_ms
from breakout.exchange_sim.testing import (
    TEST_API_KEY,
    TEST_API_SECRET,
    RunningSim,
    ccxt_config,
    running_sim,
)

pytestmark = pytest.mark.integration


def quiet_exchange(minutes: int = 3) -> SimExchange:
    """A simulated exchange that traded for a few minutes, ending one minute ago."""
    start = wall_clock_ms() - (minutes + 1) * 60_000
    accounts = Accounts(
        [
            AccountConfig(
                api_key=TEST_API_KEY, secret=TEST_API_SECRET, balances={"USDT": Decimal(50_000)}
            )
        ]
    )
    exchange = SimExchange.simulated(
        ["BTCUSDT", "ETHUSDT"],
        start_ms=start,
        config=MarketConfig(seed=7, history_days=2),
        accounts=accounts,
    )
    exchange.advance_to(start + minutes * 60_000)
    return exchange


@pytest.fixture
async def sim() -> AsyncIterator[RunningSim]:
    async with running_sim(exchange=quiet_exchange(), run_clock=False) as running:
        yield running


@pytest.fixture
async def client(sim: RunningSim) -> AsyncIterator[ccxt.binance]:
    exchange = ccxt.binance(ccxt_config(sim.base_url, sim.api_key, sim.api_secret))
    yield exchange
    await exchange.close()


async def test_load_markets_reads_symbols_precisions_and_filters(client: ccxt.binance) -> None:
    markets = await client.load_markets()
    assert set(markets) == {"BTC/USDT", "ETH/USDT"}
    btc = markets["BTC/USDT"]
    assert btc["spot"] and btc["active"]
    assert btc["precision"]["price"] == 0.01
    assert btc["precision"]["amount"] == 0.00001
    assert btc["limits"]["cost"]["min"] == 5.0


async def test_fetch_ohlcv_since_returns_contiguous_history(
    sim: RunningSim, client: ccxt.binance
) -> None:
    since = sim.exchange.now_ms - 30 * 3_600_000
    bars = await client.fetch_ohlcv("BTC/USDT", "1h", since=since, limit=10)
    assert len(bars) == 10
    assert bars[0][0] >= since and bars[0][0] % 3_600_000 == 0
    for previous, bar in itertools.pairwise(bars):
        assert bar[0] - previous[0] == 3_600_000
        assert bar[1] == previous[4]  # each hour opens where the last one closed
    for _ts, o, h, low, c, v in bars:
        assert low <= min(o, c) <= max(o, c) <= h
        assert v > 0


async def test_fetch_ohlcv_latest_minute_matches_the_simulators_tape(
    sim: RunningSim, client: ccxt.binance
) -> None:
    feed = sim.exchange.feeds["BTCUSDT"]
    last_print = feed.tape.last_print
    assert last_print is not None
    bars = await client.fetch_ohlcv("BTC/USDT", "1m", limit=3)
    minute = last_print.ts_ms // 60_000 * 60_000
    closes = {bar[0]: bar[4] for bar in bars}
    assert closes[minute] == float(feed.spec.price(last_print.price))


async def test_order_book_matches_the_simulated_book(sim: RunningSim, client: ccxt.binance) -> None:
    book = await client.fetch_order_book("BTC/USDT", limit=50)
    sim_book = sim.exchange.feeds["BTCUSDT"].book
    assert book["nonce"] == sim_book.update_id
    assert book["bids"][0][0] < book["asks"][0][0]
    assert [b[0] for b in book["bids"]] == sorted((b[0] for b in book["bids"]), reverse=True)
    assert [a[0] for a in book["asks"]] == sorted(a[0] for a in book["asks"])
    spec = sim.exchange.feeds["BTCUSDT"].spec
    assert book["bids"][0] == [float(spec.price(p)) for p in [sim_book.best_bid() or 0]] + [
        float(spec.qty(sim_book.total(True, sim_book.best_bid() or 0)))
    ]


async def test_fetch_trades_and_since(sim: RunningSim, client: ccxt.binance) -> None:
    recent = await client.fetch_trades("BTC/USDT", limit=100)
    assert len(recent) == 100
    ids = [int(t["id"]) for t in recent]
    assert ids == list(range(ids[0], ids[0] + 100))  # aggregate ids are contiguous
    assert {t["side"] for t in recent} == {"buy", "sell"}
    since = recent[50]["timestamp"]
    later = await client.fetch_trades("BTC/USDT", since=since, limit=1000)
    assert later and all(t["timestamp"] >= since for t in later)
    assert later[-1]["id"] == recent[-1]["id"]


async def test_tickers_report_last_price_and_top_of_book(
    sim: RunningSim, client: ccxt.binance
) -> None:
    feed = sim.exchange.feeds["ETHUSDT"]
    ticker = await client.fetch_ticker("ETH/USDT")
    assert feed.tape.last_print is not None
    assert ticker["last"] == float(feed.spec.price(feed.tape.last_print.price))
    assert ticker["bid"] == float(feed.spec.price(feed.book.best_bid() or 0))
    assert ticker["ask"] == float(feed.spec.price(feed.book.best_ask() or 0))
    assert ticker["high"] >= ticker["last"] >= ticker["low"]
    tickers = await client.fetch_tickers()
    assert set(tickers) == {"BTC/USDT", "ETH/USDT"}


async def test_unknown_symbol_is_binances_invalid_symbol(sim: RunningSim) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=sim.base_url) as http:
        response = await http.get("/api/v3/depth", params={"symbol": "NOPEUSDT"})
    assert response.status_code == 400
    assert response.json() == {"code": -1121, "msg": "Invalid symbol."}


async def test_market_buy_fills_and_moves_balances(sim: RunningSim, client: ccxt.binance) -> None:
    order = await client.create_order("BTC/USDT", "market", "buy", 0.01)
    assert order["status"] == "closed"
    assert order["filled"] == 0.01
    assert order["fee"]["currency"] == "BTC"
    assert order["fee"]["cost"] == pytest.approx(0.01 * 0.001)
    balance = await client.fetch_balance()
    assert balance["BTC"]["free"] == pytest.approx(0.01 - 0.00001)
    assert balance["USDT"]["total"] == pytest.approx(50_000 - order["cost"])
    trades = await client.fetch_my_trades("BTC/USDT")
    assert {t["order"] for t in trades} == {order["id"]}
    assert sum(t["amount"] for t in trades) == pytest.approx(0.01)


async def test_limit_order_rests_then_cancels(sim: RunningSim, client: ccxt.binance) -> None:
    best_bid = float(
        sim.exchange.feeds["BTCUSDT"].spec.price(sim.exchange.feeds["BTCUSDT"].book.best_bid() or 0)
    )
    order = await client.create_order(
        "BTC/USDT",
        "limit",
        "buy",
        0.02,
        round(best_bid * 0.99, 2),
        params={"clientOrderId": "mine-1"},
    )
    assert order["status"] == "open"
    assert order["clientOrderId"] == "mine-1"
    balance = await client.fetch_balance()
    assert balance["USDT"]["used"] == pytest.approx(0.02 * round(best_bid * 0.99, 2))
    assert [o["id"] for o in await client.fetch_open_orders("BTC/USDT")] == [order["id"]]
    cancelled = await client.cancel_order(order["id"], "BTC/USDT")
    assert cancelled["status"] == "canceled"
    assert (await client.fetch_order(order["id"], "BTC/USDT"))["status"] == "canceled"
    assert await client.fetch_open_orders("BTC/USDT") == []
    balance = await client.fetch_balance()
    assert balance["USDT"]["used"] == 0
    assert balance["USDT"]["free"] == pytest.approx(50_000)


async def test_rejections_map_to_ccxt_errors(sim: RunningSim, client: ccxt.binance) -> None:
    feed = sim.exchange.feeds["BTCUSDT"]
    best_ask = float(feed.spec.price(feed.book.best_ask() or 0))
    with pytest.raises(ccxt.OrderImmediatelyFillable):
        await client.create_order(
            "BTC/USDT", "limit", "buy", 0.001, best_ask, params={"postOnly": True}
        )
    with pytest.raises(ccxt.InsufficientFunds):
        await client.create_order("BTC/USDT", "market", "buy", 5)
    with pytest.raises(ccxt.InsufficientFunds):
        await client.create_order("BTC/USDT", "limit", "sell", 0.001, best_ask * 2)  # holds no BTC
    await client.create_order(
        "BTC/USDT", "limit", "buy", 0.001, 50_000, params={"clientOrderId": "dup"}
    )
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
        await client.create_order(
            "BTC/USDT", "limit", "buy", 0.001, 50_000, params={"clientOrderId": "dup"}
        )
    with pytest.raises(ccxt.OrderNotFound):
        await client.cancel_order("123", "BTC/USDT")


async def test_wrong_key_or_secret_is_an_authentication_error(sim: RunningSim) -> None:
    for key, secret in (("unknown-key", sim.api_secret), (sim.api_key, "wrong-secret")):
        exchange = ccxt.binance(ccxt_config(sim.base_url, key, secret))
        try:
            with pytest.raises(ccxt.AuthenticationError):
                await exchange.fetch_balance()
        finally:
            await exchange.close()


async def test_rate_limit_fault_makes_ccxt_back_off(sim: RunningSim, client: ccxt.binance) -> None:
    await client.load_markets()
    await sim.fault("rate_limit", status=429, requests=1, retry_after_s=2)
    with pytest.raises(ccxt.DDoSProtection):
        await client.fetch_ticker("BTC/USDT")
    await sim.fault("rate_limit", status=418, requests=1)
    with pytest.raises(ccxt.DDoSProtection):
        await client.fetch_order_book("BTC/USDT")
    assert (await client.fetch_ticker("BTC/USDT"))["symbol"] == "BTC/USDT"


async def test_rejected_orders_fault(sim: RunningSim, client: ccxt.binance) -> None:
    await sim.fault("reject_orders", count=1)
    with pytest.raises(ccxt.InvalidOrder):
        await client.create_order("BTC/USDT", "market", "buy", 0.001)
    order = await client.create_order("BTC/USDT", "market", "buy", 0.001)
    assert order["status"] == "closed"
