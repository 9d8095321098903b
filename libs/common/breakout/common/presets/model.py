"""The preset: one strategy's every parameter, as frozen, strictly validated structs.

A preset is JSON under `presets/`. Decoding refuses an unknown key, a wrong type or a value out
of its range, and the error names the field's path and the allowed range (msgspec checks the
`Meta` bounds below; cross-field rules raise from `__post_init__`, which msgspec reports at the
struct's path). Defaults are the design's numbers; a preset file states what differs.

Sections: `risk` (sizing and limits, the risk service), `liquidity_filters`,
`volatility_filters`, `correlation` and `scanner` (the scanner), `signal_config` (entries),
`position_config` (exits), `execution_config` (orders), and the feature parameters the design
puts in a preset (`levels_rules`, `density_config`, `activity_config`).
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from breakout.common.presets.features import ActivityConfig, DensityConfig, LevelsRules

Fraction = Annotated[float, Meta(ge=0.0, le=1.0)]
Positive = Annotated[float, Meta(gt=0.0)]
NonNegative = Annotated[float, Meta(ge=0.0)]
Bps = Annotated[float, Meta(ge=0.0, le=10_000.0)]
Weight = Annotated[float, Meta(ge=-1.0, le=1.0)]
Regime = Literal["RISK_ON", "RISK_OFF", "DECOUPLED", "CHOP"]
Strategy = Literal["momentum", "retest", "prelevel", "density_eaten", "structure"]
Universe = Literal["all", "top_gainers", "top_losers", "top_volume"]
Side = Literal["long", "short", "both"]


class _Section(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base: immutable, keyword-only, unknown keys refused (a typo is an error, not a default)."""


class KillSwitchConfig(_Section, frozen=True):
    """What trips the kill switch besides the daily limits (the risk service watches these)."""

    max_latency_ms: Annotated[int, Meta(ge=1, le=600_000)] = 2_000
    # A gap storm on one symbol: `gap_storm_count` md.gap events of that symbol within
    # `gap_storm_window_s` quarantine its entries until `gap_quarantine_s` after its last gap.
    gap_storm_count: Annotated[int, Meta(ge=1, le=10_000)] = 5
    gap_storm_window_s: Annotated[int, Meta(ge=1, le=86_400)] = 60
    gap_quarantine_s: Annotated[int, Meta(ge=1, le=86_400)] = 300
    # A storm across the market: gaps of this many distinct symbols within the window trip the
    # global entries kill (at least 2: a single symbol only ever quarantines itself).
    gap_storm_symbols: Annotated[int, Meta(ge=2, le=10_000)] = 3
    disconnect_grace_s: Annotated[int, Meta(ge=0, le=3_600)] = 30


def _default_regime_multipliers() -> dict[Regime, float]:
    # The macro-aware design: full size in RISK_ON, none in CHOP ("trading disabled in CHOP").
    return {"RISK_ON": 1.0, "DECOUPLED": 0.75, "RISK_OFF": 0.5, "CHOP": 0.0}


class RiskConfig(_Section, frozen=True):
    """R-based sizing and the limits every order intent must pass."""

    risk_per_trade: Annotated[float, Meta(gt=0.0, le=0.05)] = 0.006
    max_positions: Annotated[int, Meta(ge=1, le=50)] = 3
    max_daily_loss_pct: Annotated[float, Meta(gt=0.0, le=0.5)] = 0.05
    max_daily_loss_r: Annotated[float, Meta(gt=0.0, le=100.0)] = 3.0
    max_consecutive_losses: Annotated[int, Meta(ge=1, le=100)] = 4
    # Portfolio heat: the sum of open positions' risk, in R.
    max_portfolio_heat_r: Annotated[float, Meta(gt=0.0, le=100.0)] = 3.0
    # Positions whose symbols correlate above the limit count as one exposure.
    max_correlated_positions: Annotated[int, Meta(ge=1, le=50)] = 2
    correlation_exposure_limit: Fraction = 0.7
    min_reward_risk: Annotated[float, Meta(ge=0.5, le=20.0)] = 1.5
    max_slippage_bps: Bps = 10.0
    # The order may take at most this share of the book's depth within 0.5 % of mid.
    max_depth_participation: Annotated[float, Meta(gt=0.0, le=1.0)] = 0.1
    min_signal_confidence: Fraction = 0.6
    # The book behind the depth cap must be at most this old at the signal's time.
    max_book_age_ms: Annotated[int, Meta(ge=100, le=3_600_000)] = 60_000
    # Without a known regime, refuse entries (fail closed) rather than size at 1x.
    require_regime: bool = True
    regime_size_multipliers: dict[Regime, Annotated[float, Meta(ge=0.0, le=2.0)]] = msgspec.field(
        default_factory=_default_regime_multipliers
    )
    kill_switch: KillSwitchConfig = KillSwitchConfig()


class LiquidityFilters(_Section, frozen=True):
    """Scanner stage 1: is the market liquid enough to trade at all."""

    min_24h_volume_usd: NonNegative = 200_000_000.0
    # None: not required (spot markets have no open interest).
    min_oi_usd: NonNegative | None = None
    max_spread_bps: Annotated[float, Meta(gt=0.0, le=10_000.0)] = 2.0
    min_depth_usd_0_3pct: NonNegative = 100_000.0
    min_depth_usd_0_5pct: NonNegative = 200_000.0
    min_trades_per_minute: NonNegative = 10.0


class VolatilityFilters(_Section, frozen=True):
    """Scanner stage 2: volatility quality and compression."""

    # ATR(15m) / price, as fractions.
    atr_pct_min: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.0015
    atr_pct_max: Annotated[float, Meta(gt=0.0, le=1.0)] = 0.03
    # Compression: the Bollinger width's percentile over its lookback must be at most this.
    bb_width_percentile_max: Annotated[float, Meta(ge=0.0, le=100.0)] = 40.0
    volume_surge_1h_min: NonNegative = 1.0
    volume_surge_5m_min: NonNegative = 1.0
    # None: not required (spot markets have no open interest).
    oi_delta_min: float | None = None

    def __post_init__(self) -> None:
        if self.atr_pct_min >= self.atr_pct_max:
            raise ValueError(
                f"atr_pct_min ({self.atr_pct_min}) must be below atr_pct_max ({self.atr_pct_max})"
            )


class CorrelationConfig(_Section, frozen=True):
    """Scanner stage 3: independence from BTC."""

    reference_symbol: str = "BTCUSDT"
    limit: Fraction = 0.25
    window_bars: Annotated[int, Meta(ge=3, le=5_000)] = 100
    # Score penalty per unit of |correlation| above the limit.
    independence_penalty: NonNegative = 1.0
    # A candidate above the limit is rejected (True) or only penalised (False).
    reject_above_limit: bool = False


class ScoreWeights(_Section, frozen=True):
    """Weights of the z-scores in the scanner's score (the design's w1..w5)."""

    vol_surge: Weight = 0.35
    oi_delta: Weight = 0.20
    atr_quality: Weight = 0.15
    correlation: Weight = 0.20
    trades_per_minute: Weight = 0.10


class ScannerConfig(_Section, frozen=True):
    """Which symbols are scanned, how they are scored, and how many are kept."""

    quote: str = "USDT"
    universe: Universe = "all"
    # For the top_* universes: how many symbols the selection keeps before filtering.
    universe_size: Annotated[int, Meta(ge=1, le=2_000)] = 30
    weights: ScoreWeights = ScoreWeights()
    top_n: Annotated[int, Meta(ge=1, le=500)] = 10
    # The top candidates sent to ingestion as a ctl.subscribe (the integration report's 20).
    subscribe_top_n: Annotated[int, Meta(ge=0, le=500)] = 20
    interval_s: Annotated[int, Meta(ge=5, le=86_400)] = 60
    timeframe: Literal["1m", "5m", "15m", "1h"] = "15m"


class SignalConfig(_Section, frozen=True):
    """Entry rules (the design's momentum/retest, the enhanced-features entries, structure)."""

    strategies: tuple[Strategy, ...] = ("momentum", "retest", "density_eaten")
    # Momentum: close above level + epsilon, with volume, body and book confirmation.
    momentum_epsilon_bps: Bps = 5.0
    momentum_volume_k: Annotated[float, Meta(ge=0.0, le=100.0)] = 1.8
    momentum_body_ratio_min: Fraction = 0.5
    l2_imbalance_min: Annotated[float, Meta(ge=-1.0, le=1.0)] = 0.2
    vwap_gap_max_bps: Bps = 80.0
    # Retest: price back at the broken level, shallow pierce, active tape.
    retest_max_pierce_atr: Annotated[float, Meta(ge=0.0, le=10.0)] = 0.25
    retest_l2_imbalance_min: Annotated[float, Meta(ge=-1.0, le=1.0)] = 0.3
    tpm_on_touch_frac: Fraction = 0.7
    prelevel_limit_offset_bps: Bps = 2.0
    enter_on_density_eat_ratio: Fraction = 0.75
    # "Where density is on": momentum needs a wall standing at the level (within
    # `wall_near_level_bps`) eaten to `enter_on_density_eat_ratio`; no wall there, no demand.
    density_confirmation: bool = True
    wall_near_level_bps: Bps = 15.0
    # Pre-level limit: only before a level this strong, from this close to it.
    prelevel_min_strength: Fraction = 0.6
    prelevel_max_distance_bps: Bps = 30.0
    structure_min_confidence: Fraction = 0.6
    # Structure entries need the bar's taker flow on their side: |delta| / volume at least this.
    structure_flow_min: Fraction = 0.3
    # SignalWait gives up after this long without an entry.
    signal_timeout_s: Annotated[int, Meta(ge=1, le=86_400)] = 900
    reject_on_activity_drop: bool = True
    require_approach_quality: bool = True
    respect_regime: bool = True

    def __post_init__(self) -> None:
        if not self.strategies:
            raise ValueError("strategies must name at least one entry type")


class PositionConfig(_Section, frozen=True):
    """Stops and exits (the design's TP1/TP2/chandelier/add-on, time-stop and panic exit)."""

    momentum_stop_atr: Annotated[float, Meta(gt=0.0, le=10.0)] = 1.2
    retest_stop_atr: Annotated[float, Meta(gt=0.0, le=10.0)] = 1.0
    swing_lookback_minutes: Annotated[int, Meta(ge=1, le=1_440)] = 10
    tp1_r: Annotated[float, Meta(gt=0.0, le=20.0)] = 1.0
    tp1_size_frac: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.35
    tp2_r: Annotated[float, Meta(gt=0.0, le=50.0)] = 2.0
    tp2_size_frac: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.3
    breakeven_fee_buffer_bps: Bps = 10.0
    chandelier_atr_mult: Annotated[float, Meta(ge=1.0, le=10.0)] = 2.6
    use_projection_target: bool = True
    add_on_enabled: bool = False
    add_on_max_frac: Annotated[float, Meta(ge=0.0, le=0.5)] = 0.5
    time_stop_minutes: Annotated[int, Meta(ge=1, le=43_200)] = 180
    # Time decay: with no progress to 1 R after this long, reduce by the fraction.
    time_decay_minutes: Annotated[int, Meta(ge=1, le=43_200)] = 90
    time_decay_reduce_frac: Fraction = 0.5
    panic_exit_on_activity_drop: bool = True

    def __post_init__(self) -> None:
        if self.tp2_r <= self.tp1_r:
            raise ValueError(f"tp2_r ({self.tp2_r}) must be above tp1_r ({self.tp1_r})")
        if self.tp1_size_frac + self.tp2_size_frac > 1.0:
            raise ValueError("tp1_size_frac + tp2_size_frac must not exceed 1")
        if self.time_decay_minutes > self.time_stop_minutes:
            raise ValueError("time_decay_minutes must not exceed time_stop_minutes")


class ExecutionConfig(_Section, frozen=True):
    """How entries and exits become orders."""

    momentum_order: Literal["stop_limit", "market", "limit"] = "stop_limit"
    retest_order: Literal["limit", "market"] = "limit"
    stop_limit_offset_bps: Bps = 5.0
    # Anti-squeeze: cancel a stop-limit when price runs this far past its limit unfilled.
    anti_squeeze_bps: Bps = 15.0
    twap_min_notional_usd: NonNegative = 50_000.0
    twap_slices: Annotated[int, Meta(ge=2, le=100)] = 5
    twap_interval_s: Annotated[int, Meta(ge=1, le=3_600)] = 10
    taker_fee_bps: Bps = 10.0
    maker_fee_bps: Bps = 10.0
    order_timeout_s: Annotated[int, Meta(ge=1, le=86_400)] = 120


class Preset(_Section, frozen=True):
    """One strategy: every parameter, validated at load (see the module docstring)."""

    name: Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
    version: Annotated[int, Meta(ge=1)]
    description: str = ""
    market: Literal["spot", "perp"] = "spot"
    side: Side = "long"
    strategy_priority: Literal["momentum", "retest"] = "momentum"
    risk: RiskConfig = RiskConfig()
    liquidity_filters: LiquidityFilters = LiquidityFilters()
    volatility_filters: VolatilityFilters = VolatilityFilters()
    correlation: CorrelationConfig = CorrelationConfig()
    scanner: ScannerConfig = ScannerConfig()
    signal_config: SignalConfig = SignalConfig()
    position_config: PositionConfig = PositionConfig()
    execution_config: ExecutionConfig = ExecutionConfig()
    levels_rules: LevelsRules = LevelsRules()
    density_config: DensityConfig = DensityConfig()
    activity_config: ActivityConfig = ActivityConfig()
    # A versioned ML filter artifact the signals service loads (None: no filter), as
    # `<name>@<version>` under BREAKOUT_MODELS_DIR (docs/ml.md).
    ml_model: str | None = None
    # With a model: a signal whose predicted probability is below this is rejected (None: the
    # probability is only recorded).
    ml_veto_threshold: Fraction | None = None

    def __post_init__(self) -> None:
        if self.market == "spot" and self.side != "long":
            # Spot cannot short without margin; a short-bias preset must say it trades perps.
            raise ValueError(f"side {self.side!r} needs market 'perp', not 'spot'")
        if self.ml_veto_threshold is not None and self.ml_model is None:
            raise ValueError("ml_veto_threshold needs ml_model (a model to veto with)")

    def fingerprint(self) -> str:
        """A short content hash, so two presets of one name and version never differ silently."""
        canonical = msgspec.json.encode(msgspec.to_builtins(self, order="sorted"))
        return hashlib.sha256(canonical).hexdigest()[:12]

    def ref(self) -> str:
        """`name@vN#hash`: what a decision event records as the preset that produced it."""
        return f"{self.name}@v{self.version}#{self.fingerprint()}"
