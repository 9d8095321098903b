"""Kline periods and queries; stream names; the 1 s depth stream; fault windows."""

from __future__ import annotations

import msgspec
import pytest

from breakout.exchange_sim.book import DepthDiff
from breakout.exchange_sim.exchange import SimExchange, SymbolUpdate
from breakout.exchange_sim.faults import RateLimit, Window, decode_fault
from breakout.exchange_sim.klines import MINUTE_MS, Bar, KlineSeries, bucket_close, bucket_open
from breakout.exchange_sim.market import MarketConfig
from breakout.exchange_sim.streams import StreamPublisher, parse_stream

# 2024-01-03 (a Wednesday) 10:17:30 UTC
TS = 1_704_277_050_000


def test_periods_align_like_binance() -> None:
    assert bucket_open("1m", TS) == 1_704_277_020_000
    assert bucket_open("15m", TS) == 1_704_276_900_000
    assert bucket_open("1d", TS) == 1_704_240_000_000
    assert bucket_open("1w", TS) == 1_704_067_200_000  # Monday 2024-01-01
    assert bucket_open("1M", TS) == 1_704_067_200_000  # 2024-01-01 too
    assert bucket_close("1M", 1_704_067_200_000) == 1_706_745_600_000 - 1  # end of January


def _series(minutes: int) -> KlineSeries:
    start = TS // MINUTE_MS * MINUTE_MS
    bars = [
        Bar(open_ms=start + i * MINUTE_MS, open=100 + i, high=101 + i, low=99 + i, close=101 + i)
        for i in range(minutes)
    ]
    for i, bar in enumerate(bars):
        bar.volume_lots = 10 + i
        bar.trades = 1
    return KlineSeries(bars)


def test_query_forward_from_start_and_back_from_the_end() -> None:
    series = _series(120)
    first = series.bars[0].open_ms
    forward = series.query(
        "5m", start_ms=first, end_ms=None, limit=3, now_ms=first + 120 * MINUTE_MS
    )
    assert [b.open_ms for b in forward] == [
        bucket_open("5m", first) + 5 * MINUTE_MS * k for k in (1, 2, 3)
    ]
    assert forward[0].volume_lots == sum(
        b.volume_lots
        for b in series.minutes(forward[0].open_ms, forward[0].open_ms + 5 * MINUTE_MS - 1)
    )
    back = series.query("1m", start_ms=None, end_ms=None, limit=2, now_ms=first + 10**9)
    assert [b.open_ms for b in back] == [series.bars[-2].open_ms, series.bars[-1].open_ms]


def test_silent_minutes_are_flat_at_the_last_close() -> None:
    series = _series(1)
    series.extend_to(series.bars[0].open_ms + 3 * MINUTE_MS)
    assert [(b.open, b.high, b.low, b.close, b.volume_lots) for b in series.bars[1:]] == [
        (101, 101, 101, 101, 0)
    ] * 3
    series.add_trade(series.bars[-1].open_ms + 5, 105, 2, taker_buys=True)
    assert (series.bars[-1].open, series.bars[-1].high, series.bars[-1].taker_buy_lots) == (
        105,
        105,
        2,
    )


def test_stream_names() -> None:
    listed = {"BTCUSDT"}
    assert parse_stream("btcusdt@depth@100ms", listed) == "btcusdt@depth@100ms"
    assert parse_stream("btcusdt@depth@1000ms", listed) == "btcusdt@depth"
    assert parse_stream("btcusdt@kline_15m", listed) == "btcusdt@kline_15m"
    assert parse_stream("btcusdt@kline_7m", listed) is None
    assert parse_stream("ethusdt@trade", listed) is None
    assert parse_stream("btcusdt@nonsense", listed) is None


def test_one_second_depth_merges_diffs_and_never_merges_over_a_gap() -> None:
    exchange = SimExchange.simulated(
        ["BTCUSDT"], start_ms=TS, config=MarketConfig(history_days=0.01)
    )
    publisher = StreamPublisher(exchange)
    wanted = {"btcusdt@depth"}

    def update(ts: int, first: int, last: int, bids: list[tuple[int, int]]) -> SymbolUpdate:
        return SymbolUpdate("BTCUSDT", ts, [], DepthDiff(first, last, bids, []))

    second = TS // 1000 * 1000 + 1000
    out = publisher.messages(
        [update(second - 300, 10, 12, [(1, 5)]), update(second - 200, 13, 13, [(1, 6), (2, 1)])],
        wanted,
    )
    assert out == []
    out = publisher.messages([update(second - 100, 20, 21, [(3, 1)])], wanted)  # gap: flush first
    assert [msgspec.json.decode(text)["U"] for _, text in out] == [10]
    assert msgspec.json.decode(out[0][1])["b"] == [
        ["0.02000000", "0.00001000"],
        ["0.01000000", "0.00006000"],
    ]
    out = publisher.messages([update(second, 22, 22, [])], wanted)  # the whole second
    assert [
        (msgspec.json.decode(text)["U"], msgspec.json.decode(text)["u"]) for _, text in out
    ] == [(20, 22)]


def test_fault_windows_count_or_expire() -> None:
    by_count = Window.of(2, None, 0)
    assert [by_count.use(0) for _ in range(3)] == [True, True, False]
    by_time = Window.of(None, 1.5, 1_000)
    assert by_time.use(2_499) and not by_time.use(2_500)
    assert Window.of(None, None, 0).remaining == 1


def test_fault_requests_are_validated() -> None:
    assert decode_fault(b'{"action": "rate_limit", "status": 418, "seconds": 2}') == RateLimit(
        status=418, seconds=2
    )
    with pytest.raises(msgspec.ValidationError):
        decode_fault(b'{"action": "rate_limit", "status": 500}')
    with pytest.raises(msgspec.ValidationError):
        decode_fault(b'{"action": "explode"}')


def test_a_running_series_keeps_its_span_rolling() -> None:
    # Three days of history, then two more days of trading a trade a minute: the series holds
    # at most an hour beyond its three days, and still answers klines over what it holds.
    keep = 3 * 24 * 60
    series = _series(keep)
    series.keep_minutes = keep
    start, oldest = series.bars[-1].open_ms, series.bars[0].open_ms
    longest = 0
    for minute in range(1, 2 * 24 * 60 + 1):
        series.add_trade(start + minute * MINUTE_MS + 7, 150 + minute % 5, 1, taker_buys=True)
        longest = max(longest, len(series.bars))
    assert keep <= len(series.bars) <= longest <= keep + 60
    assert series.first_open_ms == series.bars[0].open_ms
    assert series.bars[-1].open_ms == start + 2 * 24 * 60 * MINUTE_MS
    assert series.minutes(oldest, oldest + MINUTE_MS) == []  # cut: older than three days
    now_ms = series.bars[-1].open_ms + MINUTE_MS
    back = series.query("1h", start_ms=None, end_ms=None, limit=2, now_ms=now_ms)
    assert back[-2].trades == 60 and back[-2].volume_lots == 60
    early = series.query("1h", start_ms=0, end_ms=None, limit=1, now_ms=now_ms)
    assert early[0].open_ms == bucket_open("1h", series.first_open_ms) + (
        0 if series.first_open_ms % (60 * MINUTE_MS) == 0 else 60 * MINUTE_MS
    )
