"""Presets: the five shipped files load; every kind of broken file is refused naming its field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from breakout.common.presets import (
    PresetError,
    available_presets,
    load_preset,
    load_preset_file,
    parse_preset,
)
from breakout.signals.cli import presets_app

SHIPPED = [
    "breakout_v1",
    "demo",
    "high_liquidity_top30",
    "high_percent_breakout",
    "smallcap_top_gainers",
    "smallcap_top_losers",
]


def _doc(**sections: object) -> str:
    return json.dumps({"name": "test_preset", "version": 1, **sections})


def _refused(raw: str) -> PresetError:
    with pytest.raises(PresetError) as caught:
        parse_preset(raw, "test_preset.json")
    return caught.value


def test_the_five_presets_load_with_the_designs_numbers() -> None:
    assert available_presets() == SHIPPED
    presets = {name: load_preset(name) for name in SHIPPED}
    assert presets["breakout_v1"].risk.risk_per_trade == 0.006
    assert presets["breakout_v1"].liquidity_filters.min_24h_volume_usd == 200_000_000
    assert presets["smallcap_top_losers"].side == "short"
    assert presets["smallcap_top_losers"].market == "perp"
    assert presets["smallcap_top_gainers"].scanner.universe == "top_gainers"
    assert presets["high_liquidity_top30"].scanner.universe == "top_volume"
    assert presets["high_liquidity_top30"].scanner.universe_size == 30
    assert presets["high_percent_breakout"].signal_config.enter_on_density_eat_ratio == 0.75
    assert len({p.ref() for p in presets.values()}) == 6


def test_the_demo_preset_is_breakout_v1_on_one_minute_bars() -> None:
    # What `make run` trades on exchange_sim: the same entry rules, exits and sizing as
    # breakout_v1; only what needs hours of bars (or a regime decision) differs.
    demo, production = load_preset("demo"), load_preset("breakout_v1")
    assert demo.signal_config == production.signal_config
    assert demo.position_config == production.position_config
    assert demo.risk.risk_per_trade == production.risk.risk_per_trade
    assert demo.risk.min_reward_risk == production.risk.min_reward_risk
    assert demo.levels_rules.timeframe == "1m" and demo.scanner.timeframe == "5m"
    assert production.levels_rules.timeframe == "5m" and production.risk.require_regime


def test_an_unknown_field_is_named_with_its_path() -> None:
    error = _refused(_doc(signal_config={"momentum_k": 2}))
    assert error.field == "signal_config.momentum_k"
    assert "unknown field" in error.reason
    assert _refused(_doc(colour="red")).field == "colour"


def test_a_wrong_type_is_named_and_says_what_is_allowed() -> None:
    error = _refused(_doc(scanner={"top_n": "ten"}))
    assert error.field == "scanner.top_n"
    assert "Expected `int`" in error.reason and "1 <= value <= 500" in error.reason


@pytest.mark.parametrize(
    ("sections", "field", "allowed"),
    [
        ({"risk": {"risk_per_trade": 0.051}}, "risk.risk_per_trade", "0.0 < value <= 0.05"),
        ({"risk": {"risk_per_trade": 0.0}}, "risk.risk_per_trade", "0.0 < value <= 0.05"),
        ({"liquidity_filters": {"max_spread_bps": 0}}, "liquidity_filters.max_spread_bps", "0.0 <"),
        ({"correlation": {"limit": 1.01}}, "correlation.limit", "0.0 <= value <= 1.0"),
        ({"liquidity_filters": {"min_oi_usd": -1}}, "liquidity_filters.min_oi_usd", "or null"),
        (
            {"risk": {"regime_size_multipliers": {"CHOP": 3}}},
            "risk.regime_size_multipliers[...]",
            "0.0 <= value <= 2.0",
        ),
    ],
)
def test_an_out_of_range_value_names_the_field_and_the_allowed_range(
    sections: dict[str, object], field: str, allowed: str
) -> None:
    error = _refused(_doc(**sections))
    assert error.field == field
    assert allowed in error.reason


def test_the_edges_of_a_range_are_accepted() -> None:
    preset = parse_preset(_doc(risk={"risk_per_trade": 0.05}, correlation={"limit": 1.0}))
    assert preset.risk.risk_per_trade == 0.05 and preset.correlation.limit == 1.0


def test_an_invalid_choice_is_named() -> None:
    assert _refused(_doc(signal_config={"strategies": ["yolo"]})).field == (
        "signal_config.strategies[0]"
    )
    error = _refused(_doc(risk={"regime_size_multipliers": {"MOON": 1.0}}))
    assert error.field == "risk.regime_size_multipliers" and "(a key)" in error.reason


@pytest.mark.parametrize(
    ("sections", "field", "words"),
    [
        (
            {"volatility_filters": {"atr_pct_min": 0.03, "atr_pct_max": 0.03}},
            "volatility_filters",
            "atr_pct_min",
        ),
        ({"position_config": {"tp1_r": 2.0, "tp2_r": 2.0}}, "position_config", "tp2_r"),
        ({"signal_config": {"strategies": []}}, "signal_config", "strategies"),
        ({"density_config": {"k_density": 1.0}}, "density_config", "k_density"),
        ({"density_config": {"min_standing_s": -1}}, "density_config", "min_standing_s"),
        ({"density_config": {"edge_margin_buckets": -2}}, "density_config", "edge_margin_buckets"),
        (
            {"density_config": {"out_of_view_grace_s": 7200}},
            "density_config",
            "out_of_view_grace_s",
        ),
        (
            {"density_config": {"redetect_cooldown_s": -1}},
            "density_config",
            "redetect_cooldown_s",
        ),
        ({"side": "short"}, "", "side 'short' needs market 'perp'"),
    ],
)
def test_a_cross_field_rule_names_its_section_and_fields(
    sections: dict[str, object], field: str, words: str
) -> None:
    error = _refused(_doc(**sections))
    assert error.field == field
    assert words in error.reason


def test_a_missing_required_field_is_named() -> None:
    assert _refused(json.dumps({"version": 1})).field == "name"


def test_bad_json_is_refused_as_such() -> None:
    error = _refused('{"name": "test_preset", ')
    assert error.field == "" and "not valid JSON" in error.reason


def test_the_name_must_match_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "other_name.json"
    path.write_text(_doc())
    with pytest.raises(PresetError) as caught:
        load_preset_file(path)
    assert caught.value.field == "name" and "other_name" in caught.value.reason


def test_an_unknown_preset_lists_the_known_ones(tmp_path: Path) -> None:
    (tmp_path / "test_preset.json").write_text(_doc())
    with pytest.raises(PresetError, match="known: test_preset"):
        load_preset("nope", tmp_path)


def test_cli_validate_reports_each_file_and_fails_on_any_error(tmp_path: Path) -> None:
    good = tmp_path / "test_preset.json"
    good.write_text(_doc())
    bad = tmp_path / "bad_one.json"
    bad.write_text(json.dumps({"name": "bad_one", "version": 1, "risk": {"max_positions": 0}}))
    result = CliRunner().invoke(presets_app, ["validate", str(good), str(bad)])
    assert result.exit_code == 1
    assert f"ok {good}: test_preset@v1#" in result.output
    assert f"INVALID {bad}: risk.max_positions: Expected `int` >= 1" in result.output
    result = CliRunner().invoke(presets_app, ["validate", str(good)])
    assert result.exit_code == 0


def test_cli_list_and_show(tmp_path: Path) -> None:
    (tmp_path / "test_preset.json").write_text(_doc(side="long"))
    listed = CliRunner().invoke(presets_app, ["list", "--dir", str(tmp_path)])
    assert listed.exit_code == 0 and "test_preset@v1#" in listed.output
    shown = CliRunner().invoke(presets_app, ["show", "test_preset", "--dir", str(tmp_path)])
    assert shown.exit_code == 0
    document = json.loads(shown.stdout)
    assert document["risk"]["risk_per_trade"] == 0.006  # defaults filled in
    (tmp_path / "broken.json").write_text("{")
    assert CliRunner().invoke(presets_app, ["list", "--dir", str(tmp_path)]).exit_code == 1
