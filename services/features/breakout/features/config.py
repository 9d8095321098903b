"""The features service's configuration: the feature parameters (shared with presets) per group.

`FeaturesConfig.from_env` is what the service shell uses: a JSON document in `FEATURES_CONFIG`,
or the feature sections of the preset named by `FEATURES_PRESET`, and a symbol group in
`FEATURES_SYMBOLS`.
"""

from __future__ import annotations

import os

import msgspec

from breakout.common.presets import Preset, load_preset
from breakout.common.presets.features import (
    ActivityConfig,
    BookConfig,
    DensityConfig,
    EmitConfig,
    IndicatorConfig,
    LevelsRules,
    OrderFlowConfig,
    TradeWindowsConfig,
    WyckoffConfig,
)

__all__ = [
    "ActivityConfig",
    "BookConfig",
    "DensityConfig",
    "EmitConfig",
    "FeaturesConfig",
    "IndicatorConfig",
    "LevelsRules",
    "OrderFlowConfig",
    "TradeWindowsConfig",
    "WyckoffConfig",
]


class FeaturesConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything the features service needs; `symbols` empty means every symbol."""

    symbols: tuple[str, ...] = ()
    trades: TradeWindowsConfig = TradeWindowsConfig()
    book: BookConfig = BookConfig()
    density_config: DensityConfig = DensityConfig()
    activity: ActivityConfig = ActivityConfig()
    levels_rules: LevelsRules = LevelsRules()
    indicators: IndicatorConfig = IndicatorConfig()
    orderflow: OrderFlowConfig = OrderFlowConfig()
    wyckoff: WyckoffConfig = WyckoffConfig()
    emit: EmitConfig = EmitConfig()

    def __post_init__(self) -> None:
        activity = self.activity
        used = (activity.tpm_window_s, activity.tps_window_s, activity.delta_window_s)
        if any(window not in self.trades.windows_s for window in used):
            raise ValueError(f"activity windows {used} must be among {self.trades.windows_s}")

    @classmethod
    def from_preset(cls, preset: Preset) -> FeaturesConfig:
        """The defaults, with the feature sections a preset carries (density, levels, activity)."""
        return cls(
            density_config=preset.density_config,
            activity=preset.activity_config,
            levels_rules=preset.levels_rules,
        )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> FeaturesConfig:
        """`FEATURES_CONFIG` (JSON of this struct) or `FEATURES_PRESET` (a preset's feature
        sections), with `FEATURES_SYMBOLS` (A,B,C)."""
        env = os.environ if environ is None else environ
        raw = env.get("FEATURES_CONFIG", "").strip()
        preset_name = env.get("FEATURES_PRESET", "").strip()
        if raw and preset_name:
            raise ValueError("set FEATURES_CONFIG or FEATURES_PRESET, not both")
        if preset_name:
            config = cls.from_preset(load_preset(preset_name))
        else:
            config = msgspec.json.decode(raw, type=cls) if raw else cls()
        symbols = env.get("FEATURES_SYMBOLS", "").strip()
        if symbols:
            listed = tuple(s.strip().upper() for s in symbols.split(",") if s.strip())
            config = msgspec.structs.replace(config, symbols=listed)
        return config
