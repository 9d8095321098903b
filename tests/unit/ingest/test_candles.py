"""Candles built from trades: bucket edges, empty buckets, partial first buckets."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from breakout.common.events import MarketTrade
from breakout.ingest.candles import CandleBuilder, merge

MIN = 60_000


def _trade(trade_id: int, ts_ms: int, price: float, qty: float, side: str = "buy") -> MarketTrade:
    return MarketTrade(
        exchange="sim",
        symbol="ETHUSDT",
        trade_id=trade_id,
        price=price,
        qty=qty,
        side="buy" if side == "buy" else "sell",
        exchange_ts_ms=ts_ms,
        received_ts_ms=ts_ms,
    )


def test_first_bucket_is_partial_then_full_candles_close_on_the_next_trade() -> None:
    builder = CandleBuilder("sim", "ETHUSDT", ["1m"])
    assert builder.on_trade(_trade(1, 10 * MIN + 5, 100, 1)).candles == []
    closed = builder.on_trade(_trade(2, 11 * MIN, 101, 2))
    assert closed.candles == []
    assert closed.partial == [("1m", 10 * MIN)]
    builder.on_trade(_trade(3, 11 * MIN + 30_000, 99, 1, "sell"))
    builder.on_trade(_trade(4, 11 * MIN + 59_999, 100.5, 3))
    candle = builder.on_trade(_trade(5, 12 * MIN, 100, 1)).candles[0]
    assert (candle.open_ts_ms, candle.close_ts_ms) == (11 * MIN, 12 * MIN - 1)
    assert (candle.open, candle.high, candle.low, candle.close) == (101, 101, 99, 100.5)
    assert candle.volume == 6
    assert candle.taker_buy_volume == 5
    assert candle.trades == 3
    assert candle.quote_volume == 101 * 2 + 99 + 100.5 * 3


def test_quiet_minutes_close_flat_at_the_last_price() -> None:
    builder = CandleBuilder("sim", "ETHUSDT", ["1m", "5m"])
    builder.on_trade(_trade(1, 9 * MIN, 50, 1))
    at_ten = builder.on_trade(_trade(2, 10 * MIN, 51, 1))
    # The 5m bucket that began at 5 min was partial (first seen mid-way) and is not emitted.
    assert at_ten.partial == [("1m", 9 * MIN), ("5m", 5 * MIN)]
    closed = builder.close_due(13 * MIN)
    flat = [c for c in closed.candles if c.timeframe == "1m"]
    assert [c.open_ts_ms for c in flat] == [10 * MIN, 11 * MIN, 12 * MIN]
    assert flat[1].open == flat[1].close == 51
    assert flat[1].volume == 0
    assert flat[1].trades == 0
    assert not any(c.timeframe == "5m" for c in closed.candles)  # 10-15 min is still open


def test_mark_partial_withholds_the_open_buckets() -> None:
    builder = CandleBuilder("sim", "ETHUSDT", ["1m"])
    builder.on_trade(_trade(1, 0, 1, 1))
    builder.on_trade(_trade(2, MIN, 1, 1))
    builder.mark_partial()
    closed = builder.close_due(2 * MIN)
    assert closed.candles == []
    assert closed.partial == [("1m", MIN)]


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=20 * MIN),
            st.floats(min_value=1, max_value=1000),
            st.floats(min_value=0.001, max_value=10),
        ),
        min_size=1,
        max_size=200,
    )
)
def test_candles_agree_with_a_brute_force_grouping(prints: list[tuple[int, float, float]]) -> None:
    prints.sort(key=lambda p: p[0])
    builder = CandleBuilder("sim", "ETHUSDT", ["1m", "5m"])
    results = [builder.on_trade(_trade(i, ts, p, q)) for i, (ts, p, q) in enumerate(prints)]
    results.append(builder.close_due(25 * MIN))
    out = merge(results)
    for candle in out.candles:
        width = MIN if candle.timeframe == "1m" else 5 * MIN
        inside = [p for p in prints if candle.open_ts_ms <= p[0] < candle.open_ts_ms + width]
        assert candle.trades == len(inside)
        if inside:
            assert candle.open == inside[0][1]
            assert candle.close == inside[-1][1]
            assert candle.high == max(p[1] for p in inside)
            assert candle.low == min(p[1] for p in inside)
            assert abs(candle.volume - sum(p[2] for p in inside)) < 1e-9 * (1 + candle.volume)
    first_1m = prints[0][0] - prints[0][0] % MIN
    emitted_1m = sorted(c.open_ts_ms for c in out.candles if c.timeframe == "1m")
    assert emitted_1m == list(range(first_1m + MIN, 25 * MIN, MIN))
