"""ccxt's unified structures -> md.* events, and ccxt's rate errors -> `RateLimited`.

The exchange's wire format stops here: ccxt parsed it, this module turns ccxt's dicts into our
typed events, and nothing past it sees a ccxt structure.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import ccxt.pro

from breakout.common.events import BookSnapshot, Candle, MarketTrade, Ticker24h
from breakout.common.events.md import TIMEFRAME_MS, Timeframe
from breakout.ingest.ratelimit import RateLimited

T = TypeVar("T")


class MalformedPayload(ValueError):
    """A ccxt structure this adapter refuses: a field missing, of the wrong kind or out of range.

    Never turned into a default (a missing side is not a sell, a missing price is not 0): the
    feed records the refusal as an `md.gap` and the sequencer's hole makes it backfill.
    """

    def __init__(self, what: str, reason: str, raw: object) -> None:
        self.what = what
        self.reason = reason
        super().__init__(f"malformed {what}: {reason}; payload {str(raw)[:200]}")


def _finite(what: str, raw: Any, key: str | int) -> float:
    try:
        value = float(raw[key])
    except (KeyError, IndexError, TypeError, ValueError, OverflowError) as exc:
        raise MalformedPayload(what, f"{key} is {_peek(raw, key)}", raw) from exc
    if not math.isfinite(value):
        raise MalformedPayload(what, f"{key} {value!r} is not finite", raw)
    return value


def _positive(what: str, raw: Any, key: str | int) -> float:
    value = _finite(what, raw, key)
    if value <= 0:
        raise MalformedPayload(what, f"{key} {value!r} must be > 0", raw)
    return value


def _non_negative(what: str, raw: Any, key: str | int) -> float:
    value = _finite(what, raw, key)
    if value < 0:
        raise MalformedPayload(what, f"{key} {value!r} must be >= 0", raw)
    return value


def _integer(what: str, raw: Any, key: str | int) -> int:
    try:
        value = raw[key]
        if isinstance(value, bool) or value is None:
            raise TypeError(value)
        number = int(value)
    except (KeyError, IndexError, TypeError, ValueError, OverflowError) as exc:
        raise MalformedPayload(what, f"{key} is {_peek(raw, key)}", raw) from exc
    if number < 0:
        raise MalformedPayload(what, f"{key} {number} is negative", raw)
    return number


def _peek(raw: Any, key: str | int) -> str:
    try:
        return repr(raw[key])[:40]
    except (KeyError, IndexError, TypeError):
        return "missing"


def _mapping(what: str, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise MalformedPayload(what, f"expected a dict, got {type(raw).__name__}", raw)
    return raw


def to_trade(exchange: str, market_id: str, raw: Any, received_ms: int) -> MarketTrade:
    """A ccxt trade (from `watch_trades` or `fetch_trades`) as `md.trade`."""
    raw = _mapping("trade", raw)
    side = raw.get("side")
    if side not in ("buy", "sell"):
        raise MalformedPayload("trade", f"side is {side!r}", raw)
    return MarketTrade(
        exchange=exchange,
        symbol=market_id,
        trade_id=_integer("trade", raw, "id"),
        price=_positive("trade", raw, "price"),
        qty=_positive("trade", raw, "amount"),
        side=side,
        exchange_ts_ms=_integer("trade", raw, "timestamp"),
        received_ts_ms=received_ms,
    )


def _levels(what: str, raw: Any, key: str, depth: int) -> list[tuple[float, float]]:
    rows = raw.get(key)
    if not isinstance(rows, list):
        raise MalformedPayload(what, f"{key} is {type(rows).__name__}", raw)
    levels = []
    for row in rows[:depth]:
        if not isinstance(row, (list, tuple)) or len(row) < 2:
            raise MalformedPayload(what, f"{key} level {row!r:.40}", raw)
        levels.append((_positive(what, row, 0), _non_negative(what, row, 1)))
    return levels


def to_book(exchange: str, market_id: str, book: Any, depth: int, received_ms: int) -> BookSnapshot:
    """The top `depth` levels of a ccxt order book as `md.book`."""
    book = _mapping("book", book)
    nonce, timestamp = book.get("nonce"), book.get("timestamp")
    return BookSnapshot(
        exchange=exchange,
        symbol=market_id,
        sequence=_integer("book", book, "nonce") if nonce is not None else 0,
        depth=depth,
        bids=_levels("book", book, "bids", depth),
        asks=_levels("book", book, "asks", depth),
        exchange_ts_ms=_integer("book", book, "timestamp") if timestamp else received_ms,
        received_ts_ms=received_ms,
    )


def is_crossed(book: Any) -> bool:
    """Best bid at or above best ask: the local book is corrupt and must be rebuilt."""
    try:
        bids, asks = book["bids"], book["asks"]
        return bool(bids and asks and bids[0][0] >= asks[0][0])
    except (KeyError, IndexError, TypeError) as exc:
        raise MalformedPayload("book", f"no comparable best levels: {exc!r}", book) from exc


def to_candle(exchange: str, market_id: str, tf: Timeframe, row: Any) -> Candle:
    """A ccxt OHLCV row `[open_ms, o, h, l, c, volume]` as an exchange-sourced `md.candle`.

    ccxt's unified row drops quote volume, trade count and taker volume; those stay 0 here
    and the candle says `source="exchange"`, so nobody mistakes them for measured zeros.
    """
    if not isinstance(row, (list, tuple)) or len(row) < 6:
        raise MalformedPayload("candle", "expected [open_ms, o, h, l, c, volume]", row)
    open_ms = _integer("candle", row, 0)
    open_, high, low, close = (_positive("candle", row, i) for i in (1, 2, 3, 4))
    if not low <= min(open_, close) <= max(open_, close) <= high:
        raise MalformedPayload("candle", "open/close outside [low, high]", row)
    return Candle(
        exchange=exchange,
        symbol=market_id,
        timeframe=tf,
        open_ts_ms=open_ms,
        close_ts_ms=open_ms + TIMEFRAME_MS[tf] - 1,
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=_non_negative("candle", row, 5),
        quote_volume=0.0,
        trades=0,
        taker_buy_volume=0.0,
        source="exchange",
    )


def to_ticker(exchange: str, market_id: str, raw: Any, received_ms: int) -> Ticker24h:
    """A ccxt 24 h ticker as `md.ticker` (a figure the exchange left out is 0, `last` is not)."""
    raw = _mapping("ticker", raw)

    def num(key: str) -> float:
        return 0.0 if raw.get(key) is None else _non_negative("ticker", raw, key)

    def quote(key: str) -> float | None:
        return None if raw.get(key) is None else _positive("ticker", raw, key)

    info = raw.get("info") or {}
    count = info.get("count") if isinstance(info, dict) else None
    stamped = raw.get("timestamp") is not None
    return Ticker24h(
        exchange=exchange,
        symbol=market_id,
        last=_positive("ticker", raw, "last"),
        bid=quote("bid"),
        ask=quote("ask"),
        high=num("high"),
        low=num("low"),
        open=num("open"),
        base_volume=num("baseVolume"),
        quote_volume=num("quoteVolume"),
        change_pct=0.0 if raw.get("percentage") is None else _finite("ticker", raw, "percentage"),
        trades=_integer("ticker", info, "count") if count is not None else None,
        exchange_ts_ms=_integer("ticker", raw, "timestamp") if stamped else received_ms,
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
