"""The exchange_sim server also serves the macro feeds the regime service polls."""

from __future__ import annotations

import functools
import time

import httpx
import pytest

from breakout.exchange_sim.macro_http import setup_macro_routes
from breakout.exchange_sim.macro_world import MacroWorld, segment
from breakout.exchange_sim.testing import running_sim
from breakout.regime.http_coingecko import CoinGeckoFeed
from breakout.regime.http_newsapi import NewsApiFeed
from breakout.regime.http_twelvedata import TwelveDataFeed
from breakout.regime.settings import feeds_from_env

pytestmark = pytest.mark.integration


async def test_the_regime_feeds_read_the_simulators_macro_world() -> None:
    # A busy wire for the whole week: a seed's own world can have six quiet hours, and which
    # six hours the feed's look-back covers depends on the time of day the test runs.
    world = MacroWorld(seed=4, script=[segment("risk_on", 24 * 8, headlines_per_h=3.0)])
    configure = functools.partial(setup_macro_routes, world=world)
    async with running_sim(["BTCUSDT"], seed=4, configure=configure) as sim:
        settings, keys = feeds_from_env({"MACRO_SIM_URL": sim.base_url})
        feeds = [
            TwelveDataFeed(settings.twelvedata_url, keys.twelvedata),
            CoinGeckoFeed(settings.coingecko_url, keys.coingecko),
            NewsApiFeed(settings.newsapi_url, keys.newsapi),
        ]
        now_ms = time.time_ns() // 1_000_000
        async with httpx.AsyncClient(timeout=10) as client:
            observed = {feed.source: await feed.fetch(client, now_ms) for feed in feeds}
    assert len(observed["twelvedata"]) > 1  # a DXY history, not one point
    (dominance,) = observed["coingecko"]
    # Each observation keeps its source time, and none is from the future.
    assert all(o.event.occurred_at.timestamp() * 1000 <= now_ms for o in observed["twelvedata"])
    assert observed["newsapi"], "the simulated wire has headlines"
    assert dominance is not None
