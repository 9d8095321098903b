"""Walk-forward on tiny windows of seeded exchange_sim data, and its grid."""

from __future__ import annotations

import pytest

from breakout.backtest.run import RunOptions
from breakout.backtest.walkforward import declared_range, grid, stability, walk_forward
from breakout.common.presets import load_preset

START_MS = 1_767_225_600_000  # 2026-01-01T00:00Z
MINUTE_MS = 60_000


def test_the_grid_stays_within_the_declared_range() -> None:
    preset = load_preset("breakout_v1")
    low, high = declared_range(preset, "risk.min_reward_risk")
    assert (low, high) == (0.5, 20.0)
    points = grid(preset, ["risk.min_reward_risk"], (0.01, 1.0, 100.0))
    assert [p["risk.min_reward_risk"] for p in points] == [0.5, preset.risk.min_reward_risk, 20.0]
    with pytest.raises(ValueError, match="no such preset setting"):
        declared_range(preset, "risk.no_such_field")


@pytest.mark.slow
def test_walk_forward_rolls_windows_and_picks_a_grid_point_in_sample() -> None:
    preset = load_preset("breakout_v1")
    options = RunOptions(
        data="sim:ETHUSDT", seed=7, start_ms=START_MS, end_ms=START_MS + 6 * 60_000
    )
    setting = "signal_config.momentum_volume_k"
    results = walk_forward(
        preset,
        options,
        start_ms=START_MS,
        end_ms=START_MS + 6 * MINUTE_MS,
        is_ms=3 * MINUTE_MS,
        oos_ms=int(1.5 * MINUTE_MS),
        params=(setting,),
        factors=(1.0, 1.25),
        workers=1,
    )
    # [0, 3) then [3, 4.5); stepped by the OOS length: [1.5, 4.5) then [4.5, 6).
    assert [(r.is_start_ms, r.is_end_ms, r.oos_end_ms) for r in results] == [
        (START_MS, START_MS + 3 * MINUTE_MS, START_MS + int(4.5 * MINUTE_MS)),
        (
            START_MS + int(1.5 * MINUTE_MS),
            START_MS + int(4.5 * MINUTE_MS),
            START_MS + 6 * MINUTE_MS,
        ),
    ]
    candidates = {p[setting] for p in grid(preset, [setting], (1.0, 1.25))}
    for result in results:
        assert result.params[setting] in candidates
        assert result.is_trades >= 0 and result.oos_trades >= 0
    summary = stability(results)
    assert summary[setting]["windows"] == 2.0
    assert summary[setting]["changes"] in (0.0, 1.0)
