"""The simulator stays near the real BTCUSDT samples (skipped where ../shared/data is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from breakout.exchange_sim.measure import real_btcusdt, simulated

DATA = Path(__file__).resolve().parents[4] / "shared" / "data"


@pytest.mark.skipif(not DATA.exists(), reason="no ../shared/data on this machine")
def test_simulated_btcusdt_is_within_bands_of_the_real_samples() -> None:
    real_tape, real_book = real_btcusdt(DATA)
    sim_tape, sim_book = simulated("BTCUSDT", seed=1, seconds=600)

    def within(sim: float, real: float, factor: float) -> bool:
        return real / factor <= sim <= real * factor

    assert within(sim_tape.trades_per_s, real_tape.trades_per_s, 1.5)
    assert within(sim_tape.median_notional, real_tape.median_notional, 1.5)
    assert abs(sim_tape.log_notional_sd - real_tape.log_notional_sd) < 0.4  # heavy tails
    assert sim_tape.interarrival_cv > 1.4  # clustered: Poisson would give 1
    assert sim_tape.fano_1s > 4  # bursty: Poisson would give 1
    assert within(sim_tape.same_ms_share, real_tape.same_ms_share, 1.5)
    assert 0.35 < sim_tape.buy_share < 0.65
    assert sim_book.spread_ticks_median == real_book.spread_ticks_median == 1
    assert within(sim_book.touch_notional_median, real_book.touch_notional_median, 2.5)
    assert within(sim_book.levels_within_5bps, real_book.levels_within_5bps, 2.0)
    assert within(sim_book.level_notional_median, real_book.level_notional_median, 2.0)
