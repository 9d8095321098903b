"""Parameters of every feature, as frozen structs with the design's defaults.

They live here, beside the preset model, because a preset carries some of them
(`density_config`, `levels_rules`, `activity_config`) and the features service reads the same
structs; the names of the preset keys are kept where the design gives them.
"""

from __future__ import annotations

from typing import Literal

import msgspec

Timeframe = Literal["1m", "5m", "15m", "1h"]


class _Config(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base: immutable, keyword-only, unknown keys refused (a typo is an error, not a default)."""


class TradeWindowsConfig(_Config, frozen=True):
    """Rolling trade windows (the design's 10 s / 60 s / 300 s)."""

    windows_s: tuple[int, ...] = (10, 60, 300)

    def __post_init__(self) -> None:
        if not self.windows_s or any(w <= 0 for w in self.windows_s):
            raise ValueError(f"windows_s must be positive, got {self.windows_s}")
        if list(self.windows_s) != sorted(set(self.windows_s)):
            raise ValueError(f"windows_s must be strictly increasing, got {self.windows_s}")


class BookConfig(_Config, frozen=True):
    """Order-book metrics: USD depth bands around mid (percent), cumulative per side."""

    depth_bands_pct: tuple[float, ...] = (0.1, 0.3, 0.5, 1.0, 2.0)
    imbalance_band_pct: float = 0.5

    def __post_init__(self) -> None:
        if any(b <= 0 for b in self.depth_bands_pct):
            raise ValueError("depth_bands_pct must be positive")
        if self.imbalance_band_pct <= 0:
            raise ValueError("imbalance_band_pct must be positive")


class DensityConfig(_Config, frozen=True):
    """Liquidity walls (the preset's `density_config`)."""

    k_density: float = 7.0
    bucket_ticks: int = 3
    lookback_window_s: int = 300
    # A DensityEaten is emitted each time the eaten ratio passes another multiple of this.
    eaten_report_step: float = 0.25
    # A wall with less than this share of its initial size left is gone.
    remove_below_ratio: float = 0.1
    # Hysteresis, so that a level flickering around the threshold or the snapshot's edge is not
    # a stream of walls. A bucket becomes a wall only once it has held k_density x the reference
    # for this long (a size seen in one snapshot only is not a wall to a trader: 0 = at once).
    min_standing_s: float = 2.0
    # Nor in the deepest this-many buckets of a side: the last one is cut by the snapshot's
    # depth, and the price leaves them first.
    edge_margin_buckets: int = 1
    # A wall whose bucket is not fully in view (at or beyond the deepest bucket) is held as it
    # was, and removed (`out_of_view`) only after being out of view this long.
    out_of_view_grace_s: float = 5.0
    # A bucket whose wall was removed is not detected again as a new wall for this long.
    redetect_cooldown_s: float = 30.0
    # Exchange tick sizes by symbol; a symbol not listed has its tick inferred from the prices.
    tick_sizes: dict[str, float] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.k_density <= 1:
            raise ValueError("k_density must be > 1")
        if self.bucket_ticks < 1 or self.lookback_window_s <= 0:
            raise ValueError("bucket_ticks must be >= 1 and lookback_window_s > 0")
        if not 0 < self.eaten_report_step <= 1 or not 0 <= self.remove_below_ratio < 1:
            raise ValueError("eaten_report_step must be in (0, 1], remove_below_ratio in [0, 1)")
        hysteresis = ("min_standing_s", "edge_margin_buckets", "out_of_view_grace_s")
        for name in (*hysteresis, "redetect_cooldown_s"):
            if not 0 <= getattr(self, name) <= 3600:
                raise ValueError(f"{name} must be in [0, 3600], got {getattr(self, name)}")


class ActivityConfig(_Config, frozen=True):
    """Activity index and drop detection (the preset's `activity_drop_threshold`)."""

    activity_drop_threshold: float = 0.4
    sample_interval_s: int = 1
    # The baseline is this much history, ending one TPM window before the current sample.
    history_s: int = 1800
    min_history_s: int = 300
    # After a drop, activity counts as recovered when the drop is back under this share of
    # the threshold (hysteresis, so a drop hovering at the threshold is not re-announced).
    rearm_ratio: float = 0.5
    tpm_window_s: int = 60
    tps_window_s: int = 10
    delta_window_s: int = 60

    def __post_init__(self) -> None:
        if not 0 < self.activity_drop_threshold < 1:
            raise ValueError("activity_drop_threshold must be in (0, 1)")
        if self.sample_interval_s <= 0 or self.min_history_s > self.history_s:
            raise ValueError("sample_interval_s must be > 0 and min_history_s <= history_s")


class LevelsRules(_Config, frozen=True):
    """Levels (the preset's `levels_rules`), on closed candles of `timeframe`."""

    timeframe: Timeframe = "5m"
    donchian_bars: int = 20
    min_touches: int = 2
    # A bar touches a level when its extreme is within this many ATRs of it.
    touch_tolerance_atr: float = 0.25
    # Wick filter: a touch made by a wick longer than this many ATRs beyond the bar's body
    # is a spike (a stop run), not a test of the level; it does not count.
    max_wick_atr: float = 1.0
    # Time validity: a level whose last touch is older than this is stale.
    max_age_bars: int = 100
    prefer_round_numbers: bool = True
    round_step_candidates: tuple[float, ...] = (0.01, 0.05, 0.10, 1.00, 5.00, 10.00)
    # A price is on a round number when within this many bps (and a tenth of the step) of a
    # multiple of the step.
    round_tolerance_bps: float = 5.0
    # A step finer than this share of the price is noise, not a round number.
    round_min_step_bps: float = 5.0
    cascade_min_levels: int = 2
    cascade_radius_bps: float = 15.0
    approach_slope_max_pct_per_bar: float = 1.5
    approach_bars: int = 5
    prebreakout_consolidation_min_bars: int = 3
    # Consolidation: closes within this many ATRs below a resistance (above a support).
    consolidation_band_atr: float = 1.0
    swing_bars: int = 2
    history_bars: int = 300
    # Trading sessions in UTC hours [start, end): the macro-aware design's liquidity engine.
    sessions_utc: dict[str, tuple[int, int]] = msgspec.field(
        default_factory=lambda: {"asia": (0, 8), "london": (7, 16), "new_york": (13, 22)}
    )

    def __post_init__(self) -> None:
        if self.donchian_bars < 2 or self.min_touches < 1:
            raise ValueError("donchian_bars must be >= 2 and min_touches >= 1")
        if any(step <= 0 for step in self.round_step_candidates):
            raise ValueError("round_step_candidates must be positive")
        if self.cascade_min_levels < 2:
            raise ValueError("cascade_min_levels must be >= 2")
        if self.history_bars < self.donchian_bars + self.approach_bars:
            raise ValueError("history_bars must cover donchian_bars + approach_bars")


class IndicatorConfig(_Config, frozen=True):
    """Indicators on closed candles."""

    atr_period: int = 14
    bb_period: int = 20
    bb_std: float = 2.0
    bb_percentile_lookback: int = 100
    ema_fast_period: int = 9
    ema_slow_period: int = 21
    volume_median_bars: int = 20
    correlation_bars: int = 100
    correlation_symbol: str = "BTCUSDT"
    history_bars: int = 300

    def __post_init__(self) -> None:
        periods = (self.atr_period, self.bb_period, self.ema_fast_period, self.ema_slow_period)
        if min(periods) < 1 or self.correlation_bars < 3:
            raise ValueError("indicator periods must be >= 1 and correlation_bars >= 3")
        if self.history_bars < max(*periods, self.volume_median_bars, self.correlation_bars):
            raise ValueError("history_bars must cover the longest indicator period")

    @property
    def bars_read(self) -> int:
        """The most recent candles any indicator reads: the correlation's returns (one more
        close than returns), the volume median before the bar, the Bollinger window."""
        return max(self.correlation_bars + 1, self.volume_median_bars + 1, self.bb_period, 2)


class OrderFlowConfig(_Config, frozen=True):
    """Order flow on closed candles of the levels timeframe (the integration guide's
    `ORDER_FLOW_IMBALANCE_THRESHOLD` is `imbalance_threshold`)."""

    window_bars: int = 50
    divergence_bars: int = 20
    imbalance_threshold: float = 0.3
    max_zones: int = 5
    climax_volume_k: float = 2.0
    absorption_body_atr: float = 0.3
    exhaustion_run_bars: int = 3
    volume_median_bars: int = 20

    def __post_init__(self) -> None:
        if not 0 < self.imbalance_threshold <= 1 or self.divergence_bars < 2:
            raise ValueError("imbalance_threshold must be in (0, 1] and divergence_bars >= 2")


class WyckoffConfig(_Config, frozen=True):
    """Trading ranges on the levels timeframe (`WYCKOFF_MIN_RANGE_BARS` of the guide)."""

    min_range_bars: int = 20
    # A range is at most this many ATRs tall; the move before it at least `trend_atr` ATRs.
    max_range_atr: float = 6.0
    trend_bars: int = 20
    trend_atr: float = 3.0
    profile_bins: int = 12
    value_area_share: float = 0.7

    def __post_init__(self) -> None:
        if self.min_range_bars < 3 or self.profile_bins < 1:
            raise ValueError("min_range_bars must be >= 3 and profile_bins >= 1")
        if not 0 < self.value_area_share <= 1:
            raise ValueError("value_area_share must be in (0, 1]")


class EmitConfig(_Config, frozen=True):
    """How often periodic feature events are recorded, in exchange time per symbol."""

    activity_interval_s: int = 5
    book_interval_s: int = 5
