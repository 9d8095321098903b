"""Order flow and market structure on hand-built candles."""

from __future__ import annotations

import pytest

from breakout.common.events.feat import LiquiditySweep, StructureShift
from breakout.features.config import OrderFlowConfig
from breakout.features.indicators import Bar
from breakout.features.orderflow import (
    absorption,
    delta,
    divergence,
    exhaustion,
    imbalance_zones,
    order_flow,
)
from breakout.features.structure import structure, swing_at
from tests.unit.features.factories import T0_MS

CONFIG = OrderFlowConfig()
WHERE = {"exchange": "binance", "symbol": "ETHUSDT", "timeframe": "5m"}


def bar(
    i: int, o: float, h: float, lo: float, c: float, *, volume: float = 10.0, buy: float = 5.0
) -> Bar:
    return (T0_MS + i * 300_000, o, h, lo, c, volume, buy)


def quiet(n: int, start: int = 0, price: float = 100.0) -> list[Bar]:
    return [bar(start + i, price, price + 0.5, price - 0.5, price) for i in range(n)]


def test_delta_and_imbalance_zones() -> None:
    bars = [*quiet(5), bar(5, 100, 101, 99.8, 100.9, volume=10, buy=8.5)]
    assert delta(bars[-1]) == pytest.approx(7.0)
    zones = imbalance_zones(bars, CONFIG)
    assert [(z.side, z.delta_ratio) for z in zones] == [("buy", pytest.approx(0.7))]
    out = order_flow(bars, atr=1.0, config=CONFIG, **WHERE)
    assert out.cvd == pytest.approx(7.0)
    assert out.delta_ratio == pytest.approx(0.7)


def test_bearish_divergence_price_higher_high_cvd_lower_high() -> None:
    span = 3
    config = OrderFlowConfig(divergence_bars=span)
    # First span: rally to 105 on heavy buying. Second: a higher high at 106 on selling.
    before = [
        bar(0, 100, 103, 99, 102, buy=9),
        bar(1, 102, 105, 101, 104, buy=9),
        bar(2, 104, 104, 102, 103),
    ]
    after = [
        bar(3, 103, 104, 102, 103, buy=2),
        bar(4, 103, 106, 102, 104, buy=4),
        bar(5, 104, 105, 103, 104),
    ]
    assert divergence([*before, *after], span) == "bearish"
    assert divergence([*before, *after], 4) is None  # not enough bars for two spans of 4
    assert order_flow([*before, *after], atr=1.0, config=config, **WHERE).divergence == "bearish"


def test_absorption_of_selling_by_bids() -> None:
    # A volume climax (5x the median) of mostly taker sells, and price barely moved.
    bars = [*quiet(20), bar(20, 100, 100.4, 99.6, 99.9, volume=50, buy=10)]
    assert absorption(bars, atr=1.0, config=CONFIG) == "bids"
    moved = [*quiet(20), bar(20, 100, 100.4, 98.0, 98.2, volume=50, buy=10)]
    assert absorption(moved, atr=1.0, config=CONFIG) is None  # price gave way: not absorbed


def test_exhaustion_of_buyers() -> None:
    run = [bar(20 + i, 100 + i, 101.5 + i, 99.5 + i, 101 + i) for i in range(4)]
    climax = bar(24, 104, 106, 103, 104.5, volume=40, buy=12)  # heavy volume, sellers took over
    assert exhaustion([*quiet(20), *run, climax], CONFIG) == "buyers"
    calm = bar(24, 104, 106, 103, 104.5, volume=10, buy=3)
    assert exhaustion([*quiet(20), *run, calm], CONFIG) is None


def _zigzag() -> list[Bar]:
    # Up to a swing high at 110 (bar 3), down to a swing low at 95 (bar 7), back up.
    highs = [100, 104, 107, 110, 106, 102, 99, 97, 99, 101, 103]
    bars = []
    for i, h in enumerate(highs):
        bars.append(bar(i, h - 1.5, h, h - 2, h - 1))
    return bars


def test_break_of_structure_and_change_of_character() -> None:
    bars = _zigzag()
    assert structure(bars, 2, **WHERE) == []
    # A close above the swing high at 110 with no trend yet: a break of structure up.
    up = [*bars, bar(11, 104, 112, 103.5, 111)]
    shifts = structure(up, 2, **WHERE)
    assert [(e.kind, e.direction, e.level) for e in shifts if isinstance(e, StructureShift)] == [
        ("bos", "up", 110)
    ]
    # Then a close under the swing low at 95 is against the up trend: a change of character.
    down = [*up, bar(12, 111, 111.5, 100, 101), bar(13, 101, 101.5, 90, 91)]
    shifts = structure(down, 2, **WHERE)
    assert [(e.kind, e.direction, e.level) for e in shifts if isinstance(e, StructureShift)] == [
        ("choch", "down", 95)
    ]


def test_liquidity_sweep_of_the_highs() -> None:
    swept = [*_zigzag(), bar(11, 105, 110.8, 104, 108)]  # wick above 110, close back under
    events = structure(swept, 2, **WHERE)
    assert len(events) == 1
    sweep = events[0]
    assert isinstance(sweep, LiquiditySweep)
    assert (sweep.side, sweep.level, sweep.extreme) == ("highs", 110, 110.8)


def test_a_swing_is_strictly_beyond_its_neighbours_on_both_sides() -> None:
    bars = [*quiet(2), bar(2, 100, 102, 98, 100), *quiet(2, start=3)]
    assert swing_at(bars, 2, 2) == (True, True)
    # A tie is no swing; a neighbour beyond it on one side only spoils that side.
    tied = [*bars[:4], bar(4, 100, 102, 99.5, 100)]
    assert swing_at(tied, 2, 2) == (False, True)
    assert swing_at(quiet(5), 2, 2) == (False, False)
