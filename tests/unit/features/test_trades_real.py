"""The real Binance BTCUSDT trade sample through the aggregator, against polars' rolling windows."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from breakout.common.events import MarketTrade
from breakout.features.config import TradeWindowsConfig
from breakout.features.trades import TradeAggregator

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"


def _sample() -> pl.DataFrame:
    path = DATA / "btcusdt-trades.parquet"
    if not path.exists():
        pytest.skip("shared data samples are absent")
    return pl.read_parquet(path).with_columns(
        ts=pl.col("timestamp").dt.epoch("ms"),
        # The buyer was the maker: the taker (aggressor) sold.
        side=pl.when(pl.col("buyer_maker") == "True").then(pl.lit("sell")).otherwise(pl.lit("buy")),
    )


def test_windows_on_real_trades_equal_polars_rolling_sums() -> None:
    df = _sample()
    assert df.height > 2_000
    assert df["ts"].is_sorted()
    config = TradeWindowsConfig()
    reference = df.with_columns(
        buy_qty=pl.when(pl.col("side") == "buy").then(pl.col("quantity")).otherwise(0.0),
        sell_qty=pl.when(pl.col("side") == "sell").then(pl.col("quantity")).otherwise(0.0),
        notional=pl.col("price") * pl.col("quantity"),
        dt=pl.col("timestamp"),
    )
    rolled = {
        w: reference.rolling("dt", period=f"{w}s", closed="right").agg(
            pl.len().alias("trades"),
            pl.col("buy_qty").sum(),
            pl.col("sell_qty").sum(),
            pl.col("notional").sum(),
        )
        for w in config.windows_s
    }
    # A row's window ends at its timestamp; compare after the last trade of each timestamp.
    last_of_ts = (reference["ts"].shift(-1) != reference["ts"]).fill_null(True).to_list()
    agg = TradeAggregator(config)
    compared = 0
    for i, row in enumerate(df.iter_rows(named=True)):
        agg.add(
            MarketTrade(
                exchange="binance",
                symbol="BTCUSDT",
                trade_id=row["trade_id"],
                price=row["price"],
                qty=row["quantity"],
                side=row["side"],
                exchange_ts_ms=row["ts"],
                received_ts_ms=row["ts"],
            )
        )
        if not last_of_ts[i]:
            continue
        for stats in agg.stats():
            expected = rolled[stats.window_s].row(i, named=True)
            assert stats.trades == expected["trades"]
            assert stats.buy_qty == pytest.approx(expected["buy_qty"], rel=1e-9, abs=1e-12)
            assert stats.sell_qty == pytest.approx(expected["sell_qty"], rel=1e-9, abs=1e-12)
            assert stats.notional == pytest.approx(expected["notional"], rel=1e-9)
        compared += 1
    assert compared > 1_000
