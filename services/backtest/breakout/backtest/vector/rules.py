"""What the vector engine computes: a channel breakout on candles, and a preset mapped onto it.

`CandleRules` is the whole rule (long only). A bar *signals* an entry when its close is at or
beyond the previous `channel_bars` bars' highest high plus `epsilon_bps`, and its volume and
body pass (when asked); the entry fills at the next bar's open. Exits: a stop `stop_atr` ATRs
under the signal close (or the tighter swing low), a target (`target_r` times that risk above
the entry, or the channel's base-height projection), and the channel exit (a close under the
previous `channel_bars` bars' lowest low, filled at the next open).

`rules_from_preset` maps a preset's momentum rule onto it and lists, as `Adaptation`s, every
part of the preset the vector engine does not compute: the report prints them, nothing is
dropped silently. A preset it cannot run at all (short side, no momentum strategy) is refused.
"""

from __future__ import annotations

import msgspec

from breakout.backtest.variants import Adaptation
from breakout.common.events.md import TIMEFRAME_MS
from breakout.common.presets import Preset


class CandleRules(msgspec.Struct, frozen=True, kw_only=True):
    """One long channel-breakout rule with its candle fill model."""

    # The bars the rule is decided on (None: the data's own); fills walk the data's bars.
    timeframe_ms: int | None = None
    channel_bars: int = 20
    epsilon_bps: float = 0.0
    # 0 turns a confirmation off; else volume >= k x the median of the previous bars' volume.
    volume_k: float = 0.0
    volume_median_bars: int = 20
    body_ratio_min: float = 0.0
    # None: no stop (and no target, which is sized in R of the stop).
    stop_atr: float | None = None
    atr_bars: int = 14
    # The stop is the tighter of the ATR stop and the lowest low of the bars opened in the
    # last `swing_ms` up to the signal bar (as the momentum rule does); None: the ATR stop only.
    swing_ms: int | None = None
    target_r: float | None = None
    # The base-height projection instead: the channel's high plus its height, at the signal bar
    # (risk's target when the preset asks for it); entries whose reward to it is under
    # `min_reward_risk` R (from the signal close) are not taken, as risk denies them.
    target_projection: bool = False
    min_reward_risk: float = 0.0
    channel_exit: bool = True
    # Stop and target inside one bar: True takes the stop; False follows the candle model's
    # path (a bar that closed up reached its low first), as the event engine does.
    stop_first: bool = False
    # Fills: half the modelled spread and a flat slippage against us, the fee on each side.
    half_spread_bps: float = 0.0
    slippage_bps: float = 0.0
    fee_bps: float = 10.0
    # Sizing: this share of the starting equity at risk per trade (no stop: this share invested).
    risk_per_trade: float = 1.0

    def __post_init__(self) -> None:
        if self.channel_bars < 1 or self.volume_median_bars < 1 or self.atr_bars < 1:
            raise ValueError("channel_bars, volume_median_bars and atr_bars must be >= 1")
        if (self.target_r is not None or self.target_projection) and self.stop_atr is None:
            raise ValueError("a target needs a stop (R, and the reward/risk, are measured on it)")


def donchian_rules(bars: int = 20, fee_bps: float = 10.0) -> CandleRules:
    """The textbook Donchian rule: close above the N-bar high in, close below the N-bar low out."""
    return CandleRules(channel_bars=bars, fee_bps=fee_bps)


# The candle model's book (candle_model.py): a 2 bps spread, so half of it against each taker.
MODEL_HALF_SPREAD_BPS = 1.0
_VECTOR = "vector engine"


def rules_from_preset(preset: Preset) -> tuple[CandleRules, list[Adaptation]]:
    """The preset's momentum rule as `CandleRules`, and what of the preset is not computed."""
    if preset.side != "long":
        raise ValueError(f"preset {preset.name}: the vector engine runs long presets only")
    sig, pos = preset.signal_config, preset.position_config
    if "momentum" not in sig.strategies:
        raise ValueError(f"preset {preset.name}: the vector engine runs the momentum rule only")
    rules = CandleRules(
        timeframe_ms=TIMEFRAME_MS[preset.levels_rules.timeframe],
        channel_bars=preset.levels_rules.donchian_bars,
        epsilon_bps=sig.momentum_epsilon_bps,
        volume_k=sig.momentum_volume_k,
        body_ratio_min=sig.momentum_body_ratio_min,
        stop_atr=pos.momentum_stop_atr,
        swing_ms=pos.swing_lookback_minutes * 60_000,
        # The whole position leaves at the projection target when the preset has one; else
        # TP2 stands in for the partial exits (listed as not modelled).
        target_r=None if pos.use_projection_target else pos.tp2_r,
        target_projection=pos.use_projection_target,
        min_reward_risk=preset.risk.min_reward_risk,
        channel_exit=False,
        half_spread_bps=MODEL_HALF_SPREAD_BPS,
        fee_bps=preset.execution_config.taker_fee_bps,
        risk_per_trade=preset.risk.risk_per_trade,
    )
    return rules, not_modelled(preset)


def _off(setting: str, was: object, why: str) -> Adaptation:
    return Adaptation(setting=setting, was=was, now="not modelled", reason=f"{_VECTOR}: {why}")


def not_modelled(preset: Preset) -> list[Adaptation]:
    """Every part of `preset` the vector engine does not compute, as the report lists it."""
    sig, pos = preset.signal_config, preset.position_config
    others = [s for s in sig.strategies if s != "momentum"]
    found = [
        _off("levels_rules.min_touches", preset.levels_rules.min_touches, "no level validity"),
        _off("scanner", preset.scanner.universe, "no scan: every bar of every symbol is eligible"),
        _off("volatility_filters", "atr / bb width", "no volatility gate"),
        _off("liquidity_filters", "volume / spread / depth", "no liquidity gate"),
        _off("signal_config.vwap_gap_max_bps", sig.vwap_gap_max_bps, "no VWAP"),
        _off("signal_config.signal_timeout_s", sig.signal_timeout_s, "no signal state machine"),
        _off("position_config.tp1_r", pos.tp1_r, "no partial exit, no breakeven stop after it"),
        _off("position_config.tp2_r", pos.tp2_r, "no partial exit"),
        _off("position_config.chandelier_atr_mult", pos.chandelier_atr_mult, "no trailing"),
        _off("position_config.time_stop_minutes", pos.time_stop_minutes, "no time stop"),
        _off("position_config.time_decay_minutes", pos.time_decay_minutes, "no time decay"),
        _off("execution_config.momentum_order", preset.execution_config.momentum_order, "market"),
        _off("risk", "limits", "one position per symbol, no daily loss or heat limits"),
    ]
    if others:
        found.append(_off("signal_config.strategies", others, "momentum only"))
    if sig.require_approach_quality:
        found.append(_off("signal_config.require_approach_quality", True, "no approach check"))
    if preset.ml_model is not None:
        found.append(_off("ml_model", preset.ml_model, "no ML filter"))
    return found
