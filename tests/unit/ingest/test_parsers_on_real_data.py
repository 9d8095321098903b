"""Parser tests on real Binance data: ccxt's own parsers, then our adapter, end to end.

The samples live in ../shared/data beside the project; the tests skip where it is absent.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import ccxt.pro
import pytest

from breakout.ingest.ccxt_adapter import is_crossed, to_book, to_trade
from breakout.ingest.sequencing import TradeSequencer

DATA = Path(__file__).resolve().parents[4] / "shared" / "data"
pl = pytest.importorskip("polars")


def _sample(name: str) -> Path:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture(scope="module")
def binance() -> Any:
    exchange = ccxt.pro.binance()
    exchange.markets = None
    # Enough of a market for the parsers: they only need to map the id to a symbol.
    exchange.set_markets(
        [
            {
                "id": "BTCUSDT",
                "symbol": "BTC/USDT",
                "base": "BTC",
                "quote": "USDT",
                "baseId": "BTC",
                "quoteId": "USDT",
                "type": "spot",
                "spot": True,
                "active": True,
            }
        ]
    )
    return exchange


def test_real_aggtrade_messages_become_md_trades(binance: Any) -> None:
    rows = pl.read_parquet(_sample("btcusdt-trades.parquet")).to_dicts()
    trades = []
    for row in rows:
        ts_ms = int(row["timestamp"].timestamp() * 1000)
        message = {
            "e": "aggTrade",
            "E": ts_ms,
            "s": "BTCUSDT",
            "a": row["trade_id"],
            "p": f"{row['price']:.2f}",
            "q": f"{row['quantity']:.6f}",
            "f": row["trade_id"],
            "l": row["trade_id"],
            "T": ts_ms,
            "m": row["buyer_maker"] == "True",
        }
        parsed = binance.parse_ws_trade(message)
        trades.append(to_trade("binance", "BTCUSDT", parsed, ts_ms + 5))
    assert len(trades) == len(rows) == 2001
    for trade, row in zip(trades, rows, strict=True):
        assert trade.trade_id == row["trade_id"]
        assert trade.price == pytest.approx(row["price"])
        assert trade.qty == pytest.approx(row["quantity"])
        # The buyer was the maker: the aggressor sold.
        assert trade.side == ("sell" if row["buyer_maker"] == "True" else "buy")
    # The real ids are consecutive: the sequencer records them all, with no hole reported.
    sequencer = TradeSequencer(last_id=rows[0]["trade_id"] - 1)
    accepted = sequencer.accept(trades)
    assert accepted.hole is None
    assert len(accepted.trades) == 2001


def test_real_depth_snapshot_becomes_an_uncrossed_md_book(binance: Any) -> None:
    with _sample("btcusdt-depth-snap.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    rest_answer = {
        "lastUpdateId": int(rows[0]["last_update_id"]),
        "bids": [[r["price"], r["qty"]] for r in rows if r["side"] == "b"],
        "asks": [[r["price"], r["qty"]] for r in rows if r["side"] == "a"],
    }
    parsed = binance.parse_order_book(rest_answer, "BTC/USDT", int(rows[0]["timestamp"]))
    parsed["nonce"] = rest_answer["lastUpdateId"]
    book = to_book("binance", "BTCUSDT", parsed, 20, int(rows[0]["timestamp"]) + 3)
    assert book.sequence == 2098021528332
    # The sample holds the bid side only (100 levels): the top 20 come out best first.
    assert len(book.bids) == 20
    assert book.asks == []
    assert book.bids == sorted(book.bids, reverse=True)
    assert not is_crossed(parsed)
    parsed["asks"] = [[book.bids[0][0] - 0.1, 1.0]]
    assert is_crossed(parsed)
    best_bid = max(float(r["price"]) for r in rows if r["side"] == "b")
    assert book.bids[0][0] == best_bid
