"""Levels on closed candles: the Donchian base, touches, validity, round numbers, cascades,
approach quality and a strength score (the preset's `levels_rules`).

Pure functions of the last bars (`indicators.Bar`), recomputed at each close of the levels
timeframe: a base is a few dozen bars, so there is nothing to gain from incremental state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from breakout.common.events.feat import Cascade, LevelsUpdated, PriceLevel
from breakout.features.config import LevelsRules
from breakout.features.indicators import Bar
from breakout.features.structure import swing_at

Kind = Literal["resistance", "support"]


def donchian(bars: Sequence[Bar], n: int) -> tuple[float, float]:
    """Highest high and lowest low of the last `n` bars."""
    recent = bars[-n:]
    return max(b[2] for b in recent), min(b[3] for b in recent)


def touches(
    bars: Sequence[Bar], level: float, kind: Kind, tolerance: float, max_wick: float
) -> tuple[int, int | None]:
    """Visits of `level` (consecutive touching bars count once) and the last touching index.

    A bar touches a resistance when its high comes within `tolerance` of it (a support: its
    low); the wick filter drops touches made by a wick longer than `max_wick` beyond the
    body, which is a spike through the stops rather than a test of the level.
    """
    visits, last, inside = 0, None, False
    for index, (_, open_, high, low, close, _, _) in enumerate(bars):
        if kind == "resistance":
            near, wick = high >= level - tolerance, high - max(open_, close)
        else:
            near, wick = low <= level + tolerance, min(open_, close) - low
        touching = near and wick <= max_wick
        if touching and not inside:
            visits += 1
        if touching:
            last = index
        inside = touching
    return visits, last


def round_number(price: float, rules: LevelsRules) -> tuple[float | None, float]:
    """The largest round step `price` sits on, and the share of relevant steps it sits on.

    A step is relevant when it is at least `round_min_step_bps` of the price (0.01 is no round
    number for a coin at 40,000); the price sits on a step when it is a positive multiple of it
    within `round_tolerance_bps` of the price and a tenth of the step.
    """
    relevant = [
        s for s in rules.round_step_candidates if s >= price * rules.round_min_step_bps / 1e4
    ]
    if not relevant:
        return None, 0.0
    on = [
        step
        for step in relevant
        if price >= step
        and abs(price - round(price / step) * step)
        <= min(price * rules.round_tolerance_bps / 1e4, step / 10)
    ]
    return (max(on) if on else None), len(on) / len(relevant)


def find_cascades(prices: Sequence[float], radius_bps: float, min_levels: int) -> list[Cascade]:
    """Clusters of at least `min_levels` distinct prices, each within `radius_bps` of the
    cluster's lowest price (scanned from the lowest up)."""
    ordered = sorted(set(prices))
    cascades, index = [], 0
    while index < len(ordered):
        first = ordered[index]
        group = [p for p in ordered[index:] if (p - first) / first * 1e4 <= radius_bps]
        if len(group) >= min_levels:
            cascades.append(Cascade(price_low=group[0], price_high=group[-1], levels=group))
            index += len(group)
        else:
            index += 1
    return cascades


def cascade_size(price: float, levels: Sequence[float], radius_bps: float) -> int:
    """How many distinct known levels lie within `radius_bps` of `price` (itself included)."""
    return len({p for p in levels if abs(p - price) / price * 1e4 <= radius_bps} | {price})


def approach(
    bars: Sequence[Bar], level: float, kind: Kind, atr: float, rules: LevelsRules
) -> tuple[float, int, bool]:
    """Slope toward the level (% per bar over `approach_bars`), bars of consolidation next to
    it, and whether the approach is acceptable (not vertical, consolidated long enough)."""
    k = min(rules.approach_bars, len(bars) - 1)
    start, end = bars[-1 - k][4], bars[-1][4]
    toward = 1.0 if kind == "resistance" else -1.0
    # `+ 0.0` turns -0.0 into 0.0: Postgres JSONB has no negative zero, and a replay from the
    # in-memory store must record the same bytes as one read back from Postgres.
    slope = toward * (end - start) / start / k * 100 + 0.0 if k > 0 else 0.0
    band = rules.consolidation_band_atr * atr
    consolidated = 0
    for bar in reversed(bars):
        close = bar[4]
        gap = (level - close) if kind == "resistance" else (close - level)
        if not 0 <= gap <= band:
            break
        consolidated += 1
    ok = slope <= rules.approach_slope_max_pct_per_bar
    return slope, consolidated, ok and consolidated >= rules.prebreakout_consolidation_min_bars


def swings(bars: Sequence[Bar], k: int) -> tuple[list[float], list[float]]:
    """Swing highs and lows: a bar's extreme beyond the `k` bars on each side of it."""
    highs, lows = [], []
    for i in range(k, len(bars) - k):
        is_high, is_low = swing_at(bars, i, k)
        if is_high:
            highs.append(bars[i][2])
        if is_low:
            lows.append(bars[i][3])
    return highs, lows


def _level(
    bars: Sequence[Bar],
    price: float,
    kind: Kind,
    *,
    atr: float,
    known: Sequence[float],
    rules: LevelsRules,
) -> PriceLevel:
    base = bars[-rules.donchian_bars :]
    count, last = touches(
        base, price, kind, rules.touch_tolerance_atr * atr, rules.max_wick_atr * atr
    )
    age = len(base) - 1 - last if last is not None else None
    valid = count >= rules.min_touches and age is not None and age <= rules.max_age_bars
    step, round_score = round_number(price, rules)
    cluster = cascade_size(price, known, rules.cascade_radius_bps)
    slope, consolidated, approach_ok = approach(bars, price, kind, atr, rules)
    freshness = 1.0 - (age / rules.max_age_bars if age is not None else 1.0)
    strength = (
        0.4 * min(1.0, count / (2 * rules.min_touches))
        + 0.2 * (round_score if rules.prefer_round_numbers else 0.0)
        + 0.2 * (1.0 if cluster >= rules.cascade_min_levels else 0.0)
        + 0.2 * max(0.0, freshness)
    )
    return PriceLevel(
        kind=kind,
        price=price,
        touches=count,
        last_touch_ts_ms=base[last][0] if last is not None else None,
        age_bars=age,
        valid=valid,
        round_step=step,
        round_score=round_score,
        cascade_size=cluster,
        approach_slope_pct_per_bar=slope,
        consolidation_bars=consolidated,
        approach_ok=approach_ok,
        strength=strength if valid else 0.0,
    )


def round_levels_near(price: float, rules: LevelsRules) -> list[float]:
    """Multiples of the relevant round steps within `cascade_radius_bps` of `price`."""
    radius = price * rules.cascade_radius_bps / 1e4
    found = set()
    for step in rules.round_step_candidates:
        if step < price * rules.round_min_step_bps / 1e4:
            continue
        for n in range(math.ceil((price - radius) / step), math.floor((price + radius) / step) + 1):
            if n > 0:
                found.add(round(n * step, 10))
    return sorted(found)


def levels(
    bars: Sequence[Bar],
    *,
    atr: float | None,
    rules: LevelsRules,
    exchange: str,
    symbol: str,
    timeframe: str,
) -> LevelsUpdated | None:
    """The levels as of the last bar (None until there are `donchian_bars` bars and an ATR)."""
    if len(bars) < rules.donchian_bars or not atr:
        return None
    high, low = donchian(bars, rules.donchian_bars)
    swing_highs, swing_lows = swings(bars, rules.swing_bars)
    known = [high, low, *swing_highs, *swing_lows]
    if rules.prefer_round_numbers:
        known += [*round_levels_near(high, rules), *round_levels_near(low, rules)]
    return LevelsUpdated(
        exchange=exchange,
        symbol=symbol,
        timeframe=timeframe,
        open_ts_ms=bars[-1][0],
        close=bars[-1][4],
        atr=atr,
        resistance=_level(bars, high, "resistance", atr=atr, known=known, rules=rules),
        support=_level(bars, low, "support", atr=atr, known=known, rules=rules),
        base_height=high - low,
        base_height_pct=(high - low) / low * 100,
        swing_highs=swing_highs[-10:],
        swing_lows=swing_lows[-10:],
        cascades=find_cascades(known, rules.cascade_radius_bps, rules.cascade_min_levels),
    )
