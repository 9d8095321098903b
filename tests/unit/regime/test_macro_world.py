"""exchange_sim's macro world: deterministic from its seed, never ahead of its clock, its news
wire covering every category the regime classifier knows."""

from __future__ import annotations

import typing
from datetime import UTC, datetime, timedelta

from breakout.common.clock import SimulatedClock
from breakout.exchange_sim.macro import TEMPLATES, MacroWorld, segment
from breakout.exchange_sim.macro_news_api import query_matcher
from breakout.regime.classifier import Headline, KeywordNewsClassifier
from breakout.regime.keywords import NewsCategory

START = datetime(2026, 1, 5, tzinfo=UTC)


def _world(seed: int, hours: int = 48) -> MacroWorld:
    return MacroWorld(seed=seed, clock=SimulatedClock(START + timedelta(hours=hours)), start=START)


def test_same_seed_same_world_in_any_order() -> None:
    one, two = _world(3), _world(3)
    forward = [one.dxy_candle(h).close for h in range(40)]
    backward = [two.dxy_candle(h).close for h in reversed(range(40))][::-1]
    assert forward == backward
    assert [a.url for a in one.articles(START.timestamp() * 1000, one.now_ms())] == [
        a.url for a in two.articles(START.timestamp() * 1000, two.now_ms())
    ]
    other = _world(4)
    assert [other.dxy_candle(h).close for h in range(40)] != forward


def test_scripted_moods_drive_the_series() -> None:
    world = MacroWorld(
        seed=1,
        clock=SimulatedClock(START + timedelta(hours=80)),
        start=START,
        script=[segment("risk_on", 40), segment("risk_off", 40)],
    )
    falling = world.dxy_candle(39).close / world.dxy_candle(0).open - 1
    rising = world.dxy_candle(79).close / world.dxy_candle(40).open - 1
    assert falling < -0.008 and rising > 0.008  # about 0.03 % an hour for 40 hours
    assert world.btc_dominance(world.start_ms + 40 * 3_600_000) < world.btc_dominance(
        world.start_ms
    )


def test_nothing_is_published_ahead_of_the_clock() -> None:
    world = _world(2, hours=10)
    now = world.now_ms()
    assert all(a.published_ts_ms <= now for a in world.articles(0, now + 10 * 3_600_000))
    running = world.dxy_candle(10, as_of_ms=now)
    assert running.close == running.open  # the hour has just begun


def test_the_template_bank_covers_every_category() -> None:
    classifier = KeywordNewsClassifier()
    fills = {
        "bps": "25",
        "country": "Japan",
        "weekday": "Monday",
        "coin": "Bitcoin",
        "exchange": "NovaEx",
        "amount": "120",
    }
    seen = {
        classifier.classify(
            Headline(title=title.format(**fills), description=text.format(**fills))
        ).category
        for templates in TEMPLATES.values()
        for title, text in templates
    }
    expected = set(typing.get_args(NewsCategory)) - {"UNCLASSIFIED"}
    assert (
        expected <= seen | {"CRYPTO_STABLECOIN"} and "CRYPTO_STABLECOIN" in seen
    ) or expected - seen == set()


def test_newsapi_query_syntax() -> None:
    matches = query_matcher('bitcoin OR "federal reserve" OR (rate cut)')
    assert matches("Bitcoin rallies")
    assert matches("The Federal Reserve holds")
    assert matches("A cut to the rate")
    assert not matches("Federal budget reserve")
    assert not matches("Stocks slump")
