"""The L2 book: queue order, update ids and diffs, never crossed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from breakout.exchange_sim.book import SIM_OWNER, Fill, OrderBook


def test_aggressor_eats_best_levels_in_queue_order() -> None:
    book = OrderBook()
    book.add(False, 101, 5)
    book.add(False, 101, 3, owner=7)  # our order queues behind 5 lots
    book.add(False, 102, 10)
    fills = book.take(True, 9, limit_price=None)
    assert fills == [Fill(101, 5, SIM_OWNER), Fill(101, 3, 7), Fill(102, 1, SIM_OWNER)]
    assert book.best_ask() == 102
    assert book.total(False, 102) == 9


def test_limit_price_stops_the_walk() -> None:
    book = OrderBook()
    book.add(True, 99, 4)
    book.add(True, 98, 4)
    assert book.take(False, 10, limit_price=99) == [Fill(99, 4, SIM_OWNER)]
    assert book.best_bid() == 98


def test_cancel_sim_withdraws_newest_anonymous_liquidity_and_keeps_ours() -> None:
    book = OrderBook()
    book.add(True, 100, 5)
    book.add(True, 100, 2, owner=3)
    book.add(True, 100, 4)
    assert book.cancel_sim(True, 100, 100) == 9
    assert book.total(True, 100) == 2
    assert book.lots_ahead(True, 100, 3) == 0


def test_adding_through_the_opposite_side_is_refused() -> None:
    book = OrderBook()
    book.add(False, 100, 1)
    with pytest.raises(ValueError, match="cross"):
        book.add(True, 100, 1)


def test_diffs_carry_continuous_update_ids_and_final_totals() -> None:
    book = OrderBook(first_update_id=50)
    book.add(True, 99, 3)
    book.add(True, 99, 2)
    book.add(False, 101, 1)
    first = book.drain_diff()
    assert first is not None
    assert (first.first_id, first.last_id) == (50, 52)
    assert first.bids == [(99, 5)] and first.asks == [(101, 1)]
    assert book.drain_diff() is None
    book.take(True, 1)
    second = book.drain_diff()
    assert second is not None
    assert second.first_id == first.last_id + 1
    assert second.asks == [(101, 0)]  # a zero removes the level


def test_skip_ids_opens_a_gap_in_the_next_diff() -> None:
    book = OrderBook(first_update_id=1)
    book.add(True, 99, 3)
    book.drain_diff()
    book.skip_ids(5)
    book.add(True, 98, 1)
    diff = book.drain_diff()
    assert diff is not None and diff.first_id == 1 + 1 + 5


_ops = st.lists(
    st.tuples(
        st.sampled_from(["add", "cancel", "take", "pull"]),
        st.booleans(),
        st.integers(90, 110),
        st.integers(1, 20),
        st.integers(0, 3),
    ),
    max_size=200,
)


@settings(max_examples=200, deadline=None)
@given(_ops)
def test_book_stays_uncrossed_consistent_and_its_diffs_replay_it(
    ops: list[tuple[str, bool, int, int, int]],
) -> None:
    book = OrderBook()
    mirror: dict[tuple[bool, int], int] = {}
    last_id = book.update_id
    for op, is_bid, price, lots, owner in ops:
        if op == "add":
            other = book.best_ask() if is_bid else book.best_bid()
            if other is None or (price < other if is_bid else price > other):
                book.add(is_bid, price, lots, owner=owner)
        elif op == "cancel":
            book.cancel_sim(is_bid, price, lots)
        elif op == "pull":
            book.remove_owner(is_bid, price, owner)
        else:
            book.take(is_bid, lots, limit_price=price)
        assert not book.is_crossed()
        diff = book.drain_diff()
        if diff is not None:
            assert diff.first_id == last_id + 1
            last_id = diff.last_id
            for level_price, total in diff.bids:
                mirror[(True, level_price)] = total
            for level_price, total in diff.asks:
                mirror[(False, level_price)] = total
    for side in (True, False):
        rebuilt = sorted(
            ((p, q) for (s, p), q in mirror.items() if s is side and q > 0), reverse=side
        )
        assert rebuilt == book.levels(side, 1000)
        for price in book.side(side).prices():
            assert book.total(side, price) == sum(c.lots for c in book.side(side).queues[price])
