"""Backfilled 1-minute history before the simulation starts, so `fetch_ohlcv(since=...)` works.

The bars follow the same regime chain as the live market at one-minute resolution and end at
the live market's start price, so history and live trading join without a jump.
"""

from __future__ import annotations

import math
import random

from breakout.exchange_sim.klines import MINUTE_MS, Bar
from breakout.exchange_sim.price_process import PriceProcess
from breakout.exchange_sim.regimes import REGIMES, Regime
from breakout.exchange_sim.specs import SymbolSpec

SUBSTEPS_PER_MINUTE = 4
# A scripted base (`quiet_tail_minutes`), the bull flag a breakout trader waits for: a run-up of
# `TREND_BPS`, then for `BASE_MINUTES` a range `BASE_HEIGHT_BPS` high under the top (its last
# swing to the bottom and back within the last 20 minutes), then a coil a few bps under the top
# for the last `COIL_MINUTES`. Volatility contracts after the run-up (a low Bollinger-width
# percentile), the base's height is the measured move, and a stop goes under the coil.
TREND_BPS = 500.0
BASE_MINUTES = 100
BASE_HEIGHT_BPS = 80.0
BASE_PERIOD_MINUTES = 50
COIL_MINUTES = 15
COIL_BELOW_TOP_BPS = 2.5
COIL_NOISE_BPS_PER_MIN = 0.5
# The scripted tail's wicks are shorter than the regime chain's: its closes tell the story.
BASE_WICK_SCALE = 0.3
# Sellers defend the top: during the coil, two bars in three trade up to it and no further,
# so the resistance has its touches (and a wick too short to count as a spike).
COIL_TOUCH_EVERY = 3
BASE_NOISE_BPS_PER_MIN = 1.5
BASE_PULL_PER_MIN = 0.5


def _minute_path(
    spec: SymbolSpec, rng: random.Random, minutes: int, regime_time_scale: float
) -> list[tuple[float, Regime]]:
    """Log fair price at the end of each minute, with the regime it ended in."""
    process = PriceProcess.start(spec.start_price, rng, regime_time_scale)
    path: list[tuple[float, Regime]] = []
    for _ in range(minutes):
        for _ in range(SUBSTEPS_PER_MINUTE):  # regimes and reversion act within the minute
            process.advance(60.0 / SUBSTEPS_PER_MINUTE, rng)
        path.append((process.fair_log, process.regime))
    return path


def _base_offset_bps(minutes_to_end: int, trend_minutes: int) -> float:
    """Where the scripted tail stands `minutes_to_end` before its end, in bps from the top."""
    if minutes_to_end <= COIL_MINUTES:
        return -COIL_BELOW_TOP_BPS
    into_base = BASE_MINUTES - minutes_to_end
    if into_base >= 0:
        swing = math.cos(2 * math.pi * into_base / BASE_PERIOD_MINUTES)
        return -BASE_HEIGHT_BPS / 2 + (BASE_HEIGHT_BPS / 2 - COIL_BELOW_TOP_BPS) * swing
    into_trend = trend_minutes + into_base  # into_base < 0: still in the run-up
    return -TREND_BPS * (1 - into_trend / max(1, trend_minutes))


def _quiet_tail(path: list[tuple[float, Regime]], minutes: int, rng: random.Random) -> float:
    """Replace the last `minutes` of `path` with a run-up, a base under its top and a coil;
    return the top (log price, before the path is shifted to its end price)."""
    start = max(1, len(path) - minutes)
    top = path[start - 1][0] + TREND_BPS / 1e4
    trend_minutes = max(0, len(path) - start - BASE_MINUTES)
    for index in range(start, len(path)):
        target = top + _base_offset_bps(len(path) - 1 - index, trend_minutes) / 1e4
        previous = path[index - 1][0]
        coiling = len(path) - 1 - index <= COIL_MINUTES
        noise_bps = COIL_NOISE_BPS_PER_MIN if coiling else BASE_NOISE_BPS_PER_MIN
        noise = noise_bps / 1e4 * rng.gauss(0.0, 1.0)
        path[index] = (previous + BASE_PULL_PER_MIN * (target - previous) + noise, Regime.QUIET)
    return top


def _coil_high(index: int, high_t: int, body_top_t: int, ceiling_t: int) -> int:
    """A coil bar's high: at the ceiling two bars in three, never above it unless its body is."""
    if index % COIL_TOUCH_EVERY:
        return max(body_top_t, ceiling_t)
    return max(body_top_t, min(high_t, ceiling_t))


def backfill_bars(
    spec: SymbolSpec,
    rng: random.Random,
    *,
    end_ms: int,
    days: float,
    regime_time_scale: float,
    quiet_tail_minutes: int = 0,
) -> list[Bar]:
    """1-minute bars covering `days` before `end_ms`; the last close is `spec.start_price`.

    `quiet_tail_minutes` makes the last minutes a tight range (a scripted base to break out of).
    """
    minutes = max(1, int(days * 1440))
    first_open = end_ms // MINUTE_MS * MINUTE_MS - minutes * MINUTE_MS
    path = _minute_path(spec, rng, minutes + 1, regime_time_scale)
    top_log: float | None = None
    if quiet_tail_minutes > 0:
        top_log = _quiet_tail(path, quiet_tail_minutes, rng)
    # Shift the path so that it ends at the start price, where live trading takes over.
    shift = math.log(spec.start_price) - path[-1][0]
    bars: list[Bar] = []
    for index in range(minutes):
        log_price = path[index][0] + shift
        ret = path[index + 1][0] - path[index][0]
        regime = path[index + 1][1]
        params = REGIMES[regime]
        open_price = math.exp(log_price)
        close_price = math.exp(log_price + ret)
        wick = params.vol_bps_per_sqrt_s / 1e4 * math.sqrt(60.0) * 0.5
        if index >= minutes - quiet_tail_minutes:
            wick *= BASE_WICK_SCALE
        high = max(open_price, close_price) * math.exp(abs(rng.gauss(0.0, wick)))
        low = min(open_price, close_price) * math.exp(-abs(rng.gauss(0.0, wick)))
        trades = max(1, round(spec.trades_per_s * 60 * params.activity * rng.uniform(0.6, 1.4)))
        notional = trades * spec.median_trade_notional * math.exp(rng.gauss(2.3, 0.4))
        volume_lots = max(1, spec.to_lots(notional / close_price))
        buy_share = min(0.95, max(0.05, 0.5 + (0.3 if ret > 0 else -0.3) * rng.random()))
        open_t, close_t = spec.to_ticks(open_price), spec.to_ticks(close_price)
        high_t = max(spec.to_ticks(high), open_t, close_t)
        if top_log is not None and index >= minutes - COIL_MINUTES:
            ceiling_t = spec.to_ticks(math.exp(top_log + shift))
            high_t = _coil_high(index, high_t, max(open_t, close_t), ceiling_t)
        low_t = min(spec.to_ticks(low), open_t, close_t)
        avg_t = (high_t + low_t + open_t + close_t) // 4
        buy_lots = round(volume_lots * buy_share)
        bars.append(
            Bar(
                open_ms=first_open + index * MINUTE_MS,
                open=open_t,
                high=high_t,
                low=low_t,
                close=close_t,
                volume_lots=volume_lots,
                quote_units=volume_lots * avg_t,
                trades=trades,
                taker_buy_lots=buy_lots,
                taker_buy_quote_units=buy_lots * avg_t,
            )
        )
    return bars
