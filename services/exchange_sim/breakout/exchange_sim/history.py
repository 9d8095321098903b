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
# A scripted base (`quiet_tail_minutes`): about 2 bps of noise a minute, pulled to its centre.
QUIET_TAIL_VOL_BPS_PER_MIN = 2.0
QUIET_TAIL_REVERSION_PER_MIN = 0.3


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


def _quiet_tail(path: list[tuple[float, Regime]], minutes: int, rng: random.Random) -> None:
    """Replace the last `minutes` of `path` with a tight range around where it stood (a base)."""
    start = max(1, len(path) - minutes)
    centre = path[start - 1][0]
    vol = QUIET_TAIL_VOL_BPS_PER_MIN / 1e4
    for index in range(start, len(path)):
        previous = path[index - 1][0]
        pull = -QUIET_TAIL_REVERSION_PER_MIN * (previous - centre)
        path[index] = (previous + pull + vol * rng.gauss(0.0, 1.0), Regime.QUIET)


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
    if quiet_tail_minutes > 0:
        _quiet_tail(path, quiet_tail_minutes, rng)
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
        high = max(open_price, close_price) * math.exp(abs(rng.gauss(0.0, wick)))
        low = min(open_price, close_price) * math.exp(-abs(rng.gauss(0.0, wick)))
        trades = max(1, round(spec.trades_per_s * 60 * params.activity * rng.uniform(0.6, 1.4)))
        notional = trades * spec.median_trade_notional * math.exp(rng.gauss(2.3, 0.4))
        volume_lots = max(1, spec.to_lots(notional / close_price))
        buy_share = min(0.95, max(0.05, 0.5 + (0.3 if ret > 0 else -0.3) * rng.random()))
        open_t, close_t = spec.to_ticks(open_price), spec.to_ticks(close_price)
        high_t = max(spec.to_ticks(high), open_t, close_t)
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
