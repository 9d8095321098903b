"""The pure parts of replay: field-level diffs and which core a consumer name needs."""

from __future__ import annotations

import pytest

from breakout.backtest.consumers import CoreUnavailable, build_core, service_of
from breakout.backtest.replay import FieldDiff, field_diff
from breakout.risk.core import RiskCore
from breakout.signals.core import SignalsCore


def test_a_diff_names_each_differing_leaf_by_its_path() -> None:
    recorded = {
        "qty": "2",
        "sizing": {"risk_quote": 54.0, "capped_by": "risk"},
        "checks": [{"name": "a", "value": 1.0}, {"name": "b", "value": 2.0}],
    }
    recomputed = {
        "qty": "1",
        "sizing": {"risk_quote": 54.0, "capped_by": "depth"},
        "checks": [{"name": "a", "value": 1.0}, {"name": "b", "value": 3.0}],
    }
    assert field_diff(recorded, recomputed) == [
        FieldDiff(path="checks[1].value", recorded=2.0, recomputed=3.0),
        FieldDiff(path="qty", recorded="2", recomputed="1"),
        FieldDiff(path="sizing.capped_by", recorded="risk", recomputed="depth"),
    ]
    assert field_diff(recorded, recorded) == []


def test_lists_of_other_lengths_and_missing_keys_differ_as_a_whole() -> None:
    assert field_diff({"a": [1, 2]}, {"a": [1]}) == [
        FieldDiff(path="a", recorded=[1, 2], recomputed=[1])
    ]
    assert field_diff({"a": 1}, {}) == [FieldDiff(path="a", recorded=1, recomputed=None)]


def test_consumer_names_map_to_their_service() -> None:
    assert service_of("features") == service_of("features-majors") == "features"
    assert service_of("signals-breakout_v1-majors") == "signals"
    assert (service_of("risk"), service_of("execution")) == ("risk", "execution")
    assert service_of("regime") is None and service_of("execution-router") is None


def test_cores_are_built_from_the_consumer_name_and_presets() -> None:
    signals = build_core("signals-breakout_v1", environ={})
    assert isinstance(signals, SignalsCore) and signals.preset.name == "breakout_v1"
    assert isinstance(build_core("risk", environ={"RISK_PRESETS": "breakout_v1"}), RiskCore)
    with pytest.raises(CoreUnavailable, match="no_such_preset"):
        build_core("signals-no_such_preset", environ={})
    with pytest.raises(CoreUnavailable, match="runs as 'features'"):
        build_core("features-majors", environ={})
