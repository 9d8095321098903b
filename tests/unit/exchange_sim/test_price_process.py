"""The fair-price process: regimes do what their names say; the long run stays in a band."""

from __future__ import annotations

import math
import random
import statistics

from breakout.exchange_sim.price_process import PriceProcess
from breakout.exchange_sim.regimes import Regime


def _in(process: PriceProcess, regime: Regime, duration_s: float) -> None:
    """Force a regime for `duration_s` (the chain's own switch is bypassed for the test)."""
    process.regime = regime
    process.regime_elapsed_s = 0.0
    process.regime_duration_s = duration_s


def test_fakeout_moves_out_then_falls_back_into_the_range() -> None:
    """Averaged over seeds (a single path is mostly noise at these horizons)."""
    halfway, end = [], []
    for seed in range(20):
        rng = random.Random(seed)
        process = PriceProcess.start(100.0, rng, 1.0)
        _in(process, Regime.FAKEOUT, 600.0)
        process.direction = 1.0
        process.range_center_log = process.fair_log
        for step in range(5999):
            process.advance(0.1, rng)
            if step == 2999:
                halfway.append(process.fair_log - process.range_center_log)
        end.append(process.fair_log - process.range_center_log)
    assert statistics.fmean(halfway) > 30 / 1e4  # 10 bps/min for five minutes
    assert abs(statistics.fmean(end)) < 15 / 1e4


def test_retest_returns_toward_the_broken_level() -> None:
    rng = random.Random(2)
    process = PriceProcess.start(100.0, rng, 1.0)
    process.level_log = process.fair_log - 0.01  # broke out 100 bps above the level
    _in(process, Regime.RETEST, 10_000.0)
    for _ in range(3000):
        process.advance(0.1, rng)
    assert process.fair_log - process.level_log < 0.005


def test_dump_goes_down() -> None:
    moves = []
    for seed in range(20):
        rng = random.Random(seed)
        process = PriceProcess.start(100.0, rng, 1.0)
        _in(process, Regime.DUMP, 10_000.0)
        process.direction = -1.0
        start = process.fair_log
        for _ in range(1200):
            process.advance(0.1, rng)
        moves.append(process.fair_log - start)
    assert statistics.fmean(moves) < -30 / 1e4  # 30 bps/min for two minutes


def test_thirty_days_stay_within_a_band_of_the_start() -> None:
    for seed in range(3):
        rng = random.Random(seed)
        process = PriceProcess.start(100.0, rng, 1.0)
        lows, highs = 0.0, 0.0
        for _ in range(30 * 1440 * 4):
            process.advance(15.0, rng)
            lows = min(lows, process.fair_log - math.log(100.0))
            highs = max(highs, process.fair_log - math.log(100.0))
        assert lows > -0.5 and highs < 0.5
        assert len(process.seen) == len(Regime)
