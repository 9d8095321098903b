"""Trend of a macro series: least-squares slope over the last points, graded by thresholds.

A point is the last observation in a bucket of source time (`points`), so how often a feed is
polled does not change what a trend means. The slope is per point (index-based), so a weekend
without DXY candles does not flatten the trend; the move over one lookback is
`slope * lookback_points`, in percent of the window's mean for a relative series (DXY) and in
the series' own units otherwise (BTC.D: percentage points).
"""

from __future__ import annotations

from collections.abc import Sequence

from breakout.common.events.regime import MacroSeries, TrendDirection, TrendReading
from breakout.regime.config import TrendConfig


def points(series: Sequence[tuple[int, float]], bucket_s: float) -> list[float]:
    """The last value of each `bucket_s` of source time, oldest first (`bucket_s` 0: every one).

    `series` is `(source_ts_ms, value)` sorted by time. Empty buckets yield nothing: a gap in
    the feed is a missing point, not a repeated one.
    """
    if bucket_s <= 0:
        return [v for _, v in series]
    bucket_ms = int(bucket_s * 1000)
    out: list[float] = []
    last_bucket: int | None = None
    for ts_ms, value in series:
        bucket = ts_ms // bucket_ms
        if bucket == last_bucket:
            out[-1] = value
        else:
            out.append(value)
            last_bucket = bucket
    return out


def least_squares_slope(values: Sequence[float]) -> float:
    """Slope per step of the least-squares line through `values` at x = 0, 1, 2, ..."""
    n = len(values)
    if n < 2:
        raise ValueError("a slope needs at least two values")
    mean_x = (n - 1) / 2
    mean_y = sum(values) / n
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values))
    variance = sum((x - mean_x) ** 2 for x in range(n))
    return covariance / variance


def grade(change: float, config: TrendConfig) -> TrendDirection:
    """STRONG/WEAK up or down, or FLAT, from a move over the lookback."""
    size = abs(change)
    if size >= config.strong_move:
        return "STRONG_UP" if change > 0 else "STRONG_DOWN"
    if size >= config.weak_move:
        return "WEAK_UP" if change > 0 else "WEAK_DOWN"
    return "FLAT"


def analyze_trend(
    series: MacroSeries, values: Sequence[float], config: TrendConfig
) -> TrendReading:
    """The trend of the last `lookback_points` of `values` (oldest first)."""
    window = list(values[-config.lookback_points :])
    last = window[-1] if window else None
    if len(window) < config.min_points:
        return TrendReading(
            series=series,
            direction="UNKNOWN",
            change=0.0,
            score=0.0,
            last_value=last,
            points=len(window),
            lookback_points=config.lookback_points,
            strong_move=config.strong_move,
            weak_move=config.weak_move,
        )
    change = least_squares_slope(window) * config.lookback_points
    if config.relative:
        mean = sum(window) / len(window)
        if mean == 0:
            raise ValueError(f"{series}: a relative trend needs a non-zero mean")
        change = change / mean * 100.0
    score = max(-1.0, min(1.0, change / config.strong_move))
    return TrendReading(
        series=series,
        direction=grade(change, config),
        change=round(change, 6),
        score=round(score, 6),
        last_value=last,
        points=len(window),
        lookback_points=config.lookback_points,
        strong_move=config.strong_move,
        weak_move=config.weak_move,
    )
