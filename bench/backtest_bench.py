"""Backtest throughput: the live cores in one process, against the `backtesting` package.

- `backtest.events_per_s`: market events (trades, books, tickers, candles from the exchange_sim
  generator, generated before the clock starts) through features + signals + risk + paper
  execution in one process (`BacktestEngine`).
- `backtest.candles_per_s` vs `backtest.reference_candles_per_s`: the same 1,500 1-minute
  candles through our vector engine (`breakout.backtest.vector`) and through `backtesting`
  (backtesting.py), both running the same Donchian rule (below), in the same run; each the best
  of `REPEATS` runs. `tests/unit/backtest/test_vector_reference.py` checks that the two take the
  same trades on these candles, so the two figures time the same work.
- `backtest.event_candles_per_s`: the same candles through the event engine (candle fill model:
  four modelled prints and books per bar, every live core, preset `breakout_v1`): what running
  the live decision pipeline on candles costs, against the screen.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
from backtesting import Backtest, Strategy

from breakout.backtest.inputs import from_files, from_sim
from breakout.backtest.run import RunOptions, run_backtest
from breakout.backtest.simgen import SimSession
from breakout.backtest.vector.bars import Bars
from breakout.backtest.vector.engine import run_bars
from breakout.backtest.vector.rules import donchian_rules
from breakout.common.presets.loader import load_preset

SIM_SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT")
SIM_SECONDS = 900
CANDLES = 1_500
DONCHIAN_BARS = 20
REPEATS = 3


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


def reference_run(frame: pd.DataFrame) -> pd.DataFrame:
    """backtesting.py's Donchian run on `frame`: its trades table."""
    stats = Backtest(frame, Donchian, cash=1_000_000, commission=0.001).run()
    return stats["_trades"]


def bars_of_frame(frame: pd.DataFrame, symbol: str = "SIMUSDT") -> Bars:
    """The frame's candles as the vector engine's arrays."""
    return Bars(
        symbol=symbol,
        open_ts_ms=frame.index.as_unit("ms").asi8.astype(np.int64),
        span_ms=60_000,
        open=frame["Open"].to_numpy(np.float64),
        high=frame["High"].to_numpy(np.float64),
        low=frame["Low"].to_numpy(np.float64),
        close=frame["Close"].to_numpy(np.float64),
        volume=frame["Volume"].to_numpy(np.float64),
    )


def vector_run(frame: pd.DataFrame) -> list[tuple[int, int]]:
    """The vector engine's Donchian run on `frame` (from the frame): (entry bar, exit bar)s."""
    result = run_bars(bars_of_frame(frame), donchian_rules(DONCHIAN_BARS, fee_bps=10.0))
    return [(t.entry_bar, t.exit_bar) for t in result.trades]


def _best_candles_per_s(frame: pd.DataFrame, run: Callable[[pd.DataFrame], object]) -> float:
    """Candles/s of the fastest of `REPEATS` runs (the same treatment for both engines)."""
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        run(frame)
        best = min(best, time.perf_counter() - started)
    return len(frame) / best


def write_parquet(frame: pd.DataFrame, path: Path) -> Path:
    """The frame as a candle file `breakout backtest --data` reads."""
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
    return path


async def _event_candles_per_s(frame: pd.DataFrame) -> float:
    with tempfile.TemporaryDirectory() as folder:
        path = write_parquet(frame, Path(folder) / "SIM_USDT-1m.parquet")
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
    event_candles = await _event_candles_per_s(frame)
    ours = _best_candles_per_s(frame, vector_run)
    reference = _best_candles_per_s(frame, reference_run)
    return {
        "backtest.events_per_s": events_per_s,
        "backtest.events": float(events),
        "backtest.event_candles_per_s": event_candles,
        "backtest.candles_per_s": ours,
        "backtest.reference_candles_per_s": reference,
        "ratio.backtest_candles_vs_reference": ours / reference,
    }
