"""Strategy presets: the model, the feature parameters it carries, and loading."""

from breakout.common.presets.loader import (
    PresetError,
    available_presets,
    load_preset,
    load_preset_file,
    parse_preset,
    presets_dir,
)
from breakout.common.presets.model import (
    CorrelationConfig,
    ExecutionConfig,
    KillSwitchConfig,
    LiquidityFilters,
    PositionConfig,
    Preset,
    RiskConfig,
    ScannerConfig,
    ScoreWeights,
    SignalConfig,
    VolatilityFilters,
)

__all__ = [
    "CorrelationConfig",
    "ExecutionConfig",
    "KillSwitchConfig",
    "LiquidityFilters",
    "PositionConfig",
    "Preset",
    "PresetError",
    "RiskConfig",
    "ScannerConfig",
    "ScoreWeights",
    "SignalConfig",
    "VolatilityFilters",
    "available_presets",
    "load_preset",
    "load_preset_file",
    "parse_preset",
    "presets_dir",
]
