"""Closed candles built from trades, for every configured timeframe at once.

A bucket is emitted when a trade of a later bucket arrives or when the shell says time has
passed its close (`close_due`). Empty buckets are emitted flat at the previous close, as the
exchange's klines are. The first bucket after a (re)start, and any bucket a feed hole may have
thinned, is *partial*: the builder does not emit it but reports its open time, so the shell
fetches the exchange's own kline for it instead of recording a wrong one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec

from breakout.common.events import Candle, MarketTrade
from breakout.common.events.md import TIMEFRAME_MS, Timeframe


class _Bucket(msgspec.Struct):
    open_ts_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float = 0.0
    quote_volume: float = 0.0
    trades: int = 0
    taker_buy_volume: float = 0.0
    partial: bool = False

    def add(self, trade: MarketTrade) -> None:
        if self.trades == 0:  # an empty bucket stood flat at the previous close until now
            self.open = self.high = self.low = trade.price
        self.high = max(self.high, trade.price)
        self.low = min(self.low, trade.price)
        self.close = trade.price
        self.volume += trade.qty
        self.quote_volume += trade.qty * trade.price
        self.trades += 1
        if trade.side == "buy":
            self.taker_buy_volume += trade.qty


class Closed(msgspec.Struct, frozen=True):
    """What closing buckets produced: candles to record, partial buckets to fetch instead."""

    candles: list[Candle]
    partial: list[tuple[Timeframe, int]]


class CandleBuilder:
    """Builds one symbol's candles for `timeframes` from its trades, in trade-id order."""

    def __init__(self, exchange: str, symbol: str, timeframes: Sequence[Timeframe]) -> None:
        self.exchange = exchange
        self.symbol = symbol
        self.timeframes = tuple(timeframes)
        self._open: dict[Timeframe, _Bucket] = {}

    def on_trade(self, trade: MarketTrade) -> Closed:
        """Fold a trade in; close every bucket the trade's time has moved past."""
        closed = self.close_due(trade.exchange_ts_ms)
        for tf in self.timeframes:
            bucket = self._open.get(tf)
            start = _bucket_start(trade.exchange_ts_ms, tf)
            if bucket is None:
                # The first trade seen: the bucket may have begun before we were listening.
                bucket = _Bucket(start, trade.price, trade.price, trade.price, trade.price)
                bucket.partial = True
                self._open[tf] = bucket
            elif start != bucket.open_ts_ms:
                continue  # a late print of a bucket already closed: its candle is recorded
            bucket.add(trade)
        return closed

    def close_due(self, now_ms: int) -> Closed:
        """Close every bucket whose end is at or before `now_ms`, filling empty ones flat."""
        candles: list[Candle] = []
        partial: list[tuple[Timeframe, int]] = []
        for tf in self.timeframes:
            bucket = self._open.get(tf)
            width = TIMEFRAME_MS[tf]
            while bucket is not None and bucket.open_ts_ms + width <= now_ms:
                if bucket.partial:
                    partial.append((tf, bucket.open_ts_ms))
                else:
                    candles.append(self._candle(tf, bucket))
                bucket = _Bucket(bucket.open_ts_ms + width, *(bucket.close,) * 4)
                self._open[tf] = bucket
        return Closed(candles, partial)

    def mark_partial(self) -> None:
        """A feed hole could not be filled: the open buckets may lack trades."""
        for bucket in self._open.values():
            bucket.partial = True

    def _candle(self, tf: Timeframe, b: _Bucket) -> Candle:
        return Candle(
            exchange=self.exchange,
            symbol=self.symbol,
            timeframe=tf,
            open_ts_ms=b.open_ts_ms,
            close_ts_ms=b.open_ts_ms + TIMEFRAME_MS[tf] - 1,
            open=b.open,
            high=b.high,
            low=b.low,
            close=b.close,
            volume=b.volume,
            quote_volume=b.quote_volume,
            trades=b.trades,
            taker_buy_volume=b.taker_buy_volume,
        )


def _bucket_start(ts_ms: int, tf: Timeframe) -> int:
    width = TIMEFRAME_MS[tf]
    return ts_ms - ts_ms % width


def merge(results: Iterable[Closed]) -> Closed:
    """Concatenate several `Closed` results."""
    candles: list[Candle] = []
    partial: list[tuple[Timeframe, int]] = []
    for r in results:
        candles.extend(r.candles)
        partial.extend(r.partial)
    return Closed(candles, partial)
