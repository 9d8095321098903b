"""Density detector: a wall appears, is eaten to 75 %, is pulled; pulled walls are not eaten.

The mechanics are tested with the hysteresis off (`CONFIG`); the hysteresis (a wall must stand,
not at the window's edge, out of view for a while before it is removed, no re-detection of a
removed bucket at once) with the defaults, in the tests at the end.
"""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from breakout.common.events import BookSnapshot, Event
from breakout.common.events.feat import DensityDetected, DensityEaten, DensityRemoved
from breakout.features.book import TickSize
from breakout.features.config import DensityConfig
from breakout.features.density import DensityDetector, DensityState
from tests.unit.features.factories import T0_MS, book, trade

TICK = TickSize.fixed(0.01)
CONFIG = DensityConfig(
    k_density=7.0,
    bucket_ticks=3,
    lookback_window_s=300,
    min_standing_s=0,
    edge_margin_buckets=0,
    out_of_view_grace_s=0,
    redetect_cooldown_s=0,
)
DEFAULTS = DensityConfig()
# Prices in ticks of 0.01: best bid 100.00 (10000), best ask 100.01 (10001).
BEST_BID, BEST_ASK = 10_000, 10_001


def ladder(
    ts_ms: int, walls: dict[int, float] | None = None, levels: int = 60, qty: float = 1.0
) -> BookSnapshot:
    """A book with `qty` on every tick, plus `walls` (tick -> extra qty)."""
    walls = walls or {}
    bids = [
        (TICK.price(t), qty + walls.get(t, 0.0)) for t in range(BEST_BID, BEST_BID - levels, -1)
    ]
    asks = [(TICK.price(t), qty + walls.get(t, 0.0)) for t in range(BEST_ASK, BEST_ASK + levels)]
    return book(ts_ms, bids, asks)


# A bid wall on ticks 9990..9992 (bucket 3330: prices 99.90 .. 99.92), 100 extra on 9991.
WALL_TICK = 9_991


def _detect(detector: DensityDetector) -> DensityDetected:
    events = detector.on_book(ladder(T0_MS, {WALL_TICK: 100.0}), TICK)
    detected = [e for e in events if isinstance(e, DensityDetected)]
    assert len(detected) == 1
    return detected[0]


def test_wall_appears_is_eaten_to_75_pct_then_pulled() -> None:
    detector = DensityDetector(CONFIG, "binance", "BTCUSDT")
    wall = _detect(detector)
    # Bucket of 3 ticks: 3 x 1.0 + 100 = 103; every other bucket holds 3.0 (the median).
    assert wall.side == "bid"
    assert (wall.price_low, wall.price_high) == (99.90, 99.92)
    assert wall.qty == pytest.approx(103.0)
    assert wall.reference_qty == pytest.approx(3.0)
    assert wall.strength == pytest.approx(103.0 / 3.0)
    assert wall.distance_bps == pytest.approx((100.005 - 99.92) / 100.005 * 1e4)

    # Taker sells print 77.25 into the wall; the next snapshot shows 25.75 left (75 % eaten).
    for i in range(3):
        detector.on_trade(trade(T0_MS + 100 + i, 99.91, 25.75, "sell"))
    detector.on_trade(trade(T0_MS + 200, 99.91, 5.0, "buy"))  # a buy cannot eat a bid wall
    events = detector.on_book(ladder(T0_MS + 1_000, {WALL_TICK: 100.0 - 77.25}), TICK)
    assert len(events) == 1
    eaten = events[0]
    assert isinstance(eaten, DensityEaten)
    assert eaten.wall_id == wall.wall_id
    assert eaten.eaten_ratio == pytest.approx(0.75)
    assert eaten.traded_qty == pytest.approx(77.25)
    assert eaten.pulled_qty == 0.0

    # The rest is cancelled with no trade: removed, and the cause is a pull.
    events = detector.on_book(ladder(T0_MS + 2_000), TICK)
    removed = [e for e in events if isinstance(e, DensityRemoved)]
    assert [type(e) for e in events] == [DensityRemoved]
    assert removed[0].cause == "pulled"
    assert removed[0].traded_qty == pytest.approx(77.25)
    assert removed[0].pulled_qty == pytest.approx(25.75 - 3.0)
    assert removed[0].lifetime_ms == 2_000
    assert not detector.walls


def test_wall_pulled_without_trades_is_removed_not_eaten() -> None:
    detector = DensityDetector(CONFIG, "binance", "BTCUSDT")
    _detect(detector)
    events = detector.on_book(ladder(T0_MS + 500), TICK)
    assert [type(e) for e in events] == [DensityRemoved]
    removed = events[0]
    assert isinstance(removed, DensityRemoved)
    assert removed.cause == "pulled"
    assert removed.traded_qty == 0.0


def test_wall_traded_through_is_eaten_then_removed() -> None:
    detector = DensityDetector(CONFIG, "binance", "BTCUSDT")
    _detect(detector)
    detector.on_trade(trade(T0_MS + 10, 99.92, 50.0, "sell"))
    detector.on_trade(trade(T0_MS + 20, 99.90, 60.0, "sell"))
    events = detector.on_book(ladder(T0_MS + 1_000, {WALL_TICK: -1.0}), TICK)
    assert [type(e) for e in events] == [DensityEaten, DensityRemoved]
    eaten, removed = events
    assert isinstance(eaten, DensityEaten) and isinstance(removed, DensityRemoved)
    assert eaten.eaten_ratio == pytest.approx(1 - 2.0 / 103.0)
    assert removed.cause == "eaten"


def test_wall_out_of_view_is_removed() -> None:
    detector = DensityDetector(CONFIG, "binance", "BTCUSDT")
    _detect(detector)
    # Only 5 levels a side now: the wall's bucket lies below the deepest visible bid.
    events = detector.on_book(ladder(T0_MS + 1_000, levels=5), TICK)
    assert [e.cause for e in events if isinstance(e, DensityRemoved)] == ["out_of_view"]


def test_reference_is_the_median_over_the_lookback() -> None:
    detector = DensityDetector(CONFIG, "binance", "BTCUSDT")
    for i in range(3):
        detector.on_book(ladder(T0_MS + i * 1_000, qty=1.0), TICK)  # median bucket 3.0
    for i in range(2):
        detector.on_book(ladder(T0_MS + 3_000 + i * 1_000, qty=10.0), TICK)  # median 30.0
    assert detector.reference_qty == pytest.approx(3.0)
    # 300 s later the thin snapshots have left the lookback.
    detector.on_book(ladder(T0_MS + 302_500, qty=10.0), TICK)
    assert detector.reference_qty == pytest.approx(30.0)


def test_ask_walls_are_hit_by_taker_buys() -> None:
    detector = DensityDetector(CONFIG, "binance", "BTCUSDT")
    events = detector.on_book(ladder(T0_MS, {10_011: 80.0}), TICK)
    assert [(e.side, e.price_low) for e in events if isinstance(e, DensityDetected)] == [
        ("ask", 100.11)
    ]
    detector.on_trade(trade(T0_MS + 1, 100.11, 40.0, "buy"))
    events = detector.on_book(ladder(T0_MS + 1_000, {10_011: 40.0}), TICK)
    assert [type(e) for e in events] == [DensityEaten]
    assert isinstance(events[0], DensityEaten)
    assert events[0].eaten_ratio == pytest.approx(40.0 / 83.0)


_steps = st.lists(
    st.tuples(st.floats(0.0, 150.0), st.floats(0.0, 60.0), st.booleans()), max_size=12
)


@settings(max_examples=200, deadline=None)
@given(_steps)
def test_eaten_ratio_bounds_and_pulls_never_count_as_eaten(steps: list) -> None:
    # Each step: the wall's extra size in the next snapshot, qty sold into it, whether sold.
    detector = DensityDetector(CONFIG, "binance", "BTCUSDT")
    _detect(detector)
    seen: list[Event] = []
    for i, (extra, sold, any_trades) in enumerate(steps):
        if any_trades and sold > 0:
            detector.on_trade(trade(T0_MS + i * 1_000 + 1, 99.91, sold, "sell"))
        seen += detector.on_book(ladder(T0_MS + (i + 1) * 1_000, {WALL_TICK: extra}), TICK)
    traded_at_all = any(t and s > 0 for _, s, t in steps)
    for event in seen:
        if isinstance(event, DensityEaten | DensityRemoved):
            assert 0.0 <= event.eaten_ratio <= 1.0
            assert event.traded_qty >= 0 and event.pulled_qty >= -1e-9
        if not traded_at_all:
            assert not isinstance(event, DensityEaten)
            if isinstance(event, DensityRemoved):
                assert event.cause == "pulled"
    for wall in detector.walls.values():
        assert 0.0 <= wall.eaten_ratio <= 1.0


def test_state_round_trips_through_a_snapshot() -> None:
    detector = DensityDetector(CONFIG, "binance", "BTCUSDT")
    _detect(detector)
    detector.on_trade(trade(T0_MS + 10, 99.91, 30.0, "sell"))
    raw = msgspec.msgpack.encode(detector.save())
    restored = DensityDetector(CONFIG, "binance", "BTCUSDT")
    restored.load(msgspec.msgpack.decode(raw, type=DensityState))
    nxt = ladder(T0_MS + 1_000, {WALL_TICK: 70.0})
    assert restored.on_book(nxt, TICK) == detector.on_book(nxt, TICK)


# -- hysteresis (the defaults) ----------------------------------------------------------------


def _kinds(events: list[Event]) -> list[str]:
    return [type(e).__name__ for e in events]


def test_defaults_are_the_documented_hysteresis() -> None:
    assert (DEFAULTS.min_standing_s, DEFAULTS.edge_margin_buckets) == (2.0, 1)
    assert (DEFAULTS.out_of_view_grace_s, DEFAULTS.redetect_cooldown_s) == (5.0, 30.0)


def test_a_size_seen_in_one_snapshot_is_not_a_wall() -> None:
    detector = DensityDetector(DEFAULTS, "binance", "BTCUSDT")
    assert detector.on_book(ladder(T0_MS, {WALL_TICK: 100.0}), TICK) == []
    assert detector.on_book(ladder(T0_MS + 1_000), TICK) == []  # requoted away: nothing
    assert detector.on_book(ladder(T0_MS + 2_000, {WALL_TICK: 100.0}), TICK) == []
    assert detector.on_book(ladder(T0_MS + 3_000, {WALL_TICK: 100.0}), TICK) == []
    # Standing since T0 + 2 s: a wall at T0 + 4 s, with the size it holds then.
    events = detector.on_book(ladder(T0_MS + 4_000, {WALL_TICK: 90.0}), TICK)
    assert _kinds(events) == ["DensityDetected"]
    assert isinstance(events[0], DensityDetected)
    assert events[0].qty == pytest.approx(93.0)
    assert events[0].ts_ms == T0_MS + 4_000


def _standing(detector: DensityDetector, walls: dict[int, float], levels: int = 60) -> list[Event]:
    events: list[Event] = []
    for i in range(3):
        events += detector.on_book(ladder(T0_MS + i * 1_000, walls, levels=levels), TICK)
    return events


def test_no_wall_in_the_deepest_bucket_of_the_window() -> None:
    # 20 levels a side: bids 99.81 .. 100.00, the deepest bucket 3327 (99.81 .. 99.83).
    detector = DensityDetector(DEFAULTS, "binance", "BTCUSDT")
    assert _standing(detector, {9_982: 100.0}, levels=20) == []
    # The same size one bucket further in (99.84 .. 99.86) is a wall.
    detector = DensityDetector(DEFAULTS, "binance", "BTCUSDT")
    detected = [e for e in _standing(detector, {9_985: 100.0}, levels=20)]
    assert [(e.side, e.price_low) for e in detected if isinstance(e, DensityDetected)] == [
        ("bid", 99.84)
    ]


def test_a_wall_out_of_view_is_held_then_removed_after_the_grace() -> None:
    detector = DensityDetector(DEFAULTS, "binance", "BTCUSDT")
    assert _kinds(_standing(detector, {WALL_TICK: 100.0})) == ["DensityDetected"]
    # The window shrinks to 5 levels for 4 s: the wall is out of view, held, nothing recorded;
    # trades into it meanwhile still count when it is seen again.
    for i in range(3, 7):
        assert detector.on_book(ladder(T0_MS + i * 1_000, levels=5), TICK) == []
    detector.on_trade(trade(T0_MS + 6_500, 99.91, 60.0, "sell"))
    events = detector.on_book(ladder(T0_MS + 7_000, {WALL_TICK: 40.0}), TICK)
    assert _kinds(events) == ["DensityEaten"]
    assert isinstance(events[0], DensityEaten)
    assert events[0].traded_qty == pytest.approx(60.0)
    # Out of view for 5 s (the grace): removed as out of view.
    for i in range(8, 12):
        assert detector.on_book(ladder(T0_MS + i * 1_000, levels=5), TICK) == []
    events = detector.on_book(ladder(T0_MS + 13_000, levels=5), TICK)
    assert [e.cause for e in events if isinstance(e, DensityRemoved)] == ["out_of_view"]


def test_a_removed_bucket_is_not_a_new_wall_until_the_cooldown_ends() -> None:
    detector = DensityDetector(DEFAULTS, "binance", "BTCUSDT")
    _standing(detector, {WALL_TICK: 100.0})
    removed = detector.on_book(ladder(T0_MS + 3_000), TICK)
    assert [e.cause for e in removed if isinstance(e, DensityRemoved)] == ["pulled"]
    # Put back at once and kept there: no new wall for 30 s after the removal.
    seen: list[Event] = []
    for i in range(4, 33):
        seen += detector.on_book(ladder(T0_MS + i * 1_000, {WALL_TICK: 100.0}), TICK)
    assert seen == []
    # From T0 + 33 s it may stand again; 2 s later it is a wall.
    for i in range(33, 36):
        seen += detector.on_book(ladder(T0_MS + i * 1_000, {WALL_TICK: 100.0}), TICK)
    assert _kinds(seen) == ["DensityDetected"]
    assert isinstance(seen[0], DensityDetected)
    assert seen[0].ts_ms == T0_MS + 35_000


def test_hysteresis_state_round_trips_through_a_snapshot() -> None:
    detector = DensityDetector(DEFAULTS, "binance", "BTCUSDT")
    _standing(detector, {WALL_TICK: 100.0})
    detector.on_book(ladder(T0_MS + 3_000, {10_011: 80.0}), TICK)  # an ask standing since now
    detector.on_book(ladder(T0_MS + 4_000, {10_011: 80.0}, levels=5), TICK)  # bid wall hidden
    raw = msgspec.msgpack.encode(detector.save())
    restored = DensityDetector(DEFAULTS, "binance", "BTCUSDT")
    restored.load(msgspec.msgpack.decode(raw, type=DensityState))
    for i in range(5, 40):
        nxt = ladder(T0_MS + i * 1_000, {10_011: 80.0, WALL_TICK: 100.0}, levels=5 + i)
        assert restored.on_book(nxt, TICK) == detector.on_book(nxt, TICK)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("min_standing_s", -1.0),
        ("edge_margin_buckets", -1),
        ("out_of_view_grace_s", 4000.0),
        ("redetect_cooldown_s", -0.5),
    ],
)
def test_a_bad_hysteresis_value_is_refused_naming_the_field(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        msgspec.convert({field: value}, DensityConfig)
