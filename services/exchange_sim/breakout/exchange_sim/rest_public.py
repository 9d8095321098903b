"""Public Binance REST endpoints under /api/v3: exchange info, book, trades, klines, tickers."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from breakout.exchange_sim import errors, protocol
from breakout.exchange_sim.klines import MINUTE_MS, is_interval
from breakout.exchange_sim.state import state_of
from breakout.exchange_sim.ticker import ticker_stats

if TYPE_CHECKING:
    from breakout.exchange_sim.exchange import SimExchange, SymbolFeed

HOUR_MS = 3_600_000


def int_param(params: dict[str, str] | Any, name: str, default: int | None = None) -> int | None:
    """An optional integer parameter (Binance's -1100 when it does not parse)."""
    text = params.get(name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError as exc:
        raise errors.bad_value(name) from exc


def limit_param(params: dict[str, str] | Any, default: int, maximum: int) -> int:
    """`limit` within Binance's range for the endpoint."""
    limit = int_param(params, "limit", default)
    assert limit is not None
    if limit <= 0:
        raise errors.BinanceError(-1100, "Illegal characters found in parameter 'limit'.")
    return min(limit, maximum)


def symbols_param(exchange: SimExchange, params: Any) -> list[SymbolFeed] | None:
    """Feeds named by `symbol` or by the JSON list `symbols`; None when neither is given."""
    if params.get("symbol"):
        return [exchange.feed(params["symbol"])]
    if params.get("symbols"):
        try:
            names = json.loads(params["symbols"])
        except json.JSONDecodeError as exc:
            raise errors.BinanceError(
                -1100, "Illegal characters found in parameter 'symbols'."
            ) from exc
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise errors.BinanceError(-1100, "Illegal characters found in parameter 'symbols'.")
        return [exchange.feed(n) for n in names]
    return None


def _exchange(request: web.Request) -> SimExchange:
    return state_of(request).exchange


async def ping(request: web.Request) -> web.Response:
    """`GET /api/v3/ping`."""
    return web.json_response({})


async def server_time(request: web.Request) -> web.Response:
    """`GET /api/v3/time`: simulated time."""
    return web.json_response({"serverTime": _exchange(request).now_ms})


async def exchange_info(request: web.Request) -> web.Response:
    """`GET /api/v3/exchangeInfo`."""
    state = state_of(request)
    exchange = state.exchange
    feeds = symbols_param(exchange, request.query)
    if state.exchange_info is None:  # the listing is fixed: built on the first request
        state.exchange_info = protocol.ExchangeInfoCache(exchange.specs())
    symbols = None if feeds is None else [f.spec.symbol for f in feeds]
    body = state.exchange_info.encode(symbols, exchange.now_ms)
    return web.Response(body=body, content_type="application/json")


async def depth(request: web.Request) -> web.Response:
    """`GET /api/v3/depth`: the book with the update id it stands at."""
    feed = _exchange(request).feed(request.query.get("symbol"))
    limit = limit_param(request.query, 100, 5000)
    return web.json_response(protocol.depth_snapshot(feed.spec, feed.book, limit))


async def trades(request: web.Request) -> web.Response:
    """`GET /api/v3/trades`: the most recent trades."""
    feed = _exchange(request).feed(request.query.get("symbol"))
    limit = limit_param(request.query, 500, 1000)
    return web.json_response(
        [protocol.trade_rest(feed.spec, p) for p in feed.tape.trades.last(limit)]
    )


async def historical_trades(request: web.Request) -> web.Response:
    """`GET /api/v3/historicalTrades`: trades from `fromId` (needs a known API key)."""
    exchange = state_of(request).exchange
    exchange.matching.accounts.get(request.headers.get("X-MBX-APIKEY"))
    feed = exchange.feed(request.query.get("symbol"))
    limit = limit_param(request.query, 500, 1000)
    from_id = int_param(request.query, "fromId")
    rows = (
        feed.tape.trades.last(limit)
        if from_id is None
        else feed.tape.trades.from_id(from_id, limit)
    )
    return web.json_response([protocol.trade_rest(feed.spec, p) for p in rows])


async def agg_trades(request: web.Request) -> web.Response:
    """`GET /api/v3/aggTrades`: by `fromId`, by time window (at most an hour), or the latest."""
    feed = _exchange(request).feed(request.query.get("symbol"))
    query = request.query
    limit = limit_param(query, 500, 1000)
    from_id = int_param(query, "fromId")
    start, end = int_param(query, "startTime"), int_param(query, "endTime")
    if from_id is not None:
        rows = feed.tape.aggs.from_id(from_id, limit)
    elif start is not None or end is not None:
        if start is None:
            assert end is not None
            start = end - HOUR_MS
        end = end if end is not None else start + HOUR_MS
        if end - start > HOUR_MS:
            raise errors.BinanceError(-1127, "More than 1 hours between startTime and endTime.")
        rows = feed.tape.aggs_between(start, end, limit)
    else:
        rows = feed.tape.aggs.last(limit)
    return web.json_response([protocol.agg_trade_rest(feed.spec, a) for a in rows])


async def klines(request: web.Request) -> web.Response:
    """`GET /api/v3/klines` (and `uiKlines`)."""
    exchange = _exchange(request)
    feed = exchange.feed(request.query.get("symbol"))
    interval = request.query.get("interval")
    if not interval:
        raise errors.mandatory("interval")
    if not is_interval(interval):
        raise errors.invalid_interval()
    bars = feed.klines.query(
        interval,
        start_ms=int_param(request.query, "startTime"),
        end_ms=int_param(request.query, "endTime"),
        limit=limit_param(request.query, 500, 1000),
        now_ms=exchange.now_ms,
    )
    return web.json_response([protocol.kline_row(feed.spec, interval, bar) for bar in bars])


def _one_or_all(request: web.Request, render: Any) -> web.Response:
    exchange = _exchange(request)
    feeds = symbols_param(exchange, request.query)
    if feeds is not None and "symbol" in request.query:
        return web.json_response(render(exchange, feeds[0]))
    chosen = feeds if feeds is not None else list(exchange.feeds.values())
    return web.json_response([render(exchange, feed) for feed in chosen])


def _ticker(exchange: SimExchange, feed: SymbolFeed) -> protocol.JsonDict:
    stats = ticker_stats(feed.klines, feed.tape, feed.book, exchange.now_ms)
    return protocol.ticker_24h(feed.spec, stats)


async def ticker_24hr(request: web.Request) -> web.Response:
    """`GET /api/v3/ticker/24hr`: one symbol (an object), some or all (a list)."""
    return _one_or_all(request, _ticker)


async def ticker_price(request: web.Request) -> web.Response:
    """`GET /api/v3/ticker/price`."""

    def render(exchange: SimExchange, feed: SymbolFeed) -> protocol.JsonDict:
        last = feed.klines.bars[-1].close
        return {"symbol": feed.spec.symbol, "price": feed.spec.price_text(last)}

    return _one_or_all(request, render)


async def book_ticker(request: web.Request) -> web.Response:
    """`GET /api/v3/ticker/bookTicker`."""
    return _one_or_all(request, lambda _e, feed: protocol.book_ticker_rest(feed.spec, feed.book))


async def avg_price(request: web.Request) -> web.Response:
    """`GET /api/v3/avgPrice`: volume-weighted price of the last five minutes."""
    exchange = _exchange(request)
    feed = exchange.feed(request.query.get("symbol"))
    bars = feed.klines.minutes(exchange.now_ms - 5 * MINUTE_MS, exchange.now_ms)
    lots = sum(b.volume_lots for b in bars)
    units = sum(b.quote_units for b in bars)
    price = round(units / lots) if lots else feed.klines.bars[-1].close
    return web.json_response(
        {"mins": 5, "price": feed.spec.price_text(price), "closeTime": exchange.now_ms}
    )


def add_routes(app: web.Application) -> None:
    """Mount the public endpoints."""
    routes = {
        "ping": ping,
        "time": server_time,
        "exchangeInfo": exchange_info,
        "depth": depth,
        "trades": trades,
        "historicalTrades": historical_trades,
        "aggTrades": agg_trades,
        "klines": klines,
        "uiKlines": klines,
        "ticker/24hr": ticker_24hr,
        "ticker/price": ticker_price,
        "ticker/bookTicker": book_ticker,
        "avgPrice": avg_price,
    }
    for path, handler in routes.items():
        app.router.add_get(f"/api/v3/{path}", handler)
