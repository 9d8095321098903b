"""What a backtest changes in a preset, and why: inputs its data lacks, and the A/B variant.

A backtest runs the preset as live does. Where the data cannot feed a filter (candles carry no
trades or book; a file carries no macro feeds), the filter is switched off here, in the open:
each change is an `Adaptation` the report prints, and the adapted preset has its own content
hash (`preset_ref`) in every decision. Nothing is switched off silently.

- `without_microstructure`: the density / activity / L2 filters off (the A/B's "without" arm,
  and what candle-only data runs with: it has no tape or book to read them from).
- `without_regime`: no regime input (no macro feeds in the data): the regime gates off, size x1.
- `for_quote`: the scanner's quote asset is the data's; the 24 h USD volume filter is not
  applied to a market quoted in a non-dollar asset (its volume is not in dollars).
- `per_bar_activity`: on candle-only data, activity sampled once a minute, not every second.
"""

from __future__ import annotations

import msgspec

from breakout.common.presets import Preset
from breakout.features.config import FeaturesConfig

USD_QUOTES = ("USDT", "USDC", "FDUSD", "TUSD", "BUSD", "USD")


class Adaptation(msgspec.Struct, frozen=True, kw_only=True):
    """One preset setting a backtest changed: which, from what, to what, and why."""

    setting: str
    was: object
    now: object
    reason: str


def without_microstructure(preset: Preset, reason: str) -> tuple[Preset, list[Adaptation]]:
    """The preset with the density, activity and L2 filters off (strategies kept if possible)."""
    liq, sig, pos = preset.liquidity_filters, preset.signal_config, preset.position_config
    strategies = tuple(s for s in sig.strategies if s != "density_eaten") or ("momentum",)
    changes: dict[str, tuple[str, object, object]] = {
        "liquidity_filters.max_spread_bps": ("liquidity_filters", liq.max_spread_bps, 10_000.0),
        "liquidity_filters.min_depth_usd_0_3pct": (
            "liquidity_filters",
            liq.min_depth_usd_0_3pct,
            0.0,
        ),
        "liquidity_filters.min_depth_usd_0_5pct": (
            "liquidity_filters",
            liq.min_depth_usd_0_5pct,
            0.0,
        ),
        "liquidity_filters.min_trades_per_minute": (
            "liquidity_filters",
            liq.min_trades_per_minute,
            0.0,
        ),
        "signal_config.l2_imbalance_min": ("signal_config", sig.l2_imbalance_min, -1.0),
        "signal_config.retest_l2_imbalance_min": (
            "signal_config",
            sig.retest_l2_imbalance_min,
            -1.0,
        ),
        "signal_config.tpm_on_touch_frac": ("signal_config", sig.tpm_on_touch_frac, 0.0),
        "signal_config.density_confirmation": ("signal_config", sig.density_confirmation, False),
        "signal_config.reject_on_activity_drop": (
            "signal_config",
            sig.reject_on_activity_drop,
            False,
        ),
        "signal_config.strategies": ("signal_config", sig.strategies, strategies),
        "position_config.panic_exit_on_activity_drop": (
            "position_config",
            pos.panic_exit_on_activity_drop,
            False,
        ),
    }
    return apply_changes(preset, changes, reason)


def without_regime(preset: Preset, reason: str) -> tuple[Preset, list[Adaptation]]:
    """The preset with the regime gates off (no regime input: size as if the multiplier were 1)."""
    changes: dict[str, tuple[str, object, object]] = {
        "risk.require_regime": ("risk", preset.risk.require_regime, False),
        "signal_config.respect_regime": (
            "signal_config",
            preset.signal_config.respect_regime,
            False,
        ),
    }
    return apply_changes(preset, changes, reason)


def for_quote(preset: Preset, quote: str) -> tuple[Preset, list[Adaptation]]:
    """The preset scanning markets quoted in `quote` (USD volume filter off for other quotes)."""
    changes: dict[str, tuple[str, object, object]] = {
        "scanner.quote": ("scanner", preset.scanner.quote, quote)
    }
    if quote not in USD_QUOTES:
        volume = preset.liquidity_filters.min_24h_volume_usd
        changes["liquidity_filters.min_24h_volume_usd"] = ("liquidity_filters", volume, 0.0)
    return apply_changes(preset, changes, f"the data's markets are quoted in {quote}")


def apply_changes(
    preset: Preset, changes: dict[str, tuple[str, object, object]], reason: str
) -> tuple[Preset, list[Adaptation]]:
    """`preset` with each `setting: (section, was, now)` applied, and the changes as adaptations."""
    applied: list[Adaptation] = []
    for setting, (section_name, was, now) in changes.items():
        if was == now:
            continue
        field = setting.split(".", 1)[1]
        section = getattr(preset, section_name)
        updated = msgspec.structs.replace(section, **{field: now})
        preset = msgspec.structs.replace(preset, **{section_name: updated})
        applied.append(Adaptation(setting=setting, was=was, now=now, reason=reason))
    return preset, applied


CANDLE_SAMPLE_S = 60  # the finest candle timeframe the sources load


def per_bar_activity(config: FeaturesConfig) -> tuple[FeaturesConfig, list[Adaptation]]:
    """Activity sampled and recorded once a minute rather than every second.

    On candle-only data the prints are four modelled ones per bar, so per-second samples read
    the same modelled tape sixty times over (and cost most of the run); the activity filters
    have no real input there anyway (`adapt` turns them off and the report says so).
    """
    activity = msgspec.structs.replace(config.activity, sample_interval_s=CANDLE_SAMPLE_S)
    emit = msgspec.structs.replace(config.emit, activity_interval_s=CANDLE_SAMPLE_S)
    reason = "candles only: no trades to sample between the modelled prints"
    changes = [
        Adaptation(setting=setting, was=was, now=CANDLE_SAMPLE_S, reason=reason)
        for setting, was in (
            ("activity_config.sample_interval_s", config.activity.sample_interval_s),
            ("features.emit.activity_interval_s", config.emit.activity_interval_s),
        )
    ]
    return msgspec.structs.replace(config, activity=activity, emit=emit), changes
