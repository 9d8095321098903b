"""Activity tracker: a 40 % drop in trading, recovery, and z-scores against a recomputation."""

from __future__ import annotations

import statistics
import sys

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from breakout.common.events import ActivityDropped, ActivityRecovered, Event
from breakout.features.activity import ActivityState, ActivityTracker
from breakout.features.config import ActivityConfig, TradeWindowsConfig
from breakout.features.trades import TradeAggregator
from tests.unit.features.factories import T0_MS, trade

CONFIG = ActivityConfig()


class Market:
    """Trades at a given rate, sampled every second as the service samples them."""

    def __init__(self) -> None:
        self.trades = TradeAggregator(TradeWindowsConfig())
        self.tracker = ActivityTracker(CONFIG, "binance", "BTCUSDT")
        self.now_ms = T0_MS
        self.next_trade_ms = T0_MS
        self.events: list[tuple[int, Event]] = []

    def run(self, seconds: int, trades_per_minute: int) -> None:
        gap_ms = 60_000 // trades_per_minute
        for _ in range(seconds):
            self.now_ms += 1_000
            while self.next_trade_ms <= self.now_ms:
                side = "buy" if self.next_trade_ms // gap_ms % 2 else "sell"
                self.trades.add(trade(self.next_trade_ms, 100.0, 1.0, side))
                self.next_trade_ms += gap_ms
            self.trades.advance(self.now_ms)
            w10, w60 = self.trades.window(10), self.trades.window(60)
            tpm, tps = w60.trades * 1.0, w10.trades / 10
            new = self.tracker.sample(self.now_ms, tpm, tps, w60.abs_volume_delta)
            self.events += [(self.now_ms - T0_MS, e) for e in new]


def test_a_40_pct_drop_in_trading_is_announced_once_then_recovery() -> None:
    market = Market()
    market.run(2_000, trades_per_minute=100)
    assert market.events == []
    reading = market.tracker.reading
    assert reading is not None and reading.baseline_tpm == pytest.approx(100.0)
    assert reading.drop_frac == pytest.approx(0.0)
    market.run(30, trades_per_minute=60)  # half a window in: TPM 80, a 20 % drop
    assert market.events == []
    market.run(60, trades_per_minute=60)  # a full window at 60 TPM: the drop reaches 40 %
    assert len(market.events) == 1
    at_ms, dropped = market.events[0]
    assert isinstance(dropped, ActivityDropped)
    assert dropped.drop_frac == pytest.approx(0.4)
    assert dropped.baseline_tpm == pytest.approx(100.0)
    assert dropped.tpm == 60.0
    assert 2_050_000 < at_ms <= 2_060_000  # when the 60 s window holds only the slow regime
    market.run(60, trades_per_minute=90)  # back to a 10 % drop: under 0.5 x the threshold
    assert [type(e) for _, e in market.events] == [ActivityDropped, ActivityRecovered]


def test_a_30_pct_drop_is_not_a_drop() -> None:
    market = Market()
    market.run(2_000, trades_per_minute=100)
    market.run(300, trades_per_minute=70)
    assert market.events == []


def test_no_reading_until_the_baseline_is_warm() -> None:
    tracker = ActivityTracker(CONFIG, "binance", "BTCUSDT")
    # The n-th sample is read against n - 1 - 60 baseline samples (60 s are held back).
    for i in range(CONFIG.min_history_s + 60):
        tracker.sample(T0_MS + i * 1000, 50.0, 1.0, 3.0)
    assert tracker.reading is not None and tracker.reading.activity_index is None
    tracker.sample(T0_MS + 10**6, 50.0, 1.0, 3.0)
    assert tracker.reading.activity_index == 0.0  # a flat baseline: no deviation


_samples = st.lists(
    st.tuples(st.floats(0, 5_000), st.floats(0, 100), st.floats(0, 1e6)), min_size=1, max_size=80
)


@settings(max_examples=100, deadline=None)
@given(_samples)
def test_index_equals_a_recomputation_over_the_baseline(samples: list) -> None:
    config = ActivityConfig(history_s=20, min_history_s=5, tpm_window_s=6, tps_window_s=6)
    tracker = ActivityTracker(config, "binance", "BTCUSDT")
    for i, sample in enumerate(samples):
        tracker.sample(T0_MS + i * 1000, *sample)
    baseline = samples[:-1][-(6 + 20) : -6]  # held back: the 6 before the last
    reading = tracker.reading
    assert reading is not None
    if len(baseline) < 5:
        assert reading.activity_index is None
        return
    expected = 0.0
    for k in range(3):
        values = [s[k] for s in baseline]
        std = statistics.pstdev(values)
        if std > 0:
            expected += (samples[-1][k] - statistics.fmean(values)) / std
    assert reading.activity_index == pytest.approx(expected, rel=1e-9, abs=1e-9)
    mean_tpm = statistics.fmean(s[0] for s in baseline)
    assert reading.baseline_tpm == pytest.approx(mean_tpm, rel=1e-15)


def test_state_round_trips_through_a_snapshot() -> None:
    market = Market()
    market.run(700, trades_per_minute=100)
    raw = msgspec.msgpack.encode(market.tracker.save())
    restored = ActivityTracker(CONFIG, "binance", "BTCUSDT")
    restored.load(msgspec.msgpack.decode(raw, type=ActivityState))
    assert restored.sample(T0_MS + 10**6, 30.0, 0.5, 2.0) == market.tracker.sample(
        T0_MS + 10**6, 30.0, 0.5, 2.0
    )
    assert restored.reading == market.tracker.reading


def test_the_baseline_is_a_fixed_ring_of_the_last_half_hour() -> None:
    # Two simulated hours of 1 s samples: the baseline keeps exactly `history_s` of them, the
    # ones before the held-back TPM window, in a buffer whose size never changed.
    tracker = ActivityTracker(CONFIG, "binance", "BTCUSDT")
    ring = tracker._baseline
    footprint = sys.getsizeof(ring._values)
    samples = [(float(i % 97), float(i % 13), float(i % 7)) for i in range(7_200)]
    for i, sample in enumerate(samples):
        tracker.sample(T0_MS + i * 1_000, *sample)
    held_back = CONFIG.tpm_window_s // CONFIG.sample_interval_s
    capacity = CONFIG.history_s // CONFIG.sample_interval_s
    expected = samples[-held_back - capacity : -held_back]
    assert tracker.save().baseline == expected
    assert sys.getsizeof(ring._values) == footprint and tracker._baseline is ring
    # The last sample was read against the baseline as it stood before that sample aged.
    read_against = samples[-held_back - capacity - 1 : -held_back - 1]
    reading = tracker.reading
    assert reading is not None and reading.baseline_tpm == pytest.approx(
        statistics.fmean(s[0] for s in read_against), rel=1e-12
    )
