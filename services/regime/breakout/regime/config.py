"""Parameters of the regime core, with the macro-aware design's defaults (see docs/regime.md).

Everything the core decides with lives in one frozen `RegimeConfig`; its `config_id` (a short
hash of the whole config) is written into every decision event, so a decision names the exact
parameters that produced it.
"""

from __future__ import annotations

import hashlib

import msgspec

from breakout.common.events.regime import (
    Impact,
    RegimePermissions,
    RegimeState,
    RegimeWeights,
)

# `demo` is breakout_v1 on one-minute bars (what `make run` trades): it follows breakout_v1.
ALL_LONG_PRESETS = ["breakout_v1", "high_liquidity_top30", "high_percent_breakout", "demo"]


class _Config(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of config structs: frozen, keyword-only, unknown fields refused."""


class TrendConfig(_Config, frozen=True, kw_only=True):
    """Trend of one series: a least-squares slope over the last `lookback_points` points.

    A point is the last observation in each `bucket_s` of source time (hourly by default), so
    the lookback spans the same time however often the feed is polled: 24 polls two minutes
    apart are 48 minutes of a series, not the day the thresholds are set for. `bucket_s` 0
    takes every observation as a point. `relative` measures the move in percent of the mean
    (DXY); otherwise in the series' own units (BTC.D: percentage points). Moves at or past
    `strong_move` are strong, past `weak_move` weak, anything smaller is flat.
    """

    lookback_points: int = 24
    min_points: int = 6
    strong_move: float = 0.5
    weak_move: float = 0.1
    relative: bool = False
    bucket_s: float = 3600.0

    def __post_init__(self) -> None:
        if self.bucket_s < 0:
            raise ValueError("trend: bucket_s must be >= 0")
        if not 2 <= self.min_points <= self.lookback_points:
            raise ValueError("trend: need 2 <= min_points <= lookback_points")
        if not 0 < self.weak_move < self.strong_move:
            raise ValueError("trend: need 0 < weak_move < strong_move")


class NewsConfig(_Config, frozen=True, kw_only=True):
    """How classified news counts: lifetime by impact, weight by impact, saturation.

    The news score is the impact- and freshness-weighted sum of sentiments divided by
    max(total weight, `saturation_weight`): one fresh HIGH headline alone can move it fully,
    one LOW headline only a third of the way.
    """

    expiry_s: dict[Impact, float] = msgspec.field(
        default_factory=lambda: {"HIGH": 4 * 3600.0, "MEDIUM": 2 * 3600.0, "LOW": 3600.0}
    )
    impact_weight: dict[Impact, float] = msgspec.field(
        default_factory=lambda: {"HIGH": 3.0, "MEDIUM": 2.0, "LOW": 1.0}
    )
    saturation_weight: float = 3.0


class FlowConfig(_Config, frozen=True, kw_only=True):
    """Capital flow from BTC dominance momentum (percentage points over `momentum_points`)."""

    momentum_points: int = 6
    flow_threshold_pp: float = 0.3
    strong_momentum_pp: float = 1.0
    continuation_min_strength: float = 0.5

    def __post_init__(self) -> None:
        if not 0 < self.flow_threshold_pp < self.strong_momentum_pp:
            raise ValueError("flow: need 0 < flow_threshold_pp < strong_momentum_pp")


def _default_permissions() -> dict[RegimeState, RegimePermissions]:
    return {
        "RISK_ON": RegimePermissions(
            sides_allowed=["long"],
            presets_allowed=[*ALL_LONG_PRESETS, "smallcap_top_gainers"],
            size_multiplier=1.0,
        ),
        "RISK_OFF": RegimePermissions(
            sides_allowed=["short"],
            presets_allowed=["breakout_v1", "high_liquidity_top30", "smallcap_top_losers"],
            size_multiplier=0.5,
        ),
        "DECOUPLED": RegimePermissions(
            sides_allowed=["long", "short"],
            presets_allowed=["breakout_v1", "high_liquidity_top30", "demo"],
            size_multiplier=0.75,
        ),
        "CHOP": RegimePermissions(sides_allowed=[], presets_allowed=[], size_multiplier=0.0),
    }


class RegimeConfig(_Config, frozen=True, kw_only=True):
    """Every parameter of the regime core."""

    weights: RegimeWeights = RegimeWeights(dxy=0.4, btcd=0.3, news=0.3)
    min_confidence: float = 0.6
    min_time_in_state_s: float = 3600.0
    decoupled_news_share: float = 0.5
    stale_after_s: float = 3 * 3600.0
    dxy: TrendConfig = TrendConfig(strong_move=0.5, weak_move=0.1, relative=True)
    btcd: TrendConfig = TrendConfig(strong_move=0.5, weak_move=0.1, relative=False)
    news: NewsConfig = msgspec.field(default_factory=NewsConfig)
    flow: FlowConfig = msgspec.field(default_factory=FlowConfig)
    permissions: dict[RegimeState, RegimePermissions] = msgspec.field(
        default_factory=_default_permissions
    )

    def __post_init__(self) -> None:
        parts = (self.weights.dxy, self.weights.btcd, self.weights.news)
        total = sum(parts)
        if abs(total - 1.0) > 1e-9 or min(parts) < 0:
            raise ValueError(f"regime weights must be >= 0 and sum to 1, got {total}")
        if not 0.0 < self.min_confidence < 1.0:
            raise ValueError("min_confidence must be in (0, 1)")
        missing = {"RISK_ON", "RISK_OFF", "DECOUPLED", "CHOP"} - set(self.permissions)
        if missing:
            raise ValueError(f"permissions missing for {sorted(missing)}")
        if self.permissions["CHOP"].sides_allowed:
            raise ValueError("CHOP trades nothing: its sides_allowed must be empty")

    @property
    def config_id(self) -> str:
        """A short, stable hash of the whole configuration."""
        digest = hashlib.sha256(msgspec.json.encode(self, order="deterministic"))
        return digest.hexdigest()[:12]


def load_regime_config(raw: bytes | str) -> RegimeConfig:
    """Parse a JSON regime config (unknown fields refused; defaults fill the rest)."""
    return msgspec.json.decode(raw, type=RegimeConfig)
