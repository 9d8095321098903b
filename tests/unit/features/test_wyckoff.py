"""Wyckoff: an accumulation range after a decline, a spring, and the range's volume profile."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from breakout.features.config import WyckoffConfig
from breakout.features.indicators import Bar
from breakout.features.wyckoff import value_area, volume_profile, wyckoff
from tests.unit.features.factories import T0_MS

CONFIG = WyckoffConfig()
WHERE = {"exchange": "binance", "symbol": "ADAUSDT", "timeframe": "5m"}


def bar(i: int, o: float, h: float, lo: float, c: float, *, volume: float = 10.0) -> Bar:
    return (T0_MS + i * 300_000, o, h, lo, c, volume, volume / 2)


def decline_then_range(last: Bar) -> list[Bar]:
    decline = [
        bar(i, 141 - 1.5 * i, 141.5 - 1.5 * i, 139 - 1.5 * i, 139.5 - 1.5 * i) for i in range(20)
    ]
    ranging = [
        bar(
            20 + i,
            100,
            102 if i % 4 else 101,
            98 if i % 5 else 99,
            100.5 if i % 2 else 99.5,
            volume=30.0 if i % 3 == 0 else 10.0,
        )
        for i in range(25)
    ]
    return [*decline, *ranging, last]


def test_accumulation_range_and_a_spring() -> None:
    bars = decline_then_range(bar(45, 99.5, 100, 96.5, 99.2, volume=40))
    found = wyckoff(bars, atr=1.0, config=CONFIG, **WHERE)
    assert found is not None
    assert (found.range_low, found.range_high, found.range_bars) == (98, 102, 25)
    assert found.phase == "accumulation"
    assert found.spring and not found.upthrust
    assert found.value_area_low <= found.poc <= found.value_area_high
    assert found.value_area_low >= 98 and found.value_area_high <= 102


def test_a_close_under_the_range_is_no_spring() -> None:
    bars = decline_then_range(bar(45, 99.5, 100, 96.5, 97.0))
    found = wyckoff(bars, atr=1.0, config=CONFIG, **WHERE)
    assert found is not None and not found.spring


def test_no_range_when_price_trends() -> None:
    trend = [bar(i, 100 + i, 101.5 + i, 99.5 + i, 101 + i) for i in range(60)]
    assert wyckoff(trend, atr=1.0, config=CONFIG, **WHERE) is None


_bars = st.lists(
    st.tuples(st.floats(90, 110), st.floats(0, 5), st.floats(0, 1), st.floats(0, 100)),
    min_size=1,
    max_size=40,
)


@given(_bars, st.integers(1, 20))
def test_profile_keeps_every_unit_of_volume(raw: list, bins: int) -> None:
    bars = [
        bar(i, lo, lo + span, lo, lo + span * at, volume=v)
        for i, (lo, span, at, v) in enumerate(raw)
    ]
    low, high = min(b[3] for b in bars), max(b[2] for b in bars)
    if high == low:
        return
    profile = volume_profile(bars, low, high, bins)
    assert math.fsum(b.volume for b in profile) == pytest.approx(math.fsum(b[5] for b in bars))
    poc, lo_bin, hi_bin = value_area(profile, 0.7)
    assert lo_bin <= poc <= hi_bin
    held = math.fsum(b.volume for b in profile[lo_bin : hi_bin + 1])
    assert held >= 0.7 * math.fsum(b.volume for b in profile) - 1e-9
