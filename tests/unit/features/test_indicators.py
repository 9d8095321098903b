"""Indicators against an independent reference (polars expressions), on real and generated
candles, to 1e-9 relative."""

from __future__ import annotations

import math
import random
from pathlib import Path

import polars as pl
import pytest

from breakout.common.events import Candle
from breakout.features.config import FeaturesConfig, IndicatorConfig
from breakout.features.indicators import CandleSeries, SessionVwap, percentile_rank
from breakout.features.symbol import SymbolFeatures
from tests.unit.features.factories import T0_MS, candle, trade

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
CONFIG = IndicatorConfig()
REL = 1e-9
SPAN_MS = 300_000


def _candles(df: pl.DataFrame, symbol: str) -> list[Candle]:
    out = []
    for row in df.iter_rows(named=True):
        out.append(
            Candle(
                exchange="binance",
                symbol=symbol,
                timeframe="5m",
                open_ts_ms=row["ts"],
                close_ts_ms=row["ts"] + SPAN_MS - 1,
                open=row["open"],
                high=row["high"],
                low=row["low"],
                close=row["close"],
                volume=row["volume"],
                quote_volume=row["volume"] * row["close"],
                trades=1,
                taker_buy_volume=row["volume"] / 2,
            )
        )
    return out


def _seeded_ewm(values: pl.Series, period: int, alpha: float) -> list[float | None]:
    """TA-Lib style: the first value is the mean of the first `period` inputs."""
    seed = values[:period].mean()
    tail = pl.concat([pl.Series([seed], dtype=pl.Float64), values[period:]])
    smoothed = tail.ewm_mean(alpha=alpha, adjust=False).to_list()
    return [None] * (period - 1) + smoothed


def _reference(df: pl.DataFrame) -> pl.DataFrame:
    prev = pl.col("close").shift(1)
    k, n = CONFIG.bb_std, CONFIG.bb_period
    df = df.with_columns(
        tr=pl.max_horizontal(
            pl.col("high") - pl.col("low"),
            (pl.col("high") - prev).abs(),
            (pl.col("low") - prev).abs(),
        ),
        bb_width=2 * k * pl.col("close").rolling_std(n, ddof=0) / pl.col("close").rolling_mean(n),
        obv=(pl.col("close").diff().sign().fill_null(0) * pl.col("volume")).cum_sum(),
        vol_median=pl.col("volume").shift(1).rolling_median(CONFIG.volume_median_bars),
    )
    atr = [None, *_seeded_ewm(df["tr"][1:], CONFIG.atr_period, 1 / CONFIG.atr_period)]
    fast, slow = CONFIG.ema_fast_period, CONFIG.ema_slow_period
    return df.with_columns(
        atr=pl.Series(atr, dtype=pl.Float64),
        ema_fast=pl.Series(_seeded_ewm(df["close"], fast, 2 / (fast + 1)), dtype=pl.Float64),
        ema_slow=pl.Series(_seeded_ewm(df["close"], slow, 2 / (slow + 1)), dtype=pl.Float64),
    )


def _close(actual: float | None, expected: float | None, abs_tol: float = 0.0) -> bool:
    if expected is None or (isinstance(expected, float) and math.isnan(expected)):
        return actual is None
    return actual is not None and math.isclose(actual, expected, rel_tol=REL, abs_tol=abs_tol)


def _check_series(df: pl.DataFrame) -> int:
    ref = _reference(df)
    series = CandleSeries(CONFIG, "5m", SPAN_MS)
    obv_scale = float(df["volume"].sum()) * 1e-12
    widths: list[float] = []
    checked = 0
    for c, row in zip(_candles(df, "ETHBTC"), ref.iter_rows(named=True), strict=True):
        assert series.add(c)
        out = series.indicators("binance", "ETHBTC", None, None)
        assert _close(out.atr, row["atr"]), (c.open_ts_ms, out.atr, row["atr"])
        assert _close(out.ema_fast, row["ema_fast"])
        assert _close(out.ema_slow, row["ema_slow"])
        assert _close(out.bb_width, row["bb_width"])
        assert _close(out.obv, row["obv"], abs_tol=obv_scale)
        assert _close(out.volume_median, row["vol_median"])
        if out.bb_width is not None:
            widths.append(row["bb_width"])
            recent = widths[-CONFIG.bb_percentile_lookback :]
            # A rank is not continuous: widths within 1e-9 of the current one may tie or not.
            low = percentile_rank(recent, recent[-1] * (1 - REL))
            high = percentile_rank(recent, recent[-1] * (1 + REL))
            assert out.bb_width_percentile is not None
            assert low <= out.bb_width_percentile <= high
            checked += 1
    return checked


def _feather(name: str) -> pl.DataFrame:
    path = DATA / name
    if not path.exists():
        pytest.skip("shared data samples are absent")
    df = pl.read_ipc(path)
    return df.with_columns(ts=pl.col("date").dt.epoch("ms")).select(
        "ts", "open", "high", "low", "close", "volume"
    )


@pytest.mark.parametrize("name", ["ETH_BTC-5m.feather", "XMR_BTC-5m.feather", "ADA_BTC-5m.feather"])
def test_indicators_equal_the_reference_on_real_candles(name: str) -> None:
    df = _feather(name)
    assert _check_series(df) > 5_000


def _generated(n: int, seed: int) -> pl.DataFrame:
    rng = random.Random(seed)
    rows, price = [], 100.0
    for i in range(n):
        open_ = price
        close = max(0.01, open_ * math.exp(rng.gauss(0, 0.01)))
        high = max(open_, close) * (1 + abs(rng.gauss(0, 0.003)))
        low = min(open_, close) * (1 - abs(rng.gauss(0, 0.003)))
        volume = rng.choice([0.0, rng.lognormvariate(3, 1)])  # zero-volume bars happen
        # Repeated closes exercise OBV's "unchanged" case.
        close = open_ if rng.random() < 0.05 else close
        rows.append((T0_MS + i * SPAN_MS, open_, max(high, close), min(low, close), close, volume))
        price = close
    return pl.DataFrame(rows, schema=["ts", "open", "high", "low", "close", "volume"], orient="row")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_indicators_equal_the_reference_on_generated_candles(seed: int) -> None:
    assert _check_series(_generated(600, seed)) > 500


def test_correlation_with_the_reference_symbol() -> None:
    eth, ltc = _feather("ETH_BTC-5m.feather"), _feather("LTC_BTC-5m.feather")
    joined = eth.join(ltc, on="ts", suffix="_ltc").sort("ts")
    reference = CandleSeries(CONFIG, "5m", SPAN_MS)
    series = CandleSeries(CONFIG, "5m", SPAN_MS)
    ref_candles = _candles(joined.select("ts", "open", "high", "low", "close", "volume"), "ETH")
    ltc_frame = joined.select(
        "ts", *(pl.col(f"{c}_ltc").alias(c) for c in ("open", "high", "low", "close", "volume"))
    )
    returns = joined.select(
        a=pl.col("close_ltc") / pl.col("close_ltc").shift(1) - 1,
        b=pl.col("close") / pl.col("close").shift(1) - 1,
        contiguous=pl.col("ts").diff() == SPAN_MS,
    )
    n = CONFIG.correlation_bars
    checked = 0
    for i, (r, c) in enumerate(zip(ref_candles, _candles(ltc_frame, "LTC"), strict=True)):
        reference.add(r)
        series.add(c)
        if i < n or i % 97:
            continue
        window = returns[i - n + 1 : i + 1]
        if not window["contiguous"].all():
            continue
        expected = window.select(pl.corr("a", "b")).item()
        out = series.indicators("binance", "LTC", None, reference)
        assert out.corr_reference == pytest.approx(expected, rel=REL)
        checked += 1
    assert checked > 20


def test_duplicate_and_older_candles_are_ignored() -> None:
    series = CandleSeries(CONFIG, "5m", SPAN_MS)
    assert series.add(candle(1, 10, 11, 9, 10.5))
    assert not series.add(candle(1, 10, 12, 9, 11.5))  # the same bar from another source
    assert not series.add(candle(0, 10, 11, 9, 10.5))
    assert [b[4] for b in series.bars] == [10.5]


def test_bad_candles_are_refused() -> None:
    series = CandleSeries(CONFIG, "5m", SPAN_MS)
    with pytest.raises(ValueError, match="bad OHLCV"):
        series.add(candle(0, 10, 9, 8, 10))  # high below open


def test_session_vwap_resets_at_midnight_utc() -> None:
    vwap = SessionVwap()
    vwap.add(trade(T0_MS + 1_000, 100.0, 1.0))
    vwap.add(trade(T0_MS + 2_000, 103.0, 2.0))
    assert vwap.value(T0_MS + 5_000) == pytest.approx((100 + 206) / 3)
    assert vwap.value(T0_MS + 86_400_000) is None  # a new day with no trade yet
    vwap.add(trade(T0_MS + 86_400_001, 90.0, 1.0))
    assert vwap.value(T0_MS + 86_400_002) == 90.0


def test_a_timeframe_read_by_indicators_only_keeps_what_they_read() -> None:
    # ETH's 1 m candles (not the levels timeframe, not the reference) keep `bars_read` (101),
    # its 5 m and BTC's 1 m keep `history_bars` (300); ETH's 1 m indicators are the ones a
    # 300-bar series gives, the correlation with BTC's included.
    features = FeaturesConfig()
    eth = SymbolFeatures(features, "binance", "ETHUSDT")
    btc = SymbolFeatures(features, "binance", "BTCUSDT")
    full = CandleSeries(features.indicators, "1m", 60_000)
    rng = random.Random(5)
    eth_price = btc_price = 100.0
    for i in range(1_600):  # 320 bars of 5 m
        eth_price *= math.exp(rng.gauss(0, 0.01))
        btc_price *= math.exp(rng.gauss(0, 0.01))
        hi, lo = eth_price * 1.01, eth_price * 0.99
        eth_bar = candle(i, eth_price, hi, lo, eth_price, symbol="ETHUSDT", timeframe="1m")
        btc_bar = candle(
            i, btc_price, btc_price * 1.01, btc_price * 0.99, btc_price, timeframe="1m"
        )
        btc.on_candle(btc_bar, None)
        [(_, kept)] = eth.on_candle(eth_bar, btc.series["1m"])
        full.add(eth_bar)
        assert kept == full.indicators("binance", "ETHUSDT", None, btc.series["1m"])
        if i % 5 == 4:
            eth.on_candle(candle(i // 5, eth_price, hi, lo, eth_price, symbol="ETHUSDT"), None)
    assert len(eth.series["1m"].bars) == features.indicators.bars_read == 101
    assert len(eth.series["5m"].bars) == len(btc.series["1m"].bars) == 300
    assert len(full.bars) == 300
