"""Replay mode through the real ccxt: recorded md events come back out of the Binance API."""

from __future__ import annotations

from pathlib import Path

import ccxt.pro as ccxtpro
import pytest

from breakout.common.events.base import encode_event
from breakout.common.events.md import BookSnapshot, MarketTrade
from breakout.exchange_sim.replay import load_replay
from breakout.exchange_sim.state import wall_clock_ms
from breakout.exchange_sim.testing import ccxt_config, running_sim

pytestmark = pytest.mark.integration
T0 = 1_600_000_000_000


def export(path: Path) -> list[tuple[float, float]]:
    """An md export: one book, then 200 trades 50 ms apart; returns (price, qty) of the trades."""
    book = BookSnapshot(
        exchange="binance",
        symbol="ETHUSDT",
        sequence=1,
        depth=2,
        bids=[(1999.5, 3.0), (1999.0, 5.0)],
        asks=[(2000.5, 3.0), (2001.0, 5.0)],
        exchange_ts_ms=T0,
        received_ts_ms=T0,
    )
    prices = [2000.0 + (i % 7) * 0.25 for i in range(200)]
    trades = [
        MarketTrade(
            exchange="binance",
            symbol="ETHUSDT",
            trade_id=i,
            price=p,
            qty=round(0.1 + i / 1000, 3),
            side="buy" if i % 3 else "sell",
            exchange_ts_ms=T0 + 50 * (i + 1),
            received_ts_ms=T0,
        )
        for i, p in enumerate(prices)
    ]
    path.write_bytes(b"\n".join(encode_event(e) for e in [book, *trades]))
    return [(t.price, t.qty) for t in trades]


async def test_replayed_trades_and_book_reach_ccxt(tmp_path: Path) -> None:
    path = tmp_path / "md.jsonl"
    recorded = export(path)
    exchange = load_replay(path, start_ms=wall_clock_ms())
    async with running_sim(exchange=exchange) as sim:
        pro = ccxtpro.binance(ccxt_config(sim.base_url))
        try:
            markets = await pro.load_markets()
            assert list(markets) == ["ETH/USDT"]
            seen: list[tuple[float, float]] = []
            while len(seen) < 50:
                seen += [(t["price"], t["amount"]) for t in await pro.watch_trades("ETH/USDT")]
            start = recorded.index(seen[0])  # the stream may join after the first prints
            assert seen == (recorded * 2)[start : start + len(seen)]  # a recording loops
            book = await pro.fetch_order_book("ETH/USDT")
            assert book["bids"][0] == [1999.5, 3.0] and book["asks"][0] == [2000.5, 3.0]
        finally:
            await pro.close()
