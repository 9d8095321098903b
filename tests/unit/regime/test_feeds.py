"""Feed parsing details that the simulated world does not exercise, and service settings."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from breakout.common.clock import SimulatedClock
from breakout.regime.http_common import FeedError, Throttle, retry_after_s
from breakout.regime.http_newsapi import NewsApiFeed
from breakout.regime.http_twelvedata import TwelveDataFeed
from breakout.regime.settings import FeedKeys, feeds_from_env, regime_config_from_env

NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


def _client(status: int, body: bytes) -> httpx.AsyncClient:
    """An httpx client whose transport answers every request with `status` and `body`."""
    transport = httpx.MockTransport(lambda request: httpx.Response(status, content=body))
    return httpx.AsyncClient(transport=transport)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_s("120", NOW) == 120.0
    assert retry_after_s("Mon, 05 Jan 2026 12:01:30 GMT", NOW) == 90.0
    assert retry_after_s("Mon, 05 Jan 2026 11:00:00 GMT", NOW) == 0.0
    assert retry_after_s("soon", NOW) is None
    assert retry_after_s(None, NOW) is None


async def test_twelvedata_error_body_with_http_200_is_still_a_failure() -> None:
    body = b'{"code": 429, "message": "You have run out of API credits", "status": "error"}'
    async with _client(200, body) as client:
        with pytest.raises(FeedError) as caught:
            await TwelveDataFeed("http://td", "key").fetch(client, NOW_MS)
    assert caught.value.reason == "rate_limited"
    assert "API credits" in caught.value.detail


async def test_twelvedata_bad_numbers_are_malformed() -> None:
    body = b'{"status": "ok", "values": [{"datetime": "2026-01-05 10:00:00", "close": "n/a"}]}'
    async with _client(200, body) as client:
        with pytest.raises(FeedError) as caught:
            await TwelveDataFeed("http://td", "key").fetch(client, NOW_MS)
    assert caught.value.reason == "malformed"


async def test_missing_keys_fail_as_auth_without_a_request() -> None:
    async with _client(500, b"") as client:
        for feed in (TwelveDataFeed("http://td", None), NewsApiFeed("http://na", "")):
            with pytest.raises(FeedError) as caught:
                await feed.fetch(client, NOW_MS)
            assert caught.value.reason == "auth"


async def test_removed_articles_are_skipped_and_the_window_moves_on() -> None:
    body = (
        b'{"status": "ok", "totalResults": 2, "articles": ['
        b'{"source": {"id": null, "name": "[Removed]"}, "title": "[Removed]", '
        b'"url": "https://removed.com", "publishedAt": "1970-01-01T00:00:00Z"},'
        b'{"source": {"id": "reuters", "name": "Reuters"}, "title": "Fed cuts rates", '
        b'"description": null, "url": "https://r.test/a", "publishedAt": "2026-01-05T11:30:00Z"}'
        b"]}"
    )
    feed = NewsApiFeed("http://na", "key", overlap_s=600)
    async with _client(200, body) as client:
        observations = await feed.fetch(client, NOW_MS)
    assert [o.event.data.url for o in observations] == ["https://r.test/a"]  # type: ignore[attr-defined]
    assert feed.newest_ms == NOW_MS - 30 * 60_000


def test_throttle_spaces_requests_and_honours_back_off() -> None:
    clock = SimulatedClock(NOW)
    throttle = Throttle(clock, min_interval_s=8.0)
    assert throttle.spacing_s() == 0.0
    throttle.requested()
    clock.advance(3)
    assert throttle.spacing_s() == 5.0
    throttle.back_off(30)
    clock.advance(10)
    assert throttle.blocked_for_s() == 20.0
    clock.advance(25)
    assert throttle.blocked_for_s() == 0.0


def test_settings_default_to_the_real_services() -> None:
    settings, keys = feeds_from_env({"TWELVEDATA_API_KEY": "td-secret"})
    assert settings.twelvedata_url == "https://api.twelvedata.com"
    assert settings.coingecko_url == "https://api.coingecko.com/api/v3"
    assert settings.newsapi_url == "https://newsapi.org/v2"
    assert (settings.macro_interval_s, settings.news_interval_s) == (3600.0, 600.0)
    assert keys.twelvedata == "td-secret"
    assert keys.newsapi is None
    assert "td-secret" not in repr(keys)


def test_settings_point_every_feed_at_the_simulator() -> None:
    settings, keys = feeds_from_env(
        {"MACRO_SIM_URL": "http://127.0.0.1:9000/", "NEWS_POLL_INTERVAL_S": "60"}
    )
    assert settings.twelvedata_url == "http://127.0.0.1:9000/twelvedata"
    assert settings.coingecko_url == "http://127.0.0.1:9000/coingecko/api/v3"
    assert settings.newsapi_url == "http://127.0.0.1:9000/newsapi/v2"
    assert settings.news_interval_s == 60.0
    assert keys.twelvedata == "sim-twelvedata-key"


def test_pro_plan_and_bad_values() -> None:
    settings, _ = feeds_from_env({"COINGECKO_PLAN": "pro"})
    assert settings.coingecko_url == "https://pro-api.coingecko.com/api/v3"
    with pytest.raises(ValueError, match="COINGECKO_PLAN"):
        feeds_from_env({"COINGECKO_PLAN": "gold"})
    with pytest.raises(ValueError, match="MACRO_POLL_INTERVAL_S"):
        feeds_from_env({"MACRO_POLL_INTERVAL_S": "hourly"})


def test_regime_config_from_a_json_file(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "regime.json"
    path.write_text('{"min_confidence": 0.7, "stale_after_s": 7200}')
    config = regime_config_from_env({"REGIME_CONFIG": str(path)})
    assert (config.min_confidence, config.stale_after_s) == (0.7, 7200.0)
    path.write_text('{"min_confidnce": 0.7}')
    with pytest.raises(Exception, match="min_confidnce"):
        regime_config_from_env({"REGIME_CONFIG": str(path)})


def test_feed_keys_never_show() -> None:
    keys = FeedKeys(twelvedata="a-secret", coingecko=None, newsapi="b-secret")
    assert "secret" not in repr(keys)
    assert "set" in repr(keys)
