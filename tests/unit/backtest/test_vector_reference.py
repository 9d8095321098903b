"""The bench's comparison is honest: on the bench's candles the vector engine's Donchian rule and
backtesting.py's take the same trades (entry and exit bars, and prices)."""

from __future__ import annotations

import pytest

from bench import backtest_bench as bench
from breakout.backtest.vector.engine import run_bars
from breakout.backtest.vector.rules import donchian_rules


@pytest.mark.parametrize("seed", [5, 11])
def test_vector_donchian_takes_backtesting_py_trades(seed: int) -> None:
    frame = bench.candles(bench.CANDLES, seed=seed)
    reference = bench.reference_run(frame)
    ours = run_bars(bench.bars_of_frame(frame), donchian_rules(bench.DONCHIAN_BARS)).trades

    assert len(reference) >= 5  # enough trades that agreement says something
    assert [(t.entry_bar, t.exit_bar) for t in ours] == list(
        zip(reference["EntryBar"], reference["ExitBar"], strict=True)
    )
    # No spread or slippage in the textbook rule: both fill at the next bar's open.
    assert [t.entry_price for t in ours] == pytest.approx(list(reference["EntryPrice"]))
    assert [t.exit_price for t in ours] == pytest.approx(list(reference["ExitPrice"]))
    assert {t.reason for t in ours} == {"channel"}
    assert bench.vector_run(frame) == [(t.entry_bar, t.exit_bar) for t in ours]
