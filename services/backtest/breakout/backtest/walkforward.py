"""Walk-forward: rolling in-sample / out-of-sample windows, a grid over the preset's declared
ranges in-sample, the best point evaluated out-of-sample, and how stable the chosen point is.

Grid: for each parameter (`section.field`), the preset's value times each of `factors`,
clamped to the range the preset model declares for that field (`msgspec` `Meta` bounds), so
the search never leaves what a preset file could hold. Objective: in-sample net P&L (ties: more
trades, then grid order). Runs go to a `ProcessPoolExecutor` over the available cores; each
worker loads the data once. With `is_engine="vector"` (candle files only) the in-sample grid is
scored by the vector engine in this process (`breakout.backtest.vector`: the preset's momentum
rule over arrays, docs/backtest.md "Engines"); the out-of-sample run stays the event engine's.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from typing import Literal

import msgspec
import numpy as np

from breakout.backtest.inputs import MarketData
from breakout.backtest.report import build_report
from breakout.backtest.run import RunOptions, run_backtest
from breakout.backtest.vector.bars import Bars
from breakout.backtest.vector.run import load_bars, run_vector
from breakout.common.presets import Preset, parse_preset

DEFAULT_PARAMS = (
    "signal_config.momentum_volume_k",
    "signal_config.momentum_body_ratio_min",
    "position_config.momentum_stop_atr",
)
DEFAULT_FACTORS = (0.75, 1.0, 1.25)


class WindowResult(msgspec.Struct, frozen=True, kw_only=True):
    """One window: its bounds, the point chosen in-sample, and both samples' figures."""

    is_start_ms: int
    is_end_ms: int
    oos_end_ms: int
    params: dict[str, float]
    is_net_quote: float
    is_trades: int
    oos_net_quote: float
    oos_trades: int
    oos_win_rate: float | None
    oos_average_r: float | None


def declared_range(preset: Preset, setting: str) -> tuple[float | None, float | None]:
    """The bounds the preset model declares for `section.field`."""
    section_name, field = setting.split(".", 1)
    section_type = type(getattr(preset, section_name))
    info = msgspec.inspect.type_info(section_type)
    assert isinstance(info, msgspec.inspect.StructType)
    for f in info.fields:
        if f.name == field:
            kind = f.type
            low = getattr(kind, "ge", None) or getattr(kind, "gt", None)
            high = getattr(kind, "le", None) or getattr(kind, "lt", None)
            return low, high
    raise ValueError(f"{setting}: no such preset setting")


def grid(preset: Preset, params: Sequence[str], factors: Sequence[float]) -> list[dict[str, float]]:
    """Every combination of each parameter's candidate values (within its declared range)."""
    axes = []
    for setting in params:
        section_name, field = setting.split(".", 1)
        value = float(getattr(getattr(preset, section_name), field))
        low, high = declared_range(preset, setting)
        values = []
        for factor in factors:
            candidate = value * factor
            candidate = max(candidate, low) if low is not None else candidate
            candidate = min(candidate, high) if high is not None else candidate
            if candidate not in values:
                values.append(candidate)
        axes.append(values)
    return [dict(zip(params, combo, strict=True)) for combo in itertools.product(*axes)]


def with_params(preset: Preset, params: dict[str, float]) -> Preset:
    """`preset` with `params` set (validated again: a cross-field rule may refuse a point)."""
    raw = msgspec.to_builtins(preset)
    for setting, value in params.items():
        section, field = setting.split(".", 1)
        raw[section][field] = value
    return parse_preset(msgspec.json.encode(raw))


@lru_cache(maxsize=1)
def _data(data_spec: str) -> MarketData:
    from breakout.backtest.cli import load_data  # noqa: PLC0415 - cli imports this module

    return load_data(msgspec.json.decode(data_spec, type=RunOptions))


def _evaluate(job: tuple[str, str, int, int]) -> tuple[float, int, float | None, float | None]:
    preset_json, data_spec, start_ms, end_ms = job
    preset = parse_preset(preset_json)
    full = _data(data_spec)
    window = MarketData(
        inputs=[i for i in full.inputs if start_ms <= i.ts_ms < end_ms],  # [start, end)
        symbols=full.symbols,
        kinds=full.kinds,
        rules=full.rules,
    )
    options = msgspec.json.decode(data_spec, type=RunOptions)
    output = asyncio.run(run_backtest(preset, window, options))
    perf = build_report(output.events, 100_000.0).overall
    return perf.net_quote, perf.trades, perf.win_rate, perf.average_r


@lru_cache(maxsize=1)
def _bars(data_spec: str) -> list[Bars]:
    from breakout.backtest.cli import data_files  # noqa: PLC0415 - cli imports this module

    options = msgspec.json.decode(data_spec, type=RunOptions)
    if options.data.startswith(("sim", "postgres")):
        raise ValueError("an in-sample search on the vector engine needs candle files")
    return load_bars(data_files(options.data), options.start_ms, options.end_ms)


def window_bars(bars: Bars, start_ms: int, end_ms: int) -> Bars:
    """The bars that open at or after `start_ms` and close before `end_ms`."""
    first = int(np.searchsorted(bars.open_ts_ms, start_ms))
    last = int(np.searchsorted(bars.open_ts_ms, end_ms - bars.span_ms + 1))
    part = slice(first, max(first, last))
    return Bars(
        symbol=bars.symbol,
        open_ts_ms=bars.open_ts_ms[part],
        span_ms=bars.span_ms,
        open=bars.open[part],
        high=bars.high[part],
        low=bars.low[part],
        close=bars.close[part],
        volume=bars.volume[part],
    )


def _evaluate_vector(
    job: tuple[str, str, int, int],
) -> tuple[float, int, float | None, float | None]:
    preset_json, data_spec, start_ms, end_ms = job
    bars = [window_bars(b, start_ms, end_ms) for b in _bars(data_spec)]
    options = msgspec.json.decode(data_spec, type=RunOptions)
    _, report = run_vector(parse_preset(preset_json), bars, options, 100_000.0)
    perf = report.overall
    return perf.net_quote, perf.trades, perf.win_rate, perf.average_r


def walk_forward(
    preset: Preset,
    options: RunOptions,
    *,
    start_ms: int,
    end_ms: int,
    is_ms: int,
    oos_ms: int,
    params: Sequence[str] = DEFAULT_PARAMS,
    factors: Sequence[float] = DEFAULT_FACTORS,
    workers: int | None = None,
    is_engine: Literal["event", "vector"] = "event",
) -> list[WindowResult]:
    """Every window's chosen point and out-of-sample result (see the module docstring)."""
    points = grid(preset, params, factors)
    spec = msgspec.json.encode(options).decode()
    windows = []
    t = start_ms
    while t + is_ms + oos_ms <= end_ms:
        windows.append((t, t + is_ms, t + is_ms + oos_ms))
        t += oos_ms
    results: list[WindowResult] = []
    # The vector search reads the files with polars in this process, and polars' thread pool
    # does not survive a fork: its workers are spawned.
    context = multiprocessing.get_context("spawn") if is_engine == "vector" else None
    with ProcessPoolExecutor(
        max_workers=workers or os.cpu_count() or 1, mp_context=context
    ) as pool:
        for is_start, is_end, oos_end in windows:
            jobs = [
                (msgspec.json.encode(with_params(preset, p)).decode(), spec, is_start, is_end)
                for p in points
            ]
            # The vector screen is faster in this process than a worker's start-up.
            scored = (
                [_evaluate_vector(job) for job in jobs]
                if is_engine == "vector"
                else list(pool.map(_evaluate, jobs))
            )
            best = max(range(len(points)), key=lambda i: (scored[i][0], scored[i][1], -i))
            oos_job = (jobs[best][0], spec, is_end, oos_end)
            oos = pool.submit(_evaluate, oos_job).result()
            results.append(
                WindowResult(
                    is_start_ms=is_start,
                    is_end_ms=is_end,
                    oos_end_ms=oos_end,
                    params=points[best],
                    is_net_quote=scored[best][0],
                    is_trades=scored[best][1],
                    oos_net_quote=oos[0],
                    oos_trades=oos[1],
                    oos_win_rate=oos[2],
                    oos_average_r=oos[3],
                )
            )
    return results


def stability(results: Sequence[WindowResult]) -> dict[str, dict[str, float]]:
    """Per parameter: how often the chosen value changed between windows, and its spread."""
    out: dict[str, dict[str, float]] = {}
    if not results:
        return out
    for name in results[0].params:
        values = [r.params[name] for r in results]
        changes = sum(1 for a, b in itertools.pairwise(values) if a != b)
        mean = sum(values) / len(values)
        spread = (max(values) - min(values)) / abs(mean) if mean else 0.0
        out[name] = {
            "changes": float(changes),
            "windows": float(len(values)),
            "mean": mean,
            "relative_spread": spread,
        }
    return out
