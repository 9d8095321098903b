"""A shared candle sample runs through the live cores; the run says which filters had no input."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from breakout.backtest.inputs import from_files
from breakout.backtest.run import MICROSTRUCTURE_FILTERS, RunOptions, run_backtest
from breakout.common.events import BookSnapshot, MarketTrade
from breakout.common.presets import load_preset

SAMPLE = Path(__file__).resolve().parents[4] / "shared" / "data" / "ETH_BTC-5m.feather"
DAY_MS = 86_400_000


@pytest.mark.skipif(not SAMPLE.exists(), reason="the shared samples are absent")
def test_a_candle_sample_reports_the_microstructure_filters_without_input() -> None:
    start_ms = 1_515_560_100_000  # the sample's first bar close (2018-01-10)
    data = from_files([SAMPLE], start_ms=start_ms, end_ms=start_ms + DAY_MS // 2)
    assert "modelled" in data.kinds and data.quote == "BTC"
    options = RunOptions(data=str(SAMPLE), start_ms=start_ms, end_ms=start_ms + DAY_MS // 2)
    output = asyncio.run(run_backtest(load_preset("breakout_v1"), data, options))
    assert set(MICROSTRUCTURE_FILTERS) <= set(output.no_input)
    changed = {a.setting for a in output.adaptations}
    assert "signal_config.density_confirmation" in changed
    assert "scanner.quote" in changed  # the sample is quoted in BTC
    # The modelled path reached the cores: prints and books along the bars.
    assert any(isinstance(e.data, MarketTrade) for e in output.events)
    assert any(isinstance(e.data, BookSnapshot) for e in output.events)
    assert output.preset.ref() != load_preset("breakout_v1").ref()
