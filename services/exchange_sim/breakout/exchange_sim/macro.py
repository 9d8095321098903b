"""The simulated macro world and its HTTP feeds (Twelve Data, CoinGecko, NewsAPI formats).

    world = MacroWorld(seed=7, clock=clock, script=[segment("risk_on", 36), ...])
    setup_macro_routes(app, world, prefix="")   # mounts the three feeds on an aiohttp app

See `macro_world` for how the world evolves and `macro_http` for the wire formats.
"""

from __future__ import annotations

from breakout.exchange_sim.macro_headlines import TEMPLATES, Mood, SimArticle
from breakout.exchange_sim.macro_http import global_data, setup_macro_routes
from breakout.exchange_sim.macro_world import (
    MOOD_DRIFTS,
    Candle,
    FaultKind,
    MacroSegment,
    MacroWorld,
    Source,
    segment,
)

__all__ = [
    "MOOD_DRIFTS",
    "TEMPLATES",
    "Candle",
    "FaultKind",
    "MacroSegment",
    "MacroWorld",
    "Mood",
    "SimArticle",
    "Source",
    "global_data",
    "segment",
    "setup_macro_routes",
]
