"""Fuzz: ccxt structures into md.* events. Every input is either a valid event or refused
with `MalformedPayload`; never another exception, never a silently defaulted value."""

from __future__ import annotations

import math
from typing import Any

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from breakout.common.events import encode_event
from breakout.ingest.ccxt_adapter import (
    MalformedPayload,
    is_crossed,
    to_book,
    to_candle,
    to_ticker,
    to_trade,
)
from tests.fuzz.strategies import FUZZ, json_values, mutated

TRADE = {"id": "123", "price": 100.5, "amount": 0.25, "side": "buy", "timestamp": 1_700_000_000_000}
BOOK = {
    "nonce": 77,
    "timestamp": 1_700_000_000_000,
    "bids": [[100.0, 1.0], [99.9, 2.0]],
    "asks": [[100.1, 1.5], [100.2, 0.0]],
}
CANDLE = [1_700_000_000_000, 100.0, 101.0, 99.5, 100.5, 12.0]
TICKER = {
    "last": 100.0,
    "bid": 99.9,
    "ask": 100.1,
    "high": 105.0,
    "low": 95.0,
    "open": 98.0,
    "baseVolume": 1000.0,
    "quoteVolume": 100000.0,
    "percentage": -2.5,
    "timestamp": 1_700_000_000_000,
    "info": {"count": 42},
}


def _accepted_or_refused(convert: Any, raw: Any) -> Any:
    try:
        event = convert(raw)
    except MalformedPayload as refused:
        assert refused.what and refused.reason
        return None
    encode_event(event)  # whatever is accepted is recordable
    return event


def test_the_valid_samples_convert() -> None:
    assert to_trade("binance", "X", TRADE, 1).trade_id == 123
    assert to_book("binance", "X", BOOK, 10, 1).asks[1] == (100.2, 0.0)
    assert to_candle("binance", "X", "1m", CANDLE).close == 100.5
    assert to_ticker("binance", "X", TICKER, 1).change_pct == -2.5


@FUZZ
@given(st.one_of(mutated(TRADE), json_values))
def test_trades(raw: Any) -> None:
    trade = _accepted_or_refused(lambda r: to_trade("binance", "X", r, 1), raw)
    if trade is not None:
        assert trade.side in ("buy", "sell") and trade.side == raw["side"]
        assert math.isfinite(trade.price) and trade.price > 0
        assert math.isfinite(trade.qty) and trade.qty > 0
        assert trade.trade_id >= 0 and trade.exchange_ts_ms >= 0


@FUZZ
@given(st.one_of(mutated(BOOK), json_values))
def test_books(raw: Any) -> None:
    book = _accepted_or_refused(lambda r: to_book("binance", "X", r, 10, 1), raw)
    if book is not None:
        for price, qty in book.bids + book.asks:
            assert price > 0 and math.isfinite(price) and qty >= 0 and math.isfinite(qty)
        assert isinstance(is_crossed(raw), bool)


@FUZZ
@given(st.one_of(mutated(CANDLE), json_values))
def test_candles(raw: Any) -> None:
    candle = _accepted_or_refused(lambda r: to_candle("binance", "X", "1m", r), raw)
    if candle is not None:
        assert candle.low <= min(candle.open, candle.close)
        assert max(candle.open, candle.close) <= candle.high
        assert candle.volume >= 0


@FUZZ
@given(st.one_of(mutated(TICKER), json_values))
def test_tickers(raw: Any) -> None:
    ticker = _accepted_or_refused(lambda r: to_ticker("binance", "X", r, 1), raw)
    if ticker is not None:
        values = [ticker.last, ticker.high, ticker.low, ticker.base_volume, ticker.change_pct]
        assert all(math.isfinite(v) for v in values) and ticker.last > 0
        assert msgspec.json.encode(ticker)
