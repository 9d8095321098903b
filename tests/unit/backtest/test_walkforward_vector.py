"""Walk-forward with the in-sample grid scored by the vector engine, on a candle file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import backtest_bench as bench
from breakout.backtest.run import RunOptions
from breakout.backtest.vector.run import load_bars, run_vector
from breakout.backtest.walkforward import grid, walk_forward, window_bars, with_params
from breakout.common.presets import load_preset

HOUR_MS = 3_600_000
SETTING = "signal_config.momentum_volume_k"
FACTORS = (0.5, 1.0)


def test_the_vector_in_sample_search_picks_the_vector_engines_best_point(tmp_path: Path) -> None:
    path = bench.write_parquet(bench.candles(2_000, seed=5), tmp_path / "SIM_USDT-1m.parquet")
    (bars,) = load_bars([path], None, None)
    start = int(bars.open_ts_ms[0])
    preset = load_preset("breakout_v1")
    options = RunOptions(data=str(path))
    (result,) = walk_forward(
        preset,
        options,
        start_ms=start,
        end_ms=start + 31 * HOUR_MS,
        is_ms=30 * HOUR_MS,
        oos_ms=HOUR_MS,
        params=(SETTING,),
        factors=FACTORS,
        workers=1,
        is_engine="vector",
    )
    in_sample = window_bars(bars, start, start + 30 * HOUR_MS)
    assert len(in_sample) == 30 * 60
    scored = [
        run_vector(with_params(preset, point), [in_sample], options, 100_000.0)[1].overall
        for point in grid(preset, (SETTING,), FACTORS)
    ]
    best = max(range(len(scored)), key=lambda i: (scored[i].net_quote, scored[i].trades, -i))
    assert sum(perf.trades for perf in scored) > 0  # the search had something to choose from
    assert result.params == grid(preset, (SETTING,), FACTORS)[best]
    assert result.is_net_quote == pytest.approx(scored[best].net_quote)
    assert result.is_trades == scored[best].trades
    assert result.oos_trades >= 0  # out of sample: the event engine, over the next hour


def test_the_vector_search_refuses_data_that_is_not_candle_files() -> None:
    preset = load_preset("breakout_v1")
    with pytest.raises(ValueError, match="candle files"):
        walk_forward(
            preset,
            RunOptions(data="sim:ETHUSDT", seed=7),
            start_ms=0,
            end_ms=2 * HOUR_MS,
            is_ms=HOUR_MS,
            oos_ms=HOUR_MS,
            params=(SETTING,),
            factors=(1.0,),
            workers=1,
            is_engine="vector",
        )
