"""Labels: +1 R before the stop, on hand-built price paths."""

from __future__ import annotations

import pytest

from breakout.ml.labels import LabelError, label_path

T = 1_000_000


def test_a_long_reaching_one_r_first_is_1() -> None:
    # entry 100, stop 98 -> target 102; dips to 98.5 first, then 102.
    path = [(T + 1, 99.0), (T + 2, 98.5), (T + 3, 101.9), (T + 4, 102.0), (T + 5, 97.0)]
    assert label_path("long", 100.0, 98.0, T, path) == 1


def test_a_long_hitting_its_stop_first_is_0() -> None:
    path = [(T + 1, 101.5), (T + 2, 98.0), (T + 3, 103.0)]
    assert label_path("long", 100.0, 98.0, T, path) == 0


def test_a_short_is_mirrored() -> None:
    assert label_path("short", 100.0, 102.0, T, [(T + 1, 101.0), (T + 2, 98.0)]) == 1
    assert label_path("short", 100.0, 102.0, T, [(T + 1, 99.0), (T + 2, 102.5)]) == 0


def test_prints_up_to_the_signal_time_are_ignored() -> None:
    path = [(T - 5, 90.0), (T, 105.0), (T + 1, 98.0)]
    assert label_path("long", 100.0, 98.0, T, path) == 0


def test_neither_within_the_horizon_is_unlabelled() -> None:
    assert label_path("long", 100.0, 98.0, T, [(T + 1, 101.0), (T + 2, 99.0)]) is None
    late = [(T + 1, 101.0), (T + 61_000, 103.0)]
    assert label_path("long", 100.0, 98.0, T, late, horizon_ms=60_000) is None
    assert label_path("long", 100.0, 98.0, T, late, horizon_ms=61_000) == 1


def test_a_signal_without_risk_or_with_the_stop_on_the_wrong_side_is_refused() -> None:
    with pytest.raises(LabelError, match="R is zero"):
        label_path("long", 100.0, 100.0, T, [])
    with pytest.raises(LabelError, match="wrong side"):
        label_path("long", 100.0, 101.0, T, [])
