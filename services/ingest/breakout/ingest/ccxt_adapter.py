"""ccxt's unified structures -> md.* events, and ccxt's rate errors -> `RateLimited`.

The exchange's wire format stops here: ccxt parsed it, this module turns ccxt's dicts into our
typed events, and nothing past it sees a ccxt structure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import ccxt.pro

from breakout.common.events import BookSnapshot, Candle, MarketTrade, Ticker24h
from breakout.common.events.md import TIMEFRAME_MS, Timeframe
from breakout.ingest.ratelimit import RateLimited

T = TypeVar("T")


def to_trade(exchange: str, market_id: str, raw: dict[str, Any], received_ms: int) -> MarketTrade:
    """A ccxt trade (from `watch_trades` or `fetch_trades`) as `md.trade`."""
    return MarketTrade(
        exchange=exchange,
        symbol=market_id,
        trade_id=int(raw["id"]),
        price=float(raw["price"]),
        qty=float(raw["amount"]),
        side="buy" if raw["side"] == "buy" else "sell",
        exchange_ts_ms=int(raw["timestamp"]),
        received_ts_ms=received_ms,
    )


def to_book(exchange: str, market_id: str, book: Any, depth: int, received_ms: int) -> BookSnapshot:
    """The top `depth` levels of a ccxt order book as `md.book`."""
    return BookSnapshot(
        exchange=exchange,
        symbol=market_id,
        sequence=int(book["nonce"] or 0),
        depth=depth,
        bids=[(float(p), float(q)) for p, q, *_ in book["bids"][:depth]],
        asks=[(float(p), float(q)) for p, q, *_ in book["asks"][:depth]],
        exchange_ts_ms=int(book["timestamp"] or received_ms),
        received_ts_ms=received_ms,
    )


def is_crossed(book: Any) -> bool:
    """Best bid at or above best ask: the local book is corrupt and must be rebuilt."""
    bids, asks = book["bids"], book["asks"]
    return bool(bids and asks and bids[0][0] >= asks[0][0])


def to_candle(exchange: str, market_id: str, tf: Timeframe, row: list[Any]) -> Candle:
    """A ccxt OHLCV row `[open_ms, o, h, l, c, volume]` as an exchange-sourced `md.candle`.

    ccxt's unified row drops quote volume, trade count and taker volume; those stay 0 here
    and the candle says `source="exchange"`, so nobody mistakes them for measured zeros.
    """
    open_ms = int(row[0])
    return Candle(
        exchange=exchange,
        symbol=market_id,
        timeframe=tf,
        open_ts_ms=open_ms,
        close_ts_ms=open_ms + TIMEFRAME_MS[tf] - 1,
        open=float(row[1]),
        high=float(row[2]),
        low=float(row[3]),
        close=float(row[4]),
        volume=float(row[5]),
        quote_volume=0.0,
        trades=0,
        taker_buy_volume=0.0,
        source="exchange",
    )


def to_ticker(exchange: str, market_id: str, raw: dict[str, Any], received_ms: int) -> Ticker24h:
    """A ccxt 24 h ticker as `md.ticker`."""

    def num(key: str) -> float:
        value = raw.get(key)
        return float(value) if value is not None else 0.0

    info = raw.get("info") or {}
    count = info.get("count") if isinstance(info, dict) else None
    return Ticker24h(
        exchange=exchange,
        symbol=market_id,
        last=num("last"),
        bid=raw.get("bid"),
        ask=raw.get("ask"),
        high=num("high"),
        low=num("low"),
        open=num("open"),
        base_volume=num("baseVolume"),
        quote_volume=num("quoteVolume"),
        change_pct=num("percentage"),
        trades=int(count) if count is not None else None,
        exchange_ts_ms=int(raw.get("timestamp") or received_ms),
        received_ts_ms=received_ms,
    )


def rate_checked(
    exchange: ccxt.pro.Exchange, request: Callable[[], Awaitable[T]]
) -> Callable[[], Awaitable[T]]:
    """Wrap a ccxt REST call so HTTP 429/418 surface as `RateLimited` with the retry-after."""

    async def call() -> T:
        try:
            return await request()
        except (ccxt.RateLimitExceeded, ccxt.DDoSProtection) as refused:  # 429, 418
            headers = exchange.last_response_headers or {}
            retry_after = headers.get("Retry-After") or headers.get("retry-after")
            banned = " 418 " in str(refused)  # binance raises DDoSProtection for both
            raise RateLimited(
                str(refused)[:200],
                retry_after_s=float(retry_after) if retry_after else None,
                banned=banned,
            ) from refused

    return call
