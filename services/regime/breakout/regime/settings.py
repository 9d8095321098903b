"""Service settings from the environment: where the feeds are, their keys, how often to poll.

Keys are held in `FeedKeys`, whose repr never shows them; they are sent in headers only.

    TWELVEDATA_API_KEY, NEWSAPI_API_KEY         required for those feeds (a missing key is a
                                                recorded `auth` failure, not a crash)
    COINGECKO_API_KEY, COINGECKO_PLAN           optional (keyless works); plan demo | pro
    TWELVEDATA_BASE_URL, COINGECKO_BASE_URL,    the real services by default
    NEWSAPI_BASE_URL
    MACRO_SIM_URL                               exchange_sim's address: all three feeds from the
                                                simulated macro world (and its default keys)
    MACRO_POLL_INTERVAL_S (3600), NEWS_POLL_INTERVAL_S (600), REGIME_HTTP_TIMEOUT_S (10)
    NEWS_QUERY                                  NewsAPI `q` (see http_newsapi.DEFAULT_QUERY)
    REGIME_CONFIG                               a JSON file of RegimeConfig overrides
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import msgspec

from breakout.regime.config import RegimeConfig, load_regime_config
from breakout.regime.http_newsapi import DEFAULT_QUERY

TWELVEDATA_URL = "https://api.twelvedata.com"
COINGECKO_URL = "https://api.coingecko.com/api/v3"
COINGECKO_PRO_URL = "https://pro-api.coingecko.com/api/v3"
NEWSAPI_URL = "https://newsapi.org/v2"
SIM_KEYS = {"twelvedata": "sim-twelvedata-key", "newsapi": "sim-newsapi-key"}


class FeedKeys:
    """API keys (any may be missing); never printed."""

    __slots__ = ("coingecko", "newsapi", "twelvedata")

    def __init__(
        self, *, twelvedata: str | None, coingecko: str | None, newsapi: str | None
    ) -> None:
        self.twelvedata = twelvedata
        self.coingecko = coingecko
        self.newsapi = newsapi

    def __repr__(self) -> str:
        shown = {k: "set" if getattr(self, k) else "missing" for k in self.__slots__}
        return f"FeedKeys({shown})"


class FeedSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Endpoints and schedule of the three feeds."""

    twelvedata_url: str = TWELVEDATA_URL
    coingecko_url: str = COINGECKO_URL
    coingecko_plan: Literal["demo", "pro"] = "demo"
    newsapi_url: str = NEWSAPI_URL
    macro_interval_s: float = 3600.0
    news_interval_s: float = 600.0
    http_timeout_s: float = 10.0
    news_query: str = DEFAULT_QUERY


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return value


def feeds_from_env(env: Mapping[str, str] | None = None) -> tuple[FeedSettings, FeedKeys]:
    """Feed settings and keys from the environment (see the module docstring)."""
    env = os.environ if env is None else env
    sim = env.get("MACRO_SIM_URL", "").rstrip("/")
    plan = env.get("COINGECKO_PLAN", "demo")
    if plan not in ("demo", "pro"):
        raise ValueError(f"COINGECKO_PLAN must be demo or pro, got {plan!r}")
    default_gecko = COINGECKO_PRO_URL if plan == "pro" else COINGECKO_URL
    settings = FeedSettings(
        twelvedata_url=env.get("TWELVEDATA_BASE_URL")
        or (f"{sim}/twelvedata" if sim else TWELVEDATA_URL),
        coingecko_url=env.get("COINGECKO_BASE_URL")
        or (f"{sim}/coingecko/api/v3" if sim else default_gecko),
        coingecko_plan="pro" if plan == "pro" else "demo",
        newsapi_url=env.get("NEWSAPI_BASE_URL") or (f"{sim}/newsapi/v2" if sim else NEWSAPI_URL),
        macro_interval_s=_float(env, "MACRO_POLL_INTERVAL_S", 3600.0),
        news_interval_s=_float(env, "NEWS_POLL_INTERVAL_S", 600.0),
        http_timeout_s=_float(env, "REGIME_HTTP_TIMEOUT_S", 10.0),
        news_query=env.get("NEWS_QUERY") or DEFAULT_QUERY,
    )
    keys = FeedKeys(
        twelvedata=env.get("TWELVEDATA_API_KEY") or (SIM_KEYS["twelvedata"] if sim else None),
        coingecko=env.get("COINGECKO_API_KEY") or None,
        newsapi=env.get("NEWSAPI_API_KEY") or (SIM_KEYS["newsapi"] if sim else None),
    )
    return settings, keys


def regime_config_from_env(env: Mapping[str, str] | None = None) -> RegimeConfig:
    """The regime config: defaults, or the JSON file named by `REGIME_CONFIG`."""
    env = os.environ if env is None else env
    path = env.get("REGIME_CONFIG")
    if not path:
        return RegimeConfig()
    return load_regime_config(Path(path).read_bytes())
