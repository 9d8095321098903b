"""Market-data and control event types: subjects, streams and JSON round trips."""

from __future__ import annotations

import pytest

from breakout.common.events import (
    BookSnapshot,
    Candle,
    MarketTrade,
    SubscriptionRequested,
    decode_event,
    encode_event,
    md_stream,
)


def test_trade_round_trips_and_names_its_subject() -> None:
    trade = MarketTrade(
        exchange="binance",
        symbol="BTCUSDT",
        trade_id=42,
        price=97123.45,
        qty=0.0031,
        side="sell",
        exchange_ts_ms=1_763_726_400_000,
        received_ts_ms=1_763_726_400_012,
    )
    assert decode_event("md.trade.v1", encode_event(trade)) == trade
    assert trade.subject() == "md.trade.binance.BTCUSDT"
    assert md_stream("trade", "binance", "BTCUSDT") == "md.trade-binance.BTCUSDT"


def test_book_levels_decode_as_tuples() -> None:
    book = BookSnapshot(
        exchange="binance",
        symbol="ETHUSDT",
        sequence=7,
        depth=2,
        bids=[(3000.0, 1.5), (2999.9, 2.0)],
        asks=[(3000.1, 0.4), (3000.2, 9.0)],
        exchange_ts_ms=1,
        received_ts_ms=2,
    )
    decoded = decode_event("md.book.v1", encode_event(book))
    assert decoded == book
    assert isinstance(decoded, BookSnapshot)
    assert decoded.bids[0] == (3000.0, 1.5)


def test_candle_subject_carries_the_timeframe() -> None:
    candle = Candle(
        exchange="binance",
        symbol="SOLUSDT",
        timeframe="5m",
        open_ts_ms=0,
        close_ts_ms=299_999,
        open=1,
        high=2,
        low=0.5,
        close=1.5,
        volume=10,
        quote_volume=12,
        trades=3,
        taker_buy_volume=4,
    )
    assert candle.subject() == "md.candle.5m.binance.SOLUSDT"


def test_a_symbol_that_is_not_a_subject_token_is_refused() -> None:
    with pytest.raises(ValueError, match="not a valid subject token"):
        md_stream("trade", "binance", "BTC/USDT")


def test_subscription_request_defaults_to_add() -> None:
    request = SubscriptionRequested(exchange="binance", symbols=["BTCUSDT"], requested_by="op")
    assert request.action == "add"
    assert request.subject() == "ctl.subscribe"
    assert decode_event("ctl.subscribe.v1", encode_event(request)) == request
