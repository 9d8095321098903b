"""The vector engine on hand-built bars: the rule, the fills, the indicators, the preset map."""

from __future__ import annotations

import math
import statistics

import msgspec
import numpy as np
import pytest

from bench import backtest_bench as bench
from breakout.backtest.vector.bars import Bars, atr, channel, resample, volume_median
from breakout.backtest.vector.engine import run_bars
from breakout.backtest.vector.rules import CandleRules, donchian_rules, rules_from_preset
from breakout.common.presets import load_preset
from breakout.features.indicators import SmoothedAverage, true_range
from breakout.features.levels import donchian

MINUTE = 60_000


def make_bars(rows: list[tuple[float, float, float, float]], volume: float = 10.0) -> Bars:
    """Bars from (open, high, low, close) rows, one minute apart."""
    table = np.array(rows, dtype=np.float64)
    return Bars(
        symbol="TESTUSDT",
        open_ts_ms=np.arange(len(rows), dtype=np.int64) * MINUTE,
        span_ms=MINUTE,
        open=table[:, 0],
        high=table[:, 1],
        low=table[:, 2],
        close=table[:, 3],
        volume=np.full(len(rows), volume),
    )


FLAT = [(100.0, 101.0, 99.0, 100.0)] * 3
BREAKOUT = (100.0, 102.0, 100.0, 101.5)  # closes above the 3-bar high of 101


def stop_rules() -> CandleRules:
    # No ATR needed: with atr_bars=1 the ATR is the last true range (2.0 on FLAT).
    return CandleRules(channel_bars=3, stop_atr=1.0, atr_bars=1, target_r=2.0, channel_exit=False)


def test_breakout_fills_at_next_open_and_channel_exit_at_the_open_after_the_signal() -> None:
    rows = [*FLAT, BREAKOUT, (101.6, 103, 101, 102), (102, 102.5, 97, 98.0), (97.5, 98, 96, 97)]
    trades = run_bars(make_bars(rows), donchian_rules(3)).trades
    assert [(t.entry_bar, t.exit_bar, t.reason) for t in trades] == [(4, 6, "channel")]
    assert (trades[0].entry_price, trades[0].exit_price) == (101.6, 97.5)


def test_stop_and_target_in_one_bar_follow_the_path_or_take_the_stop() -> None:
    # entry 101.6, stop = 101.5 - 1 x ATR(1) 2.0 = 99.5, target = 101.6 + 2 x 2.1 = 105.8
    closed_up = [*FLAT, BREAKOUT, (101.6, 102, 101, 101.5), (101.5, 106, 99, 103)]
    (trade,) = run_bars(make_bars(closed_up), stop_rules()).trades
    assert (trade.stop_price, trade.target_price) == pytest.approx((99.5, 105.8))
    # The low came first; the stop fires on that print and sells there.
    assert (trade.exit_bar, trade.reason, trade.exit_price) == (5, "stop", 99.0)
    closed_down = [*closed_up[:5], (101.5, 106, 99, 100)]
    (trade,) = run_bars(make_bars(closed_down), stop_rules()).trades
    assert (trade.reason, trade.exit_price) == ("target", 106.0)  # the high came first
    stop_first = msgspec.structs.replace(stop_rules(), stop_first=True)
    (trade,) = run_bars(make_bars(closed_down), stop_first).trades
    assert (trade.reason, trade.exit_price) == ("stop", 99.0)


def test_a_gap_through_the_stop_sells_at_the_open_and_a_target_at_the_crossing_print() -> None:
    gap = [*FLAT, BREAKOUT, (101.6, 102, 101, 101.5), (98.0, 98.5, 97, 98)]
    (trade,) = run_bars(make_bars(gap), stop_rules()).trades
    assert (trade.reason, trade.exit_price) == ("stop", 98.0)
    up = [*FLAT, BREAKOUT, (101.6, 102, 101, 101.5), (102.0, 106, 101.8, 105)]
    (trade,) = run_bars(make_bars(up), stop_rules()).trades
    assert (trade.reason, trade.exit_price) == ("target", 106.0)


def test_spread_slippage_and_the_last_bar() -> None:
    rules = msgspec.structs.replace(stop_rules(), half_spread_bps=1.0, slippage_bps=2.0)
    rows = [*FLAT, BREAKOUT, (101.6, 102, 101, 101.5), (98.0, 98.5, 97, 98)]
    (trade,) = run_bars(make_bars(rows), rules).trades
    assert trade.entry_price == pytest.approx(101.6 * 1.0003)
    assert trade.exit_price == pytest.approx(98.0 * 0.9997)
    last = run_bars(make_bars([*FLAT, BREAKOUT]), donchian_rules(3))
    assert (last.trades, last.open_entry_bar, last.signals) == ([], None, 0)  # no next open


def test_one_position_at_a_time_and_open_at_the_end() -> None:
    rows = [*FLAT, BREAKOUT, (101.6, 103, 101.5, 102.5), (102.5, 104, 102, 103.5)]
    result = run_bars(make_bars(rows), donchian_rules(3))
    assert (result.trades, result.open_entry_bar, result.signals) == ([], 4, 2)


def random_bars(n: int, seed: int = 3) -> Bars:
    """The bench's seeded random walk, as arrays."""
    return bench.bars_of_frame(bench.candles(n, seed=seed))


def test_indicators_equal_the_features_services() -> None:
    bars = random_bars(120)
    upper, lower = channel(bars, 20)
    median = volume_median(bars, 20)
    ranges = atr(bars, 14)
    wilder = SmoothedAverage.wilder(14)
    for i in range(1, len(bars)):
        bar = (0, bars.open[i], bars.high[i], bars.low[i], bars.close[i], bars.volume[i], 0.0)
        expected = wilder.update(true_range(bar, bars.close[i - 1]))
        assert (math.isnan(ranges[i]) and expected is None) or ranges[i] == pytest.approx(expected)
    for i in range(20, len(bars)):
        window = [(0, 0.0, bars.high[k], bars.low[k], 0.0, 0.0, 0.0) for k in range(i - 20, i)]
        assert (upper[i], lower[i]) == donchian(window, 20)
        assert median[i] == statistics.median(bars.volume[i - 20 : i])
    assert np.isnan(upper[:20]).all() and np.isnan(median[:20]).all()


def test_resample_keeps_complete_bars_only() -> None:
    bars = random_bars(12)
    five = resample(bars, 5 * MINUTE)
    assert len(five) == 2  # minutes 10 and 11 do not make a 5-minute bar
    assert five.open[1] == bars.open[5] and five.close[1] == bars.close[9]
    assert five.high[0] == bars.high[:5].max() and five.low[1] == bars.low[5:10].min()
    assert five.volume[0] == pytest.approx(bars.volume[:5].sum())


def test_a_preset_maps_its_momentum_rule_and_lists_what_is_not_computed() -> None:
    preset = load_preset("breakout_v1")
    rules, missing = rules_from_preset(preset)
    assert rules.timeframe_ms == 5 * MINUTE
    assert rules.channel_bars == preset.levels_rules.donchian_bars
    assert rules.volume_k == preset.signal_config.momentum_volume_k
    assert rules.target_projection and rules.target_r is None  # risk's projection target
    assert rules.min_reward_risk == preset.risk.min_reward_risk
    settings = {a.setting for a in missing}
    assert {"scanner", "signal_config.strategies", "position_config.tp1_r"} <= settings
    assert all(a.now == "not modelled" for a in missing)
    no_momentum = msgspec.structs.replace(
        preset,
        signal_config=msgspec.structs.replace(preset.signal_config, strategies=("retest",)),
    )
    with pytest.raises(ValueError, match="momentum rule only"):
        rules_from_preset(no_momentum)
