"""The features service's configuration from the environment: JSON, or a preset's sections."""

from __future__ import annotations

import pytest

from breakout.common.presets import load_preset
from breakout.features.config import FeaturesConfig


def test_a_preset_supplies_the_feature_sections_it_carries() -> None:
    preset = load_preset("high_percent_breakout")
    config = FeaturesConfig.from_env(
        {"FEATURES_PRESET": "high_percent_breakout", "FEATURES_SYMBOLS": "btcusdt, ETHUSDT"}
    )
    assert config.density_config == preset.density_config
    assert config.levels_rules == preset.levels_rules
    assert config.activity == preset.activity_config
    assert config.symbols == ("BTCUSDT", "ETHUSDT")


def test_json_and_a_preset_together_are_refused() -> None:
    with pytest.raises(ValueError, match="not both"):
        FeaturesConfig.from_env({"FEATURES_CONFIG": "{}", "FEATURES_PRESET": "breakout_v1"})


def test_an_unknown_preset_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="breakout_v1"):
        FeaturesConfig.from_env({"FEATURES_PRESET": "no_such_preset"})


def test_json_config_refuses_an_unknown_key() -> None:
    with pytest.raises(ValueError, match="k_densty"):
        FeaturesConfig.from_env({"FEATURES_CONFIG": '{"density_config": {"k_densty": 5}}'})
