"""The macro world served in the real wire formats of Twelve Data, CoinGecko and NewsAPI.

Routes (under an optional prefix), with the upstream base URL each one stands in for:

    GET /twelvedata/time_series        https://api.twelvedata.com/time_series
    GET /coingecko/api/v3/global       https://api.coingecko.com/api/v3/global
    GET /newsapi/v2/everything         https://newsapi.org/v2/everything

Field names, value types (Twelve Data's prices are strings, CoinGecko's `updated_at` is epoch
seconds, NewsAPI's `publishedAt` is ISO 8601 with a `Z`) and error bodies (a bad key, a missing
parameter, a rate limit) follow each provider's documentation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web

from breakout.exchange_sim.macro_news_api import NEWSAPI_RATE_LIMIT, everything, newsapi_error
from breakout.exchange_sim.macro_world import HOUR_MS, MacroWorld, Source, at_ms

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

TWELVEDATA_BAD_KEY = (
    "**apikey** parameter is incorrect or not specified. You can get your free API key "
    "instantly following this link: https://twelvedata.com/pricing"
)
TWELVEDATA_RATE_LIMIT = (
    "You have run out of API credits for the current minute. 9 API credits were used, with the "
    "current limit being 8. Wait for the next minute or consider switching to a higher tier "
    "plan at https://twelvedata.com/pricing"
)
COINGECKO_RATE_LIMIT = (
    "You've exceeded the Rate Limit. Please visit https://www.coingecko.com/en/api/pricing to "
    "subscribe to our API plans for higher rate limits."
)


def twelvedata_error(status: int, message: str) -> web.Response:
    """A Twelve Data error body: `{"code", "message", "status": "error"}`."""
    return web.json_response({"code": status, "message": message, "status": "error"}, status=status)


def coingecko_error(status: int, error_code: int, message: str) -> web.Response:
    """A CoinGecko error body: `{"status": {"error_code", "error_message"}}`."""
    body = {"status": {"error_code": error_code, "error_message": message}}
    return web.json_response(body, status=status)


_RATE_LIMITED: dict[Source, Callable[[], web.Response]] = {
    "twelvedata": lambda: twelvedata_error(429, TWELVEDATA_RATE_LIMIT),
    "coingecko": lambda: coingecko_error(429, 429, COINGECKO_RATE_LIMIT),
    "newsapi": lambda: newsapi_error(429, "rateLimited", NEWSAPI_RATE_LIMIT),
}
_SERVER_ERROR: dict[Source, Callable[[], web.Response]] = {
    "twelvedata": lambda: twelvedata_error(500, "Internal server error. Please try again later."),
    "coingecko": lambda: coingecko_error(500, 500, "Internal Server Error"),
    "newsapi": lambda: newsapi_error(500, "unexpectedError", "An unexpected error occurred."),
}


def _faulty(world: MacroWorld, source: Source, handler: Handler) -> Handler:
    """Wrap `handler` so queued faults of `source` answer first."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        world.requests[source] += 1
        fault = world.take_fault(source)
        if fault is None:
            return await handler(request)
        if fault.kind == "timeout":
            await asyncio.sleep(fault.delay_s or 30.0)
            return await handler(request)
        if fault.kind == "malformed":
            return web.Response(body=b'{"data": {"active_crypto', content_type="application/json")
        if fault.kind == "http_500":
            return _SERVER_ERROR[source]()
        response = _RATE_LIMITED[source]()
        if fault.retry_after_s is not None:
            response.headers["Retry-After"] = str(int(fault.retry_after_s))
        return response

    return wrapped


# -- Twelve Data ------------------------------------------------------------------------------


def _twelvedata_key(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("apikey "):
        return header[7:].strip()
    return request.query.get("apikey")


def _zone(name: str) -> ZoneInfo | None:
    if name.lower() == "exchange":
        return ZoneInfo("America/New_York")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _twelvedata(world: MacroWorld) -> Handler:
    async def time_series(request: web.Request) -> web.StreamResponse:
        if _twelvedata_key(request) != world.keys["twelvedata"]:
            return twelvedata_error(401, TWELVEDATA_BAD_KEY)
        query = request.query
        symbol = query.get("symbol", "")
        if not symbol:
            return twelvedata_error(400, "**symbol** parameter is missing or invalid.")
        if query.get("interval") != "1h":
            return twelvedata_error(400, "**interval** parameter is missing or invalid.")
        if symbol.upper() != "DXY":
            return twelvedata_error(404, f"**symbol** not found: {symbol}.")
        zone = _zone(query.get("timezone", "Exchange"))
        if zone is None:
            return twelvedata_error(400, "**timezone** parameter is invalid.")
        try:
            size = int(query.get("outputsize", "30"))
            dp = int(query.get("dp", "5"))
        except ValueError:
            return twelvedata_error(400, "**outputsize** parameter is invalid.")
        if not 1 <= size <= 5000:
            return twelvedata_error(400, "**outputsize** must be between 1 and 5000.")
        now = world.now_ms()
        latest = world.hour_of(now)
        hours = [h for h in range(latest, latest - size, -1) if h >= 0]
        if not hours:
            return twelvedata_error(400, "No data is available on the specified dates.")
        values = [_candle_json(world, h, now, zone, dp) for h in hours]
        if query.get("order", "desc").lower() == "asc":
            values.reverse()
        meta = {
            "symbol": "DXY",
            "interval": "1h",
            "currency": "USD",
            "exchange_timezone": "America/New_York",
            "exchange": "ICE",
            "mic_code": "IFUS",
            "type": "Index",
        }
        return web.json_response({"meta": meta, "values": values, "status": "ok"})

    return time_series


def _candle_json(
    world: MacroWorld, hour: int, now_ms: int, zone: ZoneInfo, dp: int
) -> dict[str, str]:
    candle = world.dxy_candle(hour, as_of_ms=now_ms)
    opened = at_ms(candle.open_ts_ms).astimezone(zone)
    return {
        "datetime": opened.strftime("%Y-%m-%d %H:%M:%S"),
        "open": f"{candle.open:.{dp}f}",
        "high": f"{candle.high:.{dp}f}",
        "low": f"{candle.low:.{dp}f}",
        "close": f"{candle.close:.{dp}f}",
    }


# -- CoinGecko --------------------------------------------------------------------------------

# Shares of the non-BTC market cap (the rest is the long tail).
_ALT_SHARES = {"eth": 0.38, "usdt": 0.10, "bnb": 0.065, "sol": 0.06, "xrp": 0.055, "usdc": 0.035}
_FX = {"usd": 1.0, "eur": 0.92, "gbp": 0.79, "jpy": 150.0}


def _coingecko_key(request: web.Request) -> str | None:
    for header in ("x-cg-demo-api-key", "x-cg-pro-api-key"):
        if header in request.headers:
            return request.headers[header]
    return request.query.get("x_cg_demo_api_key") or request.query.get("x_cg_pro_api_key")


def _total_market_cap_usd(world: MacroWorld, ts_ms: int) -> float:
    # Crypto's total value moves against the dollar: a weaker DXY lifts it.
    hour = max(0, world.hour_of(ts_ms))
    dxy = world.dxy_candle(hour, as_of_ms=ts_ms).close
    return 2.6e12 * (world.dxy_candle(0).open / dxy) ** 8


def global_data(world: MacroWorld, now_ms: int) -> dict[str, object]:
    """CoinGecko's `/global` `data` object as of the latest 10-minute update before `now_ms`."""
    updated_ms = now_ms - now_ms % 600_000
    btc_pct = world.btc_dominance(updated_ms)
    rest = 100.0 - btc_pct
    percentages = {"btc": btc_pct} | {coin: rest * share for coin, share in _ALT_SHARES.items()}
    total_usd = _total_market_cap_usd(world, updated_ms)
    day_ago = _total_market_cap_usd(world, max(world.start_ms, updated_ms - 24 * HOUR_MS))
    btc_price = total_usd * btc_pct / 100 / 19.9e6
    eth_price = total_usd * percentages["eth"] / 100 / 120.3e6
    caps = {ccy: total_usd * rate for ccy, rate in _FX.items()}
    caps |= {"btc": total_usd / btc_price, "eth": total_usd / eth_price}
    return {
        "active_cryptocurrencies": 17_342,
        "upcoming_icos": 0,
        "ongoing_icos": 49,
        "ended_icos": 3_376,
        "markets": 1_274,
        "total_market_cap": caps,
        "total_volume": {ccy: value * 0.04 for ccy, value in caps.items()},
        "market_cap_percentage": percentages,
        "market_cap_change_percentage_24h_usd": (total_usd / day_ago - 1.0) * 100,
        "volume_change_percentage_24h_usd": 0.0,
        "updated_at": updated_ms // 1000,
    }


def _coingecko(world: MacroWorld) -> Handler:
    async def global_(request: web.Request) -> web.StreamResponse:
        expected = world.keys["coingecko"]
        if expected is not None:
            given = _coingecko_key(request)
            if given is None:
                return coingecko_error(401, 10002, "API Key Missing")
            if given != expected:
                return coingecko_error(
                    401,
                    10002,
                    "You have provided incorrect API key credentials. Please check your keys in "
                    "developer dashboard and ensure that your request is authorized",
                )
        return web.json_response({"data": global_data(world, world.now_ms())})

    return global_


# -- routes -----------------------------------------------------------------------------------


def setup_macro_routes(app: web.Application, world: MacroWorld, *, prefix: str = "") -> None:
    """Add the Twelve Data, CoinGecko and NewsAPI routes of `world` to `app`."""
    prefix = prefix.rstrip("/")
    app.router.add_get(
        f"{prefix}/twelvedata/time_series", _faulty(world, "twelvedata", _twelvedata(world))
    )
    app.router.add_get(
        f"{prefix}/coingecko/api/v3/global", _faulty(world, "coingecko", _coingecko(world))
    )
    app.router.add_get(
        f"{prefix}/newsapi/v2/everything", _faulty(world, "newsapi", everything(world))
    )
