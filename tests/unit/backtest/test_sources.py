"""The real data samples (`../shared/data`) load as md.* events, as they are.

Skipped where the samples are absent (a fresh machine has none); the expected figures come
from the samples' README and from reading the files independently with polars/json here.
"""

from __future__ import annotations

import gzip
import itertools
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from breakout.backtest.sources import UnsupportedData, load_depth, load_file, symbol_from_name
from breakout.common.events import BookSnapshot, Candle, MarketTrade

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"no real data samples at {DATA}")


def _ordered(events: list[Any]) -> bool:
    def ts(e: Any) -> int:
        return int(e.close_ts_ms if isinstance(e, Candle) else e.exchange_ts_ms)

    return all(ts(a) <= ts(b) for a, b in itertools.pairwise(events))


def test_symbols_from_file_names() -> None:
    assert symbol_from_name(Path("XRP_ETH-1m.feather")) == "XRPETH"
    assert symbol_from_name(Path("btcusdt-trades.parquet")) == "BTCUSDT"
    with pytest.raises(UnsupportedData, match="symbol"):
        symbol_from_name(Path("public_trades_list.csv"))


def test_binance_trades_parquet() -> None:
    loaded = load_file(DATA / "btcusdt-trades.parquet")
    frame = pl.read_parquet(DATA / "btcusdt-trades.parquet")
    assert loaded.kind == "trades" and loaded.symbol == "BTCUSDT"
    assert len(loaded.events) == frame.height == 2001
    first = loaded.events[0]
    assert isinstance(first, MarketTrade)
    assert (first.trade_id, first.price, first.qty) == (553287559, 39432.48, 0.000263)
    assert first.side == "sell"  # buyer_maker True: the taker sold
    assert (
        sum(1 for e in loaded.events if e.side == "buy")
        == frame.filter(  # type: ignore[attr-defined]
            pl.col("buyer_maker") == "False"
        ).height
    )
    assert _ordered(loaded.events)


def test_freqtrade_trades_json() -> None:
    loaded = load_file(DATA / "XRP_ETH-trades.json.gz")
    with gzip.open(DATA / "XRP_ETH-trades.json.gz") as raw:
        rows = json.load(raw)
    assert len(loaded.events) == len(rows) == 12477
    assert {e.side for e in loaded.events} == {"buy", "sell"}  # type: ignore[attr-defined]
    assert _ordered(loaded.events)


def test_ccxt_shaped_trades_csv_needs_a_symbol() -> None:
    with pytest.raises(UnsupportedData, match="symbol"):
        load_file(DATA / "public_trades_list.csv")
    loaded = load_file(DATA / "public_trades_list.csv", symbol="ETHUSDT")
    assert loaded.kind == "trades" and loaded.events[0].exchange_ts_ms == 1675329600138  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ["ETH_BTC-5m.feather", "XRP_ETH-1m.feather"])
def test_candles_arrow(name: str) -> None:
    loaded = load_file(DATA / name)
    frame = pl.read_ipc(DATA / name)
    assert loaded.kind == "candles" and len(loaded.events) == frame.height
    first = loaded.events[0]
    assert isinstance(first, Candle) and first.source == "exchange"
    assert (first.open, first.close) == (frame["open"][0], frame["close"][0])
    span = 300_000 if "5m" in name else 60_000
    assert first.close_ts_ms - first.open_ts_ms == span - 1
    assert loaded.notes and "no trades or book" in loaded.notes[0]


def test_tardis_book_snapshots() -> None:
    loaded = load_file(DATA / "binance-futures_book_snapshot_25_BTCUSDT.csv")
    book = loaded.events[0]
    assert isinstance(book, BookSnapshot) and book.depth == 25
    assert book.bids[0] == (11657.07, 10.896) and book.asks[0] == (11657.08, 1.714)
    assert all(b.bids[0][0] < b.asks[0][0] for b in loaded.events)  # type: ignore[attr-defined]
    assert book.exchange_ts_ms == 1598918403696  # microseconds read as milliseconds


def test_quotes_are_one_level_books() -> None:
    loaded = load_file(DATA / "btcusdt-quotes.parquet")
    assert loaded.kind == "book" and all(e.depth == 1 for e in loaded.events)  # type: ignore[attr-defined]
    assert "best bid/ask only" in loaded.notes[0]


def test_bybit_snapshot_and_deltas() -> None:
    loaded = load_file(DATA / "xrpusdt-ob500.data.zip")
    assert len(loaded.events) == 50
    books = [e for e in loaded.events if isinstance(e, BookSnapshot)]
    assert all(b.bids[0][0] < b.asks[0][0] for b in books)
    assert books[0].depth == 500


def test_depth_diffs_are_never_a_book_without_their_snapshot() -> None:
    with pytest.raises(UnsupportedData, match="without the snapshot"):
        load_file(DATA / "btcusdt-depth-update.csv")
    # The sample's diffs start long after its snapshot: the hole is refused, not papered over.
    with pytest.raises(UnsupportedData, match="does not continue"):
        load_depth(DATA / "btcusdt-depth-snap.csv", DATA / "btcusdt-depth-update.csv")
    snapshot = load_file(DATA / "btcusdt-depth-snap.csv")
    assert len(snapshot.events) == 1 and len(snapshot.events[0].bids) == 100  # type: ignore[attr-defined]
