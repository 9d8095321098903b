"""Fuzz: the macro and news feeds' answers. Whatever a source sends with HTTP 200, a poll
either observes valid events or fails with `FeedError` (which becomes a recorded
`macro.feed_failed`); never another exception, never a NaN or an impossible value.

The HTTP client is real (httpx); only its transport hands back the fuzzed body, because the
thing under test is each feed's reading of an answer, not the network.
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

import httpx
from hypothesis import example, given
from hypothesis import strategies as st

from breakout.common.events import MacroObserved, NewsObserved
from breakout.regime.http_coingecko import CoinGeckoFeed
from breakout.regime.http_common import FeedError
from breakout.regime.http_newsapi import NewsApiFeed
from breakout.regime.http_twelvedata import TwelveDataFeed
from tests.fuzz.strategies import FUZZ, json_values, mutated

NOW_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z

TWELVE = {
    "meta": {"symbol": "DXY", "interval": "1h"},
    "status": "ok",
    "values": [
        {
            "datetime": "2025-12-31 21:00:00",
            "open": "98.1",
            "high": "98.3",
            "low": "98.0",
            "close": "98.2",
        },
        {
            "datetime": "2025-12-31 22:00:00",
            "open": "98.2",
            "high": "98.4",
            "low": "98.1",
            "close": "98.3",
        },
    ],
}
GECKO = {"data": {"market_cap_percentage": {"btc": 57.1, "eth": 12.0}, "updated_at": 1_767_225_000}}
NEWS = {
    "status": "ok",
    "totalResults": 1,
    "articles": [
        {
            "source": {"id": None, "name": "Wire"},
            "author": "A",
            "title": "Fed holds rates",
            "description": "The Fed held rates steady.",
            "url": "https://example.com/a",
            "publishedAt": "2025-12-31T23:00:00Z",
            "content": "...",
        }
    ],
}


def _poll(feed: Any, body: Any) -> list[Any]:
    raw = json.dumps(body, allow_nan=True).encode()
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=raw))

    async def run() -> list[Any]:
        async with httpx.AsyncClient(transport=transport) as client:
            try:
                return list(await feed.fetch(client, NOW_MS))
            except FeedError as failed:
                assert failed.reason and str(failed)
                return []

    return asyncio.run(run())


def _check(observations: list[Any]) -> None:
    for observation in observations:
        data = observation.event.data
        if isinstance(data, MacroObserved):
            assert math.isfinite(data.value) and data.value > 0
            assert data.source_ts_ms <= NOW_MS + 86_400_000
        else:
            assert isinstance(data, NewsObserved)
            assert data.title


def test_the_valid_samples_are_observed() -> None:
    assert len(_poll(TwelveDataFeed("http://sim", "key"), TWELVE)) == 2
    assert len(_poll(CoinGeckoFeed("http://sim", None), GECKO)) == 1
    assert len(_poll(NewsApiFeed("http://sim", "key"), NEWS)) == 1


def _with(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    copy: Any = json.loads(json.dumps(doc))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy  # type: ignore[no-any-return]


@FUZZ
@given(st.one_of(mutated(TWELVE), json_values))
@example(_with(TWELVE, ("values", 0, "close"), "nan"))
@example(_with(TWELVE, ("values", 0, "close"), "-3"))
def test_twelve_data(body: Any) -> None:
    _check(_poll(TwelveDataFeed("http://sim", "key"), body))


@FUZZ
@given(st.one_of(mutated(GECKO), json_values))
@example(_with(GECKO, ("data", "updated_at"), 10**15))
@example(_with(GECKO, ("data", "updated_at"), -1))
def test_coingecko(body: Any) -> None:
    _check(_poll(CoinGeckoFeed("http://sim", None), body))


@FUZZ
@given(st.one_of(mutated(NEWS), json_values))
def test_newsapi(body: Any) -> None:
    _check(_poll(NewsApiFeed("http://sim", "key"), body))
