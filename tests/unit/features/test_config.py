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


TABLE = "majors=BTCUSDT,ETHUSDT;alts=SOLUSDT;spare="


def test_a_group_owns_what_ingest_lists_for_it_and_unlisted_the_rest() -> None:
    majors = FeaturesConfig.from_env({"FEATURES_GROUP": "majors", "INGEST_GROUPS": TABLE})
    assert (majors.symbols, majors.exclude) == (("BTCUSDT", "ETHUSDT"), ())
    rest = FeaturesConfig.from_env({"FEATURES_GROUP": "unlisted", "INGEST_GROUPS": TABLE})
    assert (rest.symbols, rest.exclude) == ((), ("BTCUSDT", "ETHUSDT", "SOLUSDT"))
    # An explicit list still wins; the group then only names the consumer.
    listed = {"FEATURES_GROUP": "majors", "INGEST_GROUPS": TABLE, "FEATURES_SYMBOLS": "XRPUSDT"}
    assert FeaturesConfig.from_env(listed).symbols == ("XRPUSDT",)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"FEATURES_GROUP": "majors"}, "needs INGEST_GROUPS"),
        ({"FEATURES_GROUP": "minors", "INGEST_GROUPS": TABLE}, "one of majors, alts, spare"),
        ({"FEATURES_GROUP": "spare", "INGEST_GROUPS": TABLE}, "FEATURES_GROUP=unlisted"),
        ({"FEATURES_GROUP": "alts", "INGEST_GROUPS": "unlisted=BTCUSDT"}, "pick another name"),
    ],
)
def test_a_group_that_owns_nothing_it_can_name_is_refused(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        FeaturesConfig.from_env(env)


def test_owned_and_excluded_symbols_are_exclusive() -> None:
    with pytest.raises(ValueError, match="exclusive"):
        FeaturesConfig(symbols=("BTCUSDT",), exclude=("ETHUSDT",))
