"""Market-data events: what the ingestion service records from an exchange.

Prices and quantities are floats: market data is most of the log by volume, features compute in
floating point, and a float64 holds every exchange price and size exactly enough to round-trip
its decimal text (orders and balances, where money is counted, use Decimal instead).

Each event keeps the exchange's own time (`exchange_ts_ms`) and the time ingestion received it
(`received_ts_ms`); their difference is the feed latency. Streams are one per exchange, symbol
and feed (`md.trade-binance.BTCUSDT`); subjects follow ARCHITECTURE.md.
"""

from __future__ import annotations

from typing import Literal

from breakout.common.events.base import Event, subject_token

Side = Literal["buy", "sell"]
Timeframe = Literal["1m", "5m", "15m", "1h"]
Feed = Literal["trades", "book", "candles", "tickers"]

TIMEFRAME_MS: dict[str, int] = {"1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000}

# A book level: (price, quantity).
Level = tuple[float, float]


def md_stream(kind: str, exchange: str, symbol: str) -> str:
    """The store stream of one exchange/symbol feed, e.g. `md.trade-binance.BTCUSDT`."""
    return f"md.{kind}-{subject_token(exchange)}.{subject_token(symbol)}"


class MarketTrade(Event, frozen=True, kw_only=True, tag="md.trade.v1"):
    """One public trade print. `side` is the aggressor's (taker's) side."""

    exchange: str
    symbol: str
    trade_id: int
    price: float
    qty: float
    side: Side
    exchange_ts_ms: int
    received_ts_ms: int

    def subject(self) -> str:
        """`md.trade.<exchange>.<SYMBOL>`."""
        return f"md.trade.{subject_token(self.exchange)}.{subject_token(self.symbol)}"


class BookSnapshot(Event, frozen=True, kw_only=True, tag="md.book.v1"):
    """The top `depth` levels of a locally maintained L2 book, best first on each side.

    `sequence` is the exchange's update id the book stands at (Binance `lastUpdateId` / `u`),
    so a consumer can tell two snapshots of the same book state apart from a new one.
    """

    exchange: str
    symbol: str
    sequence: int
    depth: int
    bids: list[Level]
    asks: list[Level]
    exchange_ts_ms: int
    received_ts_ms: int

    def subject(self) -> str:
        """`md.book.<exchange>.<SYMBOL>`."""
        return f"md.book.{subject_token(self.exchange)}.{subject_token(self.symbol)}"


class Candle(Event, frozen=True, kw_only=True, tag="md.candle.v1"):
    """A closed OHLCV candle. `source` says whether it was built from trades or fetched."""

    exchange: str
    symbol: str
    timeframe: Timeframe
    open_ts_ms: int
    close_ts_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    quote_volume: float
    trades: int
    taker_buy_volume: float
    source: Literal["trades", "exchange"] = "trades"

    def subject(self) -> str:
        """`md.candle.<tf>.<exchange>.<SYMBOL>`."""
        return (
            f"md.candle.{self.timeframe}.{subject_token(self.exchange)}."
            f"{subject_token(self.symbol)}"
        )


class Ticker24h(Event, frozen=True, kw_only=True, tag="md.ticker.v1"):
    """Rolling 24 h statistics of a symbol, as the scanner needs them."""

    exchange: str
    symbol: str
    last: float
    bid: float | None = None
    ask: float | None = None
    high: float
    low: float
    open: float
    base_volume: float
    quote_volume: float
    change_pct: float
    trades: int | None = None
    exchange_ts_ms: int
    received_ts_ms: int

    def subject(self) -> str:
        """`md.ticker.<exchange>.<SYMBOL>`."""
        return f"md.ticker.{subject_token(self.exchange)}.{subject_token(self.symbol)}"


class MarketDataGap(Event, frozen=True, kw_only=True, tag="md.gap.v1"):
    """A feed lost continuity: a dropped connection, a stale stream, an update-id gap.

    `last_good_id` is the last trade id or book update id seen before the gap (None if none).
    """

    exchange: str
    symbol: str
    feed: Feed
    reason: str
    last_good_id: int | None = None
    detected_ts_ms: int

    def subject(self) -> str:
        """`md.gap.<exchange>.<SYMBOL>`."""
        return f"md.gap.{subject_token(self.exchange)}.{subject_token(self.symbol)}"


class MarketDataResynced(Event, frozen=True, kw_only=True, tag="md.resynced.v1"):
    """A feed is continuous again: trades backfilled by id, or a book rebuilt from a snapshot."""

    exchange: str
    symbol: str
    feed: Feed
    recovered: int
    from_id: int | None = None
    to_id: int | None = None
    resynced_ts_ms: int

    def subject(self) -> str:
        """`md.resynced.<exchange>.<SYMBOL>`."""
        return f"md.resynced.{subject_token(self.exchange)}.{subject_token(self.symbol)}"


class CandleMismatch(Event, frozen=True, kw_only=True, tag="md.candle_mismatch.v1"):
    """A candle built from trades disagrees with the exchange's kline beyond tolerance."""

    exchange: str
    symbol: str
    timeframe: Timeframe
    open_ts_ms: int
    field: str
    built: float
    fetched: float

    def subject(self) -> str:
        """`md.candle_mismatch.<exchange>.<SYMBOL>`."""
        return f"md.candle_mismatch.{subject_token(self.exchange)}.{subject_token(self.symbol)}"
