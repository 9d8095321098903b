"""Trade aggregator: hand-checked windows and a brute-force recomputation for any sequence."""

from __future__ import annotations

import math

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from breakout.common.events import MarketTrade
from breakout.features.config import TradeWindowsConfig
from breakout.features.trades import TradeAggregator, TradeAggregatorState
from tests.unit.features.factories import T0_MS, trade

CONFIG = TradeWindowsConfig()


def test_windows_by_hand() -> None:
    agg = TradeAggregator(CONFIG)
    agg.add(trade(T0_MS, price=100.0, qty=2.0, side="buy", latency_ms=10))
    agg.add(trade(T0_MS + 5_000, price=101.0, qty=1.0, side="sell", latency_ms=20))
    agg.add(trade(T0_MS + 30_000, price=102.0, qty=3.0, side="buy", latency_ms=30))
    w10, w60, w300 = agg.stats()
    # 10 s window at T0+30 s holds only the last trade.
    assert (w10.trades, w10.buy_qty, w10.sell_qty) == (1, 3.0, 0.0)
    assert w10.tps == pytest.approx(0.1)
    assert w10.buy_sell_ratio is None
    # 60 s window holds all three.
    assert w60.trades == 3
    assert w60.tpm == pytest.approx(3.0)
    assert w60.volume_delta == pytest.approx(2.0 + 3.0 - 1.0)
    assert w60.notional == pytest.approx(200.0 + 101.0 + 306.0)
    assert w60.buy_sell_ratio == pytest.approx(5.0)
    assert w60.mean_latency_ms == pytest.approx(20.0)
    assert w300.trades == 3
    # At T0+60 s the first trade (at exactly T0) leaves the 60 s window: (now-60 s, now].
    agg.advance(T0_MS + 60_000)
    assert agg.stats()[1].trades == 2
    agg.advance(T0_MS + 65_000)
    w60 = agg.stats()[1]
    assert (w60.trades, w60.buy_qty, w60.sell_qty) == (1, 3.0, 0.0)


def test_time_never_goes_back() -> None:
    agg = TradeAggregator(CONFIG)
    agg.add(trade(T0_MS + 20_000))
    agg.add(trade(T0_MS + 1_000))  # stamped earlier: counts at T0+20 s
    assert agg.clock_ms == T0_MS + 20_000
    agg.advance(T0_MS + 29_999)
    assert agg.stats()[0].trades == 2
    agg.advance(T0_MS + 30_000)
    assert agg.stats()[0].trades == 0


def _brute_force(trades: list[MarketTrade], now_ms: int, window_s: int) -> dict[str, float]:
    clock = 0
    held = []
    for t in trades:
        clock = max(clock, t.exchange_ts_ms)
        held.append((clock, t))
    inside = [t for ts, t in held if now_ms - window_s * 1000 < ts <= now_ms]
    buys = [t for t in inside if t.side == "buy"]
    sells = [t for t in inside if t.side == "sell"]
    return {
        "trades": len(inside),
        "buy_qty": math.fsum(t.qty for t in buys),
        "sell_qty": math.fsum(t.qty for t in sells),
        "delta": math.fsum([*(t.qty for t in buys), *(-t.qty for t in sells)]),
        "notional": math.fsum(t.price * t.qty for t in inside),
        "latency": sum(t.received_ts_ms - t.exchange_ts_ms for t in inside),
    }


_trades = st.lists(
    st.tuples(
        st.integers(0, 4_000),  # gap to the previous trade, ms
        st.floats(0.0001, 1e6, allow_nan=False),
        st.floats(1e-8, 1e4, allow_nan=False),
        st.sampled_from(["buy", "sell"]),
        st.integers(-50, 500),  # jitter: some trades stamped before the previous one
    ),
    max_size=300,
)


@settings(max_examples=150, deadline=None)
@given(_trades, st.integers(0, 400_000))
def test_incremental_windows_equal_recomputation(raw: list[tuple], tail_ms: int) -> None:
    config = TradeWindowsConfig(windows_s=(1, 10, 60))
    agg = TradeAggregator(config)
    trades: list[MarketTrade] = []
    ts = T0_MS
    for i, (gap, price, qty, side, jitter) in enumerate(raw):
        ts += gap
        t = trade(ts - jitter, price, qty, side, trade_id=i, latency_ms=jitter + 7)
        trades.append(t)
        agg.add(t)
    now = agg.clock_ms + tail_ms
    agg.advance(now)
    for stats in agg.stats():
        expect = _brute_force(trades, now, stats.window_s)
        assert stats.trades == expect["trades"]
        # Exact sums: equal to the recomputation bit for bit, not merely close.
        assert stats.buy_qty == expect["buy_qty"]
        assert stats.sell_qty == expect["sell_qty"]
        assert stats.volume_delta == expect["delta"]
        assert stats.notional == expect["notional"]
        if stats.trades:
            assert stats.mean_latency_ms == pytest.approx(expect["latency"] / stats.trades)


def test_long_run_stays_exact_and_compacts() -> None:
    # 20,000 trades a few ms apart: many rebuilds and compactions of the log.
    config = TradeWindowsConfig(windows_s=(1, 10))
    agg = TradeAggregator(config)
    trades = []
    for i in range(20_000):
        t = trade(T0_MS + i * 3, 100.0 + (i % 7) * 0.01, 0.001 * (1 + i % 13), "buy", trade_id=i)
        trades.append(t)
        agg.add(t)
    assert len(agg.log) < 8_000  # compacted, not every trade kept
    w1, w10 = agg.stats()
    assert w10.buy_qty == _brute_force(trades, agg.clock_ms, 10)["buy_qty"]
    assert w1.trades == _brute_force(trades, agg.clock_ms, 1)["trades"]


@pytest.mark.parametrize(("trades_per_s", "hours"), [(0.2, 6.0), (20.0, 0.5)])
def test_the_log_holds_the_longest_window_not_hours_of_dead_trades(
    trades_per_s: float, hours: float
) -> None:
    # A quiet symbol (0.2 trades/s: 60 in the 300 s window) once kept up to 4,096 trades
    # behind its longest window, hours of them; the log now stays within an eighth of the
    # window's trades (and a floor of 64) above what the window holds, quiet or busy.
    agg = TradeAggregator(CONFIG)
    gap_ms = round(1000 / trades_per_s)
    longest = 0
    for i in range(round(hours * 3600 * trades_per_s)):
        agg.add(trade(T0_MS + i * gap_ms, 100.0, 0.01, "buy", trade_id=i))
        live = agg.windows[-1].trades
        longest = max(longest, len(agg.log) - max(live * 8 // 7, live + 64))
    assert longest <= 1
    assert agg.windows[-1].trades == 300 * trades_per_s


def test_state_round_trips_through_a_snapshot() -> None:
    agg = TradeAggregator(CONFIG)
    for i in range(50):
        agg.add(trade(T0_MS + i * 700, 100 + i, 0.5, "sell" if i % 3 else "buy"))
    raw = msgspec.msgpack.encode(agg.save())
    restored = TradeAggregator.load(CONFIG, msgspec.msgpack.decode(raw, type=TradeAggregatorState))
    later = trade(T0_MS + 40_000, 99.0, 1.0, "buy")
    agg.add(later)
    restored.add(later)
    assert restored.stats() == agg.stats()
    assert restored.save() == agg.save()


def test_bad_trades_are_refused() -> None:
    agg = TradeAggregator(CONFIG)
    with pytest.raises(ValueError, match="must be > 0"):
        agg.add(trade(T0_MS, price=0.0))
    with pytest.raises(ValueError, match="must be > 0"):
        agg.add(trade(T0_MS, qty=float("nan")))
