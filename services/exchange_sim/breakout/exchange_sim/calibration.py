"""Model constants of the market simulator, with where each figure comes from.

Measured on the real samples in `../shared/data` (see docs/exchange_sim.md for the method and
`measure.py` for the code that measures both the samples and the simulator):

- btcusdt-trades.parquet (Binance spot, 2,001 trades over 46 s): 43.4 trades/s; print notional
  is log-normal with median 210 USDT and log-sd 2.26; 31.5 % of prints share their millisecond
  with the previous one (one taker eating several makers), 1.40 prints per taker; inter-arrival
  coefficient of variation 2.19 and a Fano factor of 12.2 on 1 s counts (Poisson gives 1 and 1):
  arrivals cluster, hence the Hawkes process; 54 % of prints are buys.
- btcusdt-quotes.parquet: the spread is one tick (0.01) at the median, 1.9 bps at the 90th
  percentile; top-of-book size median 0.13-0.2 BTC.
- btcusdt-depth-snap.csv (futures, 100 bid levels, 5.4 bps deep): every tick near the touch is
  populated; level size median 0.098 BTC (~2,000 USDT), 90th percentile 6 BTC, 99th 13.7 BTC;
  the largest levels sit on round prices (20370.0: 26.8 BTC, 20375.0: 10.4 BTC): walls.
"""

from __future__ import annotations

import math

# Trades -------------------------------------------------------------------------------------
TRADE_LOG_SIGMA = 2.26
TRADE_LOG_CAP = 7.0  # no taker beyond e^7 (~1100x) the median: the sample's largest is e^6.8
# A taker's notional relative to the median print: a taker prints about 1.6 times.
TRADE_MEDIAN_NOTIONAL_SCALE = 0.8
PRINTS_PER_TAKER = 1.6
# Hawkes arrivals: each taker raises the rate; the excitation halves in ln2/decay seconds.
HAWKES_BRANCHING = 0.7
HAWKES_DECAY_PER_S = 3.0
MAX_TAKER_SLIP_BPS = 15.0
# Share of takers that follow the previous one within a few milliseconds (algos slicing
# orders, stops cascading): clustering finer than the Hawkes step can show.
BURST_FOLLOW_P = 0.5
BURST_FOLLOW_MAX_MS = 3
# Share of a taker's move of the mid that the fair price takes on, and how fast that fades:
# one-sided flow pushes the quotes, but it does not move the market for good on its own.
IMPACT_SHARE = 0.3
IMPACT_DECAY_S = 60.0

# Book ---------------------------------------------------------------------------------------
# The finest grid step (near the touch), and the crowd of odd ticks within two such steps.
LEVEL_GRID_BPS = 0.05
# The book reaches 60 bps from the touch (scanners ask for depth at 0.3 % and 0.5 %), on a
# grid that coarsens with distance: 0.05 bps apart near the touch, 0.5 bps from 5 bps out,
# 2 bps from 20 bps out, so a side holds a few hundred levels.
DEPTH_WINDOW_BPS = 60.0
# (up to this distance in bps, levels this many bps apart); never closer than one tick.
GRID_COARSENING: tuple[tuple[float, float], ...] = ((5.0, 0.05), (20.0, 0.5), (float("inf"), 2.0))
LEVEL_LOG_SIGMA = 2.0
LEVEL_GROWTH_BPS = 4.0  # a level 4 bps away is twice the size of one at the touch
REFRESHES_PER_SIDE_PER_S = 60.0
TOUCH_REFILL_P = 0.85
NEAR_TOUCH_SHARE = 0.12
EXISTING_REFRESH_SHARE = 0.15
# Where refreshed grid levels fall: exponential distances, an inner and an outer population.
INNER_SHARE = 0.6
INNER_MEAN_BPS = 2.5
OUTER_MEAN_BPS = 20.0
LEVEL_OCCUPANCY = 0.8
TOUCH_SIZE_MULT = 5.0  # the touch holds more than an average level
BTC_TRADES_PER_S = 43.4
BTC_LEVEL_MEDIAN_NOTIONAL = 1_100.0

# Walls --------------------------------------------------------------------------------------
WALL_RATE_PER_S = 1 / 90
WALL_MIN_BPS = 3.0
WALL_MAX_BPS = 25.0
WALL_MIN_MULT = 15.0
WALL_MAX_MULT = 40.0
WALL_MEAN_LIFE_S = 120.0
WALL_NEAR_BPS = 2.0
WALL_SPOOF_P = 0.35


def grid_spacing_bps(distance_bps: float) -> float:
    """How far apart levels are at this distance from the touch, in bps."""
    for up_to_bps, spacing_bps in GRID_COARSENING:
        if distance_bps < up_to_bps:
            return spacing_bps
    return GRID_COARSENING[-1][1]


# Markets trading less than this often are stepped QUIET_STEP_STRIDE exchange steps at a time
# (500 ms rather than 100 ms): at a fraction of a trade a second most 100 ms steps change
# nothing, yet each costs the same upkeep, and a 300-symbol universe is mostly such markets.
# Their trades keep their own milliseconds; they are published with the step that made them.
QUIET_BELOW_TRADES_PER_S = 1.0
QUIET_STEP_STRIDE = 5


def step_stride(trades_per_s: float) -> int:
    """Exchange steps per step of a market this active."""
    return 1 if trades_per_s >= QUIET_BELOW_TRADES_PER_S else QUIET_STEP_STRIDE


def refreshes_per_side_per_s(trades_per_s: float) -> float:
    """Book refreshes of a market this active: BTC's, scaled down by the square root of its
    activity (as level sizes are); never more than BTC's. A long-tail market's makers requote
    far less often than BTC's, and the simulator's cost is mostly these refreshes."""
    return REFRESHES_PER_SIDE_PER_S * min(1.0, math.sqrt(trades_per_s / BTC_TRADES_PER_S))


def level_median_notional(trades_per_s: float) -> float:
    """Median resting notional of a level: BTC's, scaled by the square root of activity."""
    return BTC_LEVEL_MEDIAN_NOTIONAL * math.sqrt(max(trades_per_s, 0.1) / BTC_TRADES_PER_S)
