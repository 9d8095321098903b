"""The features service's configuration: the feature parameters (shared with presets) per group.

`FeaturesConfig.from_env` is what the service shell uses: a JSON document in `FEATURES_CONFIG`,
or the feature sections of the preset named by `FEATURES_PRESET`, and which symbols the
instance owns: `FEATURES_SYMBOLS` (a list), or `FEATURES_GROUP` read against ingest's group
table `INGEST_GROUPS` (the group's listed symbols; `unlisted`: every symbol no group lists).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import msgspec

from breakout.common.groups import UNLISTED, listed, parse_groups
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
    """Everything the features service needs.

    `symbols` empty means every symbol but those in `exclude` (which other instances own).
    """

    symbols: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
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
        if self.symbols and self.exclude:
            raise ValueError("symbols and exclude are exclusive: list the owned symbols or not")
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
    def from_env(cls, environ: Mapping[str, str] | None = None) -> FeaturesConfig:
        """`FEATURES_CONFIG` (JSON of this struct) or `FEATURES_PRESET` (a preset's feature
        sections), with `FEATURES_SYMBOLS` (A,B,C) or else `FEATURES_GROUP` in `INGEST_GROUPS`."""
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
        group = env.get("FEATURES_GROUP", "").strip()
        if symbols:
            owned = tuple(s.strip().upper() for s in symbols.split(",") if s.strip())
            return msgspec.structs.replace(config, symbols=owned)
        if group:
            return msgspec.structs.replace(config, **_group_symbols(group, env))
        return config


def _group_symbols(group: str, env: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """What `FEATURES_GROUP` owns in `INGEST_GROUPS`: `symbols=` or, for `unlisted`, `exclude=`."""
    table = env.get("INGEST_GROUPS", "").strip()
    if not table:
        raise ValueError(f"FEATURES_GROUP={group} needs INGEST_GROUPS (or FEATURES_SYMBOLS)")
    groups = parse_groups(table)
    if group == UNLISTED:
        return {"exclude": listed(groups)}
    if group not in groups:
        names = ", ".join([*groups, UNLISTED])
        raise ValueError(f"FEATURES_GROUP={group} is not in INGEST_GROUPS (one of {names})")
    if not groups[group]:
        # Its symbols are hashed to it at run time; FEATURES_GROUP=unlisted covers those.
        raise ValueError(f"group {group!r} lists no symbol: run FEATURES_GROUP={UNLISTED}")
    return {"symbols": groups[group]}
