"""Candles as arrays, and the per-bar indicators the rule reads, each computed over the array.

Every indicator is of the bars *before* bar i (the channel and the volume median), or of bars up
to i (the ATR), as the features service computes them on each closed bar: the channel is the
levels' Donchian base (`features.levels.donchian`), the ATR is Wilder's smoothing of the true
range seeded with the mean of the first `atr_bars` ranges (`features.indicators`), the volume
median is of the `volume_median_bars` bars before the bar. Undefined values are NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from breakout.common.events import Candle

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Bars:
    """One symbol's candles, oldest first: open times and OHLCV as float arrays."""

    symbol: str
    open_ts_ms: npt.NDArray[np.int64]
    span_ms: int
    open: Floats
    high: Floats
    low: Floats
    close: Floats
    volume: Floats

    def __len__(self) -> int:
        return len(self.close)


def bars_of(symbol: str, candles: Sequence[Candle]) -> Bars:
    """Arrays from candle events of one symbol and timeframe (in time order)."""
    times = np.fromiter((c.open_ts_ms for c in candles), np.int64, len(candles))
    span = int(candles[0].close_ts_ms - candles[0].open_ts_ms + 1) if candles else 60_000

    def column(name: str) -> Floats:
        return np.fromiter((getattr(c, name) for c in candles), np.float64, len(candles))

    return Bars(
        symbol=symbol,
        open_ts_ms=times,
        span_ms=span,
        open=column("open"),
        high=column("high"),
        low=column("low"),
        close=column("close"),
        volume=column("volume"),
    )


def resample(bars: Bars, span_ms: int) -> Bars:
    """Complete bars of `span_ms` (a multiple of the bars' span) aggregated from `bars`."""
    if span_ms == bars.span_ms or len(bars) == 0:
        return bars
    if span_ms % bars.span_ms:
        raise ValueError(f"{span_ms} ms is not a multiple of the data's {bars.span_ms} ms bars")
    group = bars.open_ts_ms // span_ms
    starts = np.flatnonzero(np.concatenate(([True], group[1:] != group[:-1])))
    counts = np.diff(np.concatenate((starts, [len(bars)])))
    complete = counts == span_ms // bars.span_ms  # a group missing a bar is not a candle
    ends = starts + counts - 1
    return Bars(
        symbol=bars.symbol,
        open_ts_ms=(group[starts] * span_ms)[complete],
        span_ms=span_ms,
        open=bars.open[starts][complete],
        high=np.maximum.reduceat(bars.high, starts)[complete],
        low=np.minimum.reduceat(bars.low, starts)[complete],
        close=bars.close[ends][complete],
        volume=np.add.reduceat(bars.volume, starts)[complete],
    )


def _windows(values: Floats, n: int) -> npt.NDArray[np.float64]:
    """Each full window of `n` values ending at index n - 1 .. len - 1 (a view, no copy)."""
    return np.lib.stride_tricks.sliding_window_view(values, n)


def _rolling(values: Floats, n: int, reduce: str, *, before: bool) -> Floats:
    """A rolling max / min / median of `n` values ending at each index (`before`: at i - 1)."""
    out = np.full(len(values), np.nan)
    if len(values) < n + before:
        return out
    windows = _windows(values[:-1] if before else values, n)
    reduced = np.median(windows, axis=1) if reduce == "median" else getattr(windows, reduce)(1)
    out[n - 1 + before :] = reduced
    return out


def rolling_low(bars: Bars, n: int) -> Floats:
    """Lowest low of the `n` bars up to and including each bar (NaN for the first n - 1)."""
    return _rolling(bars.low, n, "min", before=False)


def channel(bars: Bars, n: int) -> tuple[Floats, Floats]:
    """Highest high and lowest low of the `n` bars before each bar (NaN for the first `n`)."""
    return _rolling(bars.high, n, "max", before=True), _rolling(bars.low, n, "min", before=True)


def volume_median(bars: Bars, n: int) -> Floats:
    """Median volume of the `n` bars before each bar (NaN for the first `n`)."""
    return _rolling(bars.volume, n, "median", before=True)


def atr(bars: Bars, n: int) -> Floats:
    """Wilder's ATR as of each bar's close (the first bar has no range: NaN until n ranges)."""
    out = np.full(len(bars), np.nan)
    if len(bars) <= n:
        return out
    previous = bars.close[:-1]
    true_range = np.maximum.reduce(
        [
            bars.high[1:] - bars.low[1:],
            np.abs(bars.high[1:] - previous),
            np.abs(bars.low[1:] - previous),
        ]
    )
    seed = float(np.sum(true_range[:n]) / n)
    # ewm without adjustment, started at the seed: y = (1 - 1/n) y' + x / n, as Wilder smooths.
    series = pl.Series(np.concatenate(([seed], true_range[n:])))
    out[n:] = series.ewm_mean(alpha=1.0 / n, adjust=False).to_numpy()
    return out
