"""A preset and a features config whose lookbacks fit a session of simulated minutes.

Loose liquidity filters (a thin simulated tape), the design's entry thresholds, levels and
indicators on 1-minute bars with short periods: levels and indicators exist after a few minutes.
"""

from __future__ import annotations

from typing import Any

import msgspec

from breakout.common.presets import Preset, parse_preset
from breakout.features.config import FeaturesConfig, IndicatorConfig, LevelsRules

LEVELS = {
    "timeframe": "1m",
    "donchian_bars": 8,
    "min_touches": 1,
    "approach_bars": 3,
    "prebreakout_consolidation_min_bars": 1,
    "history_bars": 40,
}


def short_features_config() -> FeaturesConfig:
    """Short periods, so that levels and indicators exist after a few simulated minutes."""
    return FeaturesConfig(
        levels_rules=msgspec.convert(LEVELS, LevelsRules),
        indicators=IndicatorConfig(
            atr_period=5,
            bb_period=5,
            bb_percentile_lookback=10,
            ema_fast_period=3,
            ema_slow_period=5,
            volume_median_bars=5,
            correlation_bars=10,
            history_bars=40,
        ),
    )


def short_session_preset(name: str, **sections: dict[str, Any]) -> Preset:
    """The preset `name`, with `sections` added (e.g. `execution_config`)."""
    document: dict[str, Any] = {
        "name": name,
        "version": 1,
        "liquidity_filters": {
            "min_24h_volume_usd": 0,
            "max_spread_bps": 50,
            "min_depth_usd_0_3pct": 0,
            "min_depth_usd_0_5pct": 0,
            "min_trades_per_minute": 0,
        },
        "volatility_filters": {
            "atr_pct_min": 0.00001,
            "atr_pct_max": 0.5,
            "bb_width_percentile_max": 100,
            "volume_surge_1h_min": 0,
            "volume_surge_5m_min": 0,
        },
        "correlation": {"limit": 1.0},
        "scanner": {"timeframe": "1m", "interval_s": 30, "top_n": 5, "subscribe_top_n": 5},
        "signal_config": {
            "strategies": ["momentum", "retest"],
            "momentum_volume_k": 1.5,
            "l2_imbalance_min": -1.0,
            "vwap_gap_max_bps": 10_000,
            "density_confirmation": False,
        },
        "levels_rules": LEVELS,
        **sections,
    }
    return parse_preset(msgspec.json.encode(document))
