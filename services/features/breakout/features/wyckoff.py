"""Wyckoff: trading ranges, accumulation or distribution, springs and upthrusts, and the
range's volume profile (the integration guide's Wyckoff detector).

A range is the longest run of recent bars (at least `min_range_bars`, the current bar aside)
no taller than `max_range_atr` ATRs. The move into it over `trend_bars` before it names the
phase: a decline of `trend_atr` ATRs or more makes it accumulation, a rally distribution.
The current bar is read against the range: a wick beyond it closing back inside is a spring
(under the low) or an upthrust (over the high). Pure function of the bars held.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from breakout.common.events.feat import ProfileBin, WyckoffRange
from breakout.features.config import WyckoffConfig
from breakout.features.indicators import Bar


def range_length(bars: Sequence[Bar], max_height: float, minimum: int) -> int:
    """How many bars before the last one form a range no taller than `max_height` (0 if
    fewer than `minimum`)."""
    high, low, count = float("-inf"), float("inf"), 0
    for bar in reversed(bars[:-1]):
        high, low = max(high, bar[2]), min(low, bar[3])
        if high - low > max_height:
            break
        count += 1
    return count if count >= minimum else 0


def volume_profile(bars: Sequence[Bar], low: float, high: float, bins: int) -> list[ProfileBin]:
    """Each bar's volume spread over the bins its low-high span covers, in proportion."""
    width = (high - low) / bins
    volumes = [0.0] * bins
    for bar in bars:
        span = bar[2] - bar[3]
        for i in range(bins):
            lo, hi = low + i * width, low + (i + 1) * width
            if span <= 0:
                inside = 1.0 if lo <= bar[4] < hi or (i == bins - 1 and bar[4] == hi) else 0.0
            else:
                inside = max(0.0, min(hi, bar[2]) - max(lo, bar[3])) / span
            volumes[i] += bar[5] * inside
    return [
        ProfileBin(price_low=low + i * width, price_high=low + (i + 1) * width, volume=v)
        for i, v in enumerate(volumes)
    ]


def value_area(profile: Sequence[ProfileBin], share: float) -> tuple[int, int, int]:
    """Point-of-control bin and the bins around it holding `share` of the volume."""
    volumes = [b.volume for b in profile]
    poc = max(range(len(volumes)), key=lambda i: (volumes[i], -i))
    lo = hi = poc
    held, total = volumes[poc], sum(volumes)
    while held < share * total and (lo > 0 or hi < len(volumes) - 1):
        below = volumes[lo - 1] if lo > 0 else -1.0
        above = volumes[hi + 1] if hi < len(volumes) - 1 else -1.0
        if above >= below:
            hi += 1
            held += above
        else:
            lo -= 1
            held += below
    return poc, lo, hi


def wyckoff(
    bars: Sequence[Bar],
    *,
    atr: float | None,
    config: WyckoffConfig,
    exchange: str,
    symbol: str,
    timeframe: str,
) -> WyckoffRange | None:
    """The range the last bar trades in or against, or None when there is none."""
    if not atr:
        return None
    length = range_length(bars, config.max_range_atr * atr, config.min_range_bars)
    if not length:
        return None
    held = bars[-1 - length : -1]
    high, low = max(b[2] for b in held), min(b[3] for b in held)
    phase: Literal["accumulation", "distribution"] | None = None
    before = bars[: -1 - length][-config.trend_bars :]
    if before:
        move = held[0][4] - before[0][4]
        if move <= -config.trend_atr * atr:
            phase = "accumulation"
        elif move >= config.trend_atr * atr:
            phase = "distribution"
    last = bars[-1]
    profile = volume_profile(held, low, high, config.profile_bins)
    poc, lo, hi = value_area(profile, config.value_area_share)
    return WyckoffRange(
        exchange=exchange,
        symbol=symbol,
        timeframe=timeframe,
        open_ts_ms=last[0],
        range_high=high,
        range_low=low,
        range_bars=length,
        phase=phase,
        spring=last[3] < low < last[4],
        upthrust=last[2] > high > last[4],
        poc=(profile[poc].price_low + profile[poc].price_high) / 2,
        value_area_low=profile[lo].price_low,
        value_area_high=profile[hi].price_high,
        profile=profile,
    )
