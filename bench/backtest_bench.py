"""Backtest throughput: the live cores in one process, against the `backtesting` package.

- `backtest.events_per_s`: market events (trades, books, tickers, candles from the exchange_sim
  generator, generated before the clock starts) through features + signals + risk + paper
  execution in one process (`BacktestEngine`).
- `backtest.candles_per_s` vs `backtest.reference_candles_per_s`: the same 1-minute candles
  through our engine (candle fill model: four modelled prints and books per bar, every core) and
  through `backtesting` (backtesting.py) running a Donchian-breakout rule, in the same run. The
  reference computes one rule on arrays; ours runs the whole decision pipeline a live run
  would, so the ratio says what that fidelity costs.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
from backtesting import Backtest, Strategy

from breakout.backtest.inputs import from_files, from_sim
from breakout.backtest.run import RunOptions, run_backtest
from breakout.backtest.simgen import SimSession
from breakout.common.presets.loader import load_preset

SIM_SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT")
SIM_SECONDS = 900
CANDLES = 1_500
DONCHIAN_BARS = 20


def candles(n: int, seed: int = 5) -> pd.DataFrame:
    """A seeded random walk of 1-minute OHLCV bars."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.0015, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    spread = np.abs(rng.normal(0, 0.001, n)) * close
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - spread
    volume = rng.lognormal(3.0, 0.5, n)
    index = pd.date_range("2026-01-01", periods=n, freq="1min", tz="UTC")
    return pd.DataFrame(
        {"Open": open_, "High": high, "Low": low, "Close": close, "Volume": volume}, index=index
    )


class Donchian(Strategy):  # type: ignore[misc]
    """Long on a close above the previous N-bar high; out on a close below the N-bar low."""

    def init(self) -> None:
        high = pd.Series(self.data.High)
        low = pd.Series(self.data.Low)
        self.upper = self.I(lambda: high.rolling(DONCHIAN_BARS).max().shift(1).to_numpy())
        self.lower = self.I(lambda: low.rolling(DONCHIAN_BARS).min().shift(1).to_numpy())

    def next(self) -> None:
        close = self.data.Close[-1]
        if not self.position and close > self.upper[-1]:
            self.buy()
        elif self.position and close < self.lower[-1]:
            self.position.close()


def reference_candles_per_s(frame: pd.DataFrame) -> float:
    """Candles/s of backtesting.py running the Donchian rule."""
    started = time.perf_counter()
    Backtest(frame, Donchian, cash=1_000_000, commission=0.001).run()
    return len(frame) / (time.perf_counter() - started)


async def _engine_candles_per_s(frame: pd.DataFrame) -> float:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "SIM_USDT-1m.parquet"
        pl.DataFrame(
            {
                "date": frame.index.to_pydatetime().tolist(),
                "open": frame["Open"].to_numpy(),
                "high": frame["High"].to_numpy(),
                "low": frame["Low"].to_numpy(),
                "close": frame["Close"].to_numpy(),
                "volume": frame["Volume"].to_numpy(),
            }
        ).write_parquet(path)
        started = time.perf_counter()  # loading and modelling the file is part of the run
        data = from_files([path])
        await run_backtest(load_preset("breakout_v1"), data, RunOptions(data=str(path)))
        return len(frame) / (time.perf_counter() - started)


async def _engine_events_per_s() -> tuple[float, int]:
    session = SimSession(symbols=SIM_SYMBOLS, seed=3, duration_s=SIM_SECONDS)
    data = from_sim(session)  # generated before the clock starts: the engine is measured
    started = time.perf_counter()
    out = await run_backtest(load_preset("breakout_v1"), data, RunOptions(data="sim", seed=3))
    return out.market_events / (time.perf_counter() - started), out.market_events


async def run() -> dict[str, float]:
    """The backtest figures."""
    frame = candles(CANDLES)
    events_per_s, events = await _engine_events_per_s()
    ours = await _engine_candles_per_s(frame)
    reference = reference_candles_per_s(frame)
    return {
        "backtest.events_per_s": events_per_s,
        "backtest.events": float(events),
        "backtest.candles_per_s": ours,
        "backtest.reference_candles_per_s": reference,
        "ratio.backtest_candles_vs_reference": ours / reference,
    }
