"""The regime engine: evidence masses, the 60 % confidence gate, anti-flip, permissions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from breakout.common.events.regime import (
    RegimeChanged,
    RegimeHeld,
    RegimeInputs,
    RegimePermissions,
    RegimeState,
    TrendDirection,
    TrendReading,
)
from breakout.regime.config import RegimeConfig
from breakout.regime.engine import RegimeMachine, pick_candidate, regime_masses
from breakout.regime.news import NewsPicture

CONFIG = RegimeConfig()
HOUR_MS = 3_600_000


def _trend(series: str, score: float | None) -> TrendReading:
    direction: TrendDirection = "UNKNOWN" if score is None else "FLAT"
    return TrendReading(
        series="DXY" if series == "DXY" else "BTCD",
        direction=direction,
        change=0.0,
        score=0.0 if score is None else score,
        last_value=None,
        points=24,
        lookback_points=24,
        strong_move=0.5,
        weak_move=0.1,
    )


def _masses(
    dxy: float | None, btcd: float | None, news: float | None, decoupled: float = 0.0
) -> dict[RegimeState, float]:
    picture = NewsPicture(score=news, active=1, decoupled_share=decoupled)
    return regime_masses(_trend("DXY", dxy), _trend("BTCD", btcd), picture, CONFIG.weights, CONFIG)


def _inputs(masses: dict[RegimeState, float]) -> RegimeInputs:
    return RegimeInputs(
        dxy=_trend("DXY", 0.0),
        btcd=_trend("BTCD", 0.0),
        news_score=0.0,
        active_news=0,
        decoupled_news_share=0.0,
        weights=CONFIG.weights,
        masses=masses,
    )


def _only(state: RegimeState, confidence: float) -> dict[RegimeState, float]:
    """`confidence` behind `state`, the rest spread evenly over the other three."""
    others = round((1.0 - confidence) / 3, 6)
    masses: dict[RegimeState, float] = dict.fromkeys(
        ("RISK_ON", "RISK_OFF", "DECOUPLED", "CHOP"), others
    )
    masses[state] = confidence
    return masses


def test_a_falling_dollar_falling_dominance_and_good_news_is_full_risk_on() -> None:
    assert _masses(-1.0, -1.0, 1.0) == {
        "RISK_ON": 1.0,
        "RISK_OFF": 0.0,
        "DECOUPLED": 0.0,
        "CHOP": 0.0,
    }
    assert pick_candidate(_masses(-1.0, -1.0, 1.0)) == ("RISK_ON", 1.0)


def test_the_weights_are_dxy_40_btcd_30_news_30() -> None:
    # A rising dollar (trend score +1) is risk-off; so is rising BTC dominance.
    falling_dollar = _masses(-1.0, 0.0, 0.0)
    assert falling_dollar == {"RISK_ON": 0.4, "RISK_OFF": 0.0, "DECOUPLED": 0.0, "CHOP": 0.6}
    assert _masses(0.0, 1.0, 0.0)["RISK_OFF"] == 0.3
    assert _masses(0.0, 0.0, 1.0)["RISK_ON"] == 0.3
    bad_news = _masses(0.0, 0.0, -0.5)
    assert bad_news == {"RISK_ON": 0.0, "RISK_OFF": 0.15, "DECOUPLED": 0.0, "CHOP": 0.85}


def test_flat_inputs_are_chop_and_missing_inputs_are_no_evidence() -> None:
    assert pick_candidate(_masses(0.0, 0.0, 0.0)) == ("CHOP", 1.0)
    only_dxy = _masses(-1.0, None, None)
    assert sum(only_dxy.values()) == pytest.approx(0.4)
    assert pick_candidate(only_dxy) == ("RISK_ON", 0.4)


def test_crypto_against_the_dollar_with_crypto_news_is_decoupled() -> None:
    # Dollar strongly up (risk-off), dominance falling and news upbeat (risk-on), news mostly
    # crypto-specific: the directional evidence says crypto trades on its own.
    masses = _masses(1.0, -1.0, 1.0, decoupled=0.8)
    assert masses["DECOUPLED"] == 1.0
    assert pick_candidate(masses) == ("DECOUPLED", 1.0)


def test_no_decoupling_when_the_news_is_macro_or_crypto_agrees_with_the_dollar() -> None:
    assert _masses(1.0, -1.0, 1.0, decoupled=0.2)["DECOUPLED"] == 0.0
    assert _masses(1.0, 1.0, -1.0, decoupled=1.0)["DECOUPLED"] == 0.0


@given(
    st.none() | st.floats(-1, 1),
    st.none() | st.floats(-1, 1),
    st.none() | st.floats(-1, 1),
    st.floats(0, 1),
)
def test_masses_add_up_to_the_known_weight(
    dxy: float | None, btcd: float | None, news: float | None, decoupled: float
) -> None:
    masses = _masses(dxy, btcd, news, decoupled)
    known = sum(w for w, v in ((0.4, dxy), (0.3, btcd), (0.3, news)) if v is not None)
    assert all(m >= 0 for m in masses.values())
    assert sum(masses.values()) == pytest.approx(known, abs=1e-5)


def test_ties_go_to_the_cautious_state() -> None:
    tie: dict[RegimeState, float] = {"RISK_ON": 0.4, "RISK_OFF": 0.0, "DECOUPLED": 0.0, "CHOP": 0.4}
    assert pick_candidate(tie) == ("CHOP", 0.4)


def test_first_decision_needs_confidence_but_no_minimum_time() -> None:
    machine = RegimeMachine()
    held = machine.evaluate(0, _inputs(_only("RISK_ON", 0.55)), CONFIG, "cfg")
    assert isinstance(held, RegimeHeld)
    assert (held.state, held.candidate, held.blocked_by) == (None, "RISK_ON", "confidence_gate")
    changed = machine.evaluate(1, _inputs(_only("RISK_ON", 0.65)), CONFIG, "cfg")
    assert isinstance(changed, RegimeChanged)
    assert (changed.previous_state, changed.state, changed.time_in_previous_s) == (
        None,
        "RISK_ON",
        None,
    )
    assert changed.permissions == CONFIG.permissions["RISK_ON"]


def test_the_gate_is_strictly_above_sixty_percent() -> None:
    machine = RegimeMachine(state="CHOP", entered_ts_ms=0)
    at_gate = machine.evaluate(2 * HOUR_MS, _inputs(_only("RISK_OFF", 0.6)), CONFIG, "cfg")
    assert isinstance(at_gate, RegimeHeld)
    assert at_gate.blocked_by == "confidence_gate"
    assert at_gate.confidence == 0.6
    above = machine.evaluate(2 * HOUR_MS, _inputs(_only("RISK_OFF", 0.61)), CONFIG, "cfg")
    assert isinstance(above, RegimeChanged)
    assert (above.previous_state, above.state) == ("CHOP", "RISK_OFF")


def test_anti_flip_holds_the_state_for_an_hour() -> None:
    machine = RegimeMachine()
    machine.evaluate(0, _inputs(_only("RISK_ON", 0.9)), CONFIG, "cfg")
    early = machine.evaluate(HOUR_MS - 1, _inputs(_only("RISK_OFF", 0.95)), CONFIG, "cfg")
    assert isinstance(early, RegimeHeld)
    assert (early.state, early.candidate, early.blocked_by) == (
        "RISK_ON",
        "RISK_OFF",
        "min_time_in_state",
    )
    assert early.time_in_state_s == pytest.approx(3599.999)
    on_time = machine.evaluate(HOUR_MS, _inputs(_only("RISK_OFF", 0.95)), CONFIG, "cfg")
    assert isinstance(on_time, RegimeChanged)
    assert on_time.time_in_previous_s == 3600.0
    assert machine.state == "RISK_OFF"
    assert machine.entered_ts_ms == HOUR_MS


def test_a_hold_is_reported_once_per_candidate_and_reason() -> None:
    machine = RegimeMachine(state="CHOP", entered_ts_ms=0)
    weak = _inputs(_only("RISK_ON", 0.5))
    assert machine.evaluate(HOUR_MS, weak, CONFIG, "cfg") is not None
    assert machine.evaluate(HOUR_MS + 1, weak, CONFIG, "cfg") is None
    other = machine.evaluate(HOUR_MS + 2, _inputs(_only("RISK_OFF", 0.5)), CONFIG, "cfg")
    assert isinstance(other, RegimeHeld)
    assert other.candidate == "RISK_OFF"


def test_staying_put_says_nothing() -> None:
    machine = RegimeMachine(state="CHOP", entered_ts_ms=0)
    assert machine.evaluate(HOUR_MS, _inputs(_only("CHOP", 0.9)), CONFIG, "cfg") is None
    assert (
        machine.evaluate(HOUR_MS, _inputs(dict.fromkeys(_only("CHOP", 0.0), 0.0)), CONFIG, "cfg")
        is None
    )


def test_chop_trades_nothing_and_each_state_has_permissions() -> None:
    chop = CONFIG.permissions["CHOP"]
    assert (chop.sides_allowed, chop.presets_allowed, chop.size_multiplier) == ([], [], 0.0)
    assert CONFIG.permissions["RISK_ON"].sides_allowed == ["long"]
    assert CONFIG.permissions["RISK_OFF"].sides_allowed == ["short"]
    assert (
        CONFIG.permissions["RISK_OFF"].size_multiplier
        < CONFIG.permissions["RISK_ON"].size_multiplier
    )
    assert set(CONFIG.permissions["DECOUPLED"].sides_allowed) == {"long", "short"}


def test_configs_that_break_the_rules_are_refused() -> None:
    permissions = dict(CONFIG.permissions)
    permissions["CHOP"] = RegimePermissions(
        sides_allowed=["long"], presets_allowed=[], size_multiplier=0.1
    )
    with pytest.raises(ValueError, match="CHOP trades nothing"):
        RegimeConfig(permissions=permissions)
    with pytest.raises(ValueError, match="sum to 1"):
        RegimeConfig(weights=CONFIG.weights.__class__(dxy=0.5, btcd=0.3, news=0.3))
    with pytest.raises(ValueError, match="missing"):
        RegimeConfig(permissions={"CHOP": CONFIG.permissions["CHOP"]})


def test_config_id_names_the_parameters() -> None:
    assert RegimeConfig().config_id == CONFIG.config_id
    assert RegimeConfig(min_confidence=0.7).config_id != CONFIG.config_id
