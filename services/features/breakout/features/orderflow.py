"""Order flow on closed candles: delta from taker-buy volume, CVD, divergence, imbalance zones,
absorption and exhaustion (the integration guide's order-flow analyzer).

Pure functions of the last bars, recomputed at each close: candles carry their taker-buy
volume, so delta = 2 x taker buy - volume needs no trade-level state.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from typing import Literal

from breakout.common.events.feat import ImbalanceZone, OrderFlowUpdated
from breakout.features.config import OrderFlowConfig
from breakout.features.indicators import Bar


def delta(bar: Bar) -> float:
    """Taker buy minus taker sell volume of a bar."""
    return 2.0 * bar[6] - bar[5]


def delta_ratio(bar: Bar) -> float:
    """Delta over volume, in [-1, 1] (0 for a bar without volume)."""
    return delta(bar) / bar[5] if bar[5] > 0 else 0.0


def divergence(bars: Sequence[Bar], span: int) -> Literal["bullish", "bearish"] | None:
    """Price against CVD over the last `span` bars versus the `span` before them."""
    if len(bars) < 2 * span:
        return None
    recent = bars[-2 * span :]
    cvd, running = [], 0.0
    for bar in recent:
        running += delta(bar)
        cvd.append(running)
    before, after = slice(0, span), slice(span, 2 * span)
    highs = [b[2] for b in recent]
    lows = [b[3] for b in recent]
    if max(highs[after]) > max(highs[before]) and max(cvd[after]) <= max(cvd[before]):
        return "bearish"
    if min(lows[after]) < min(lows[before]) and min(cvd[after]) >= min(cvd[before]):
        return "bullish"
    return None


def imbalance_zones(bars: Sequence[Bar], config: OrderFlowConfig) -> list[ImbalanceZone]:
    """The latest candles whose taker flow was one-sided beyond the threshold."""
    zones = []
    for bar in bars[-config.window_bars :]:
        ratio = delta_ratio(bar)
        if abs(ratio) >= config.imbalance_threshold:
            zones.append(
                ImbalanceZone(
                    open_ts_ms=bar[0],
                    price_low=bar[3],
                    price_high=bar[2],
                    side="buy" if ratio > 0 else "sell",
                    delta_ratio=ratio,
                )
            )
    return zones[-config.max_zones :]


def _climax(bars: Sequence[Bar], config: OrderFlowConfig) -> bool:
    previous = [b[5] for b in bars[-config.volume_median_bars - 1 : -1]]
    if len(previous) < config.volume_median_bars:
        return False
    return bars[-1][5] >= config.climax_volume_k * statistics.median(previous)


def absorption(
    bars: Sequence[Bar], atr: float | None, config: OrderFlowConfig
) -> Literal["bids", "asks"] | None:
    """Heavy one-sided flow on a climax bar whose body stayed small: the other side held."""
    bar = bars[-1]
    ratio = delta_ratio(bar)
    if atr is None or abs(ratio) < config.imbalance_threshold or not _climax(bars, config):
        return None
    if abs(bar[4] - bar[1]) > config.absorption_body_atr * atr:
        return None
    return "bids" if ratio < 0 else "asks"


def exhaustion(bars: Sequence[Bar], config: OrderFlowConfig) -> Literal["buyers", "sellers"] | None:
    """A run of closes in one direction ending on a climax bar whose flow turned against it."""
    run = config.exhaustion_run_bars
    if len(bars) < run + 2 or not _climax(bars, config):
        return None
    closes = [b[4] for b in bars[-run - 2 : -1]]
    steps = [b - a for a, b in itertools.pairwise(closes)]
    last = delta(bars[-1])
    if all(s > 0 for s in steps) and last < 0:
        return "buyers"
    if all(s < 0 for s in steps) and last > 0:
        return "sellers"
    return None


def order_flow(
    bars: Sequence[Bar],
    *,
    atr: float | None,
    config: OrderFlowConfig,
    exchange: str,
    symbol: str,
    timeframe: str,
) -> OrderFlowUpdated:
    """Order flow as of the last bar."""
    bar = bars[-1]
    return OrderFlowUpdated(
        exchange=exchange,
        symbol=symbol,
        timeframe=timeframe,
        open_ts_ms=bar[0],
        delta=delta(bar),
        delta_ratio=delta_ratio(bar),
        cvd=math.fsum(delta(b) for b in bars[-config.window_bars :]),
        divergence=divergence(bars, config.divergence_bars),
        imbalance_zones=imbalance_zones(bars, config),
        absorption=absorption(bars, atr, config),
        exhaustion=exhaustion(bars, config),
    )
