"""Order-book metrics: a hand-built book, bad books, tick inference, the real Binance snapshot."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from breakout.features.book import TickSize, book_metrics, validate_book
from breakout.features.config import BookConfig
from tests.unit.features.factories import T0_MS, book

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"


def test_depth_spread_and_imbalance_by_hand() -> None:
    # mid = 100.0; 0.3 % band = [99.7, 100.3]; 0.5 % band = [99.5, 100.5].
    snap = book(
        T0_MS,
        bids=[(99.9, 10.0), (99.6, 5.0), (99.2, 100.0)],
        asks=[(100.1, 2.0), (100.4, 4.0), (101.0, 50.0)],
    )
    tick = TickSize()
    tick.observe(snap.bids, snap.asks)
    metrics = book_metrics(snap, BookConfig(), tick)
    assert metrics is not None
    assert metrics.mid == pytest.approx(100.0)
    assert metrics.spread_bps == pytest.approx(20.0)
    assert metrics.bid_usd_0_3pct == pytest.approx(999.0)
    assert metrics.ask_usd_0_3pct == pytest.approx(200.2)
    assert metrics.bid_usd_0_5pct == pytest.approx(999.0 + 498.0)
    assert metrics.ask_usd_0_5pct == pytest.approx(200.2 + 401.6)
    bid, ask = 999.0 + 498.0, 200.2 + 401.6
    assert metrics.imbalance == pytest.approx((bid - ask) / (bid + ask))
    one_pct = next(b for b in metrics.bands if b.pct == 1.0)
    assert one_pct.bid_usd == pytest.approx(bid + 9920.0)
    assert one_pct.ask_usd == pytest.approx(ask + 5050.0)
    assert metrics.bid_reach_pct == pytest.approx(0.8)
    assert metrics.tick_size == pytest.approx(0.1)


def test_one_sided_book_has_no_metrics() -> None:
    assert book_metrics(book(T0_MS, [(1.0, 1.0)], []), BookConfig(), TickSize.fixed(0.1)) is None


@pytest.mark.parametrize(
    ("bids", "asks", "error"),
    [
        ([(100.0, 1.0), (101.0, 1.0)], [(102.0, 1.0)], "not sorted"),
        ([(100.0, 1.0)], [(102.0, 1.0), (101.0, 1.0)], "not sorted"),
        ([(100.0, 0.0)], [(102.0, 1.0)], "bad level"),
        ([(100.0, 1.0), (100.0, 2.0)], [(102.0, 1.0)], "not sorted"),
        ([(100.0, float("inf"))], [(102.0, 1.0)], "bad level"),
        ([(101.0, 1.0)], [(100.0, 1.0)], "crossed"),
    ],
)
def test_bad_books_are_refused(bids: list, asks: list, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        validate_book(book(T0_MS, bids, asks))


def test_tick_inference_only_gets_finer() -> None:
    tick = TickSize()
    tick.observe([(97123.4, 1.0), (97123.0, 1.0)], [(97124.0, 1.0)])
    assert (tick.tick, tick.decimals) == (pytest.approx(0.1), 1)
    tick.observe([(97123.45, 1.0)], [(97124.0, 1.0)])
    assert tick.decimals == 2
    tick.observe([(97123.0, 1.0)], [(97124.0, 1.0)])
    assert tick.decimals == 2
    assert tick.price(tick.ticks(100.02)) == 100.02


@given(st.integers(1, 10**9), st.sampled_from([0.5, 0.01, 0.0001, 1e-8, 5.0]))
def test_ticks_round_trip_prices(ticks: int, size: float) -> None:
    tick = TickSize.fixed(size)
    price = tick.price(ticks)
    assert tick.ticks(price) == ticks


def _real_snapshots() -> list[tuple[int, list[tuple[float, float]], list[tuple[float, float]]]]:
    path = DATA / "binance-futures_book_snapshot_25_BTCUSDT.csv"
    if not path.exists():
        pytest.skip("shared data samples are absent")
    snapshots = []
    with path.open() as f:
        for row in csv.DictReader(f):
            sides = {
                side: [
                    (float(row[f"{side}[{i}].price"]), float(row[f"{side}[{i}].amount"]))
                    for i in range(25)
                ]
                for side in ("bids", "asks")
            }
            snapshots.append((int(row["timestamp"]) // 1000, sides["bids"], sides["asks"]))
    return snapshots


def test_real_binance_snapshots_against_a_direct_sum() -> None:
    snapshots = _real_snapshots()
    assert snapshots
    for ts, bids, asks in snapshots:
        snap = book(ts, bids, asks)
        validate_book(snap)
        tick = TickSize()
        tick.observe(snap.bids, snap.asks)
        assert tick.tick == pytest.approx(0.01)
        metrics = book_metrics(snap, BookConfig(), tick)
        assert metrics is not None
        mid = (bids[0][0] + asks[0][0]) / 2
        assert metrics.spread_bps == pytest.approx((asks[0][0] - bids[0][0]) / mid * 1e4)
        for band in metrics.bands:
            lo, hi = mid * (1 - band.pct / 100), mid * (1 + band.pct / 100)
            assert band.bid_usd == pytest.approx(math.fsum(p * q for p, q in bids if p >= lo))
            assert band.ask_usd == pytest.approx(math.fsum(p * q for p, q in asks if p <= hi))
        assert -1 <= metrics.imbalance <= 1
