"""The load run's memory figures: a plateau reads as a slope of 0, growth as its MB/min."""

from __future__ import annotations

import pytest

from bench.load import memory_figures


def test_a_plateau_and_a_leak_per_service() -> None:
    # 31 samples 10 s apart: features fills then holds 300 MB; ingest grows 2 MB a minute.
    samples: list[dict[str, object]] = [{"at": 10.0 * i} for i in range(31)]
    memory = [
        {"breakout-features": min(300.0, 200.0 + 10.0 * i), "breakout-ingest:g1": 100.0 + i / 3}
        for i in range(31)
    ]
    figures = memory_figures(samples, memory)
    slope = figures["load.memory_slope_mb_per_min"]
    assert slope == {
        "breakout-features": 0.0,
        "breakout-ingest:g1": pytest.approx(2.0),
        "all": pytest.approx(2.0),
    }
    assert figures["load.rss_mb_by_service_first_third"]["breakout-features"] == 245.0  # type: ignore[index]
    assert figures["load.rss_mb_by_service_last_third"]["breakout-features"] == 300.0  # type: ignore[index]
