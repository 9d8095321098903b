"""Signal features, against hand-computed values."""

from __future__ import annotations

import math

import pytest

from breakout.signals.mlfeatures import FEATURE_NAMES, FEATURES, signal_features
from tests.unit.ml.factories import signal


def named(values: list[float]) -> dict[str, float]:
    return dict(zip(FEATURE_NAMES, values, strict=True))


def test_there_are_thirty_plus_named_documented_features() -> None:
    assert len(FEATURE_NAMES) >= 30
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    assert all(description for _, description in FEATURES)


def test_a_long_momentum_signal() -> None:
    f = named(signal_features(signal()))
    assert f["risk_pct"] == pytest.approx(2.0)  # |100 - 98| / 100
    assert f["risk_atr"] == pytest.approx(2.0)  # R 2 / ATR 1
    assert f["atr_pct"] == pytest.approx(1.0)
    assert f["has_atr"] == 1.0
    assert f["level_dist_bps"] == pytest.approx(50.0)  # 0.5 / 100 in bps
    assert f["level_dist_atr"] == pytest.approx(0.5)
    assert f["level_dist_r"] == pytest.approx(0.25)
    assert f["base_height_pct"] == pytest.approx(3.0)
    assert f["base_height_r"] == pytest.approx(1.5)
    assert f["swing_dist_bps"] == pytest.approx(150.0)
    assert f["limit_offset_bps"] == 0.0  # market order, no limit
    assert f["confidence"] == 0.8
    assert f["side_long"] == 1.0
    assert f["strategy_momentum"] == 1.0 and f["strategy_retest"] == 0.0
    assert f["order_market"] == 1.0 and f["order_limit"] == 0.0
    # 06:00 UTC is a quarter of the day.
    assert f["hour_sin"] == pytest.approx(1.0) and f["hour_cos"] == pytest.approx(0.0, abs=1e-12)
    assert f["expiry_s"] == 900.0
    assert f["bar_range_pct"] == pytest.approx(2.0)  # (100.5 - 98.5) / 100
    assert f["bar_body_ratio"] == pytest.approx(0.5)  # (100 - 99) / 2
    assert f["bar_close_pos"] == pytest.approx(0.75)  # (100 - 98.5) / 2
    assert f["volume_vs_median"] == pytest.approx(3.0)
    assert f["imbalance"] == pytest.approx(0.4)
    assert f["tpm_vs_baseline"] == pytest.approx(1.5)
    assert f["vwap_gap_bps"] == pytest.approx(12.0)
    assert f["level_strength"] == pytest.approx(0.7)
    assert f["checks_total"] == 3.0 and f["checks_skipped"] == 1.0
    # margins relative to |threshold|: 1/2 and 0.1/0.5
    assert f["margin_min_rel"] == pytest.approx(0.2)
    assert f["margin_mean_rel"] == pytest.approx(0.35)


def test_a_short_signs_directional_features_toward_the_trade() -> None:
    short = signal(
        side="short",
        entry_price=100.0,
        stop_price=102.0,
        level_price=100.5,
        swing_price=101.5,
        inputs={"open": 101.0, "high": 101.5, "low": 99.5, "close": 100.0, "imbalance": -0.4},
    )
    f = named(signal_features(short))
    assert f["side_long"] == 0.0
    assert f["level_dist_bps"] == pytest.approx(50.0)
    assert f["swing_dist_bps"] == pytest.approx(150.0)
    assert f["bar_body_ratio"] == pytest.approx(0.5)
    assert f["bar_close_pos"] == pytest.approx(0.75)  # 0.25 of the range from the low
    assert f["imbalance"] == pytest.approx(0.4)


def test_missing_inputs_give_zero_and_their_flags() -> None:
    bare = signal(atr_5m=None, base_height=None, swing_price=None, inputs={}, checks=[])
    values = signal_features(bare)
    f = named(values)
    assert f["has_atr"] == 0.0 and f["risk_atr"] == 0.0 and f["level_dist_atr"] == 0.0
    assert f["has_base_height"] == 0.0 and f["has_swing"] == 0.0
    assert f["volume_vs_median"] == 0.0 and f["checks_total"] == 0.0
    assert all(math.isfinite(v) for v in values)
