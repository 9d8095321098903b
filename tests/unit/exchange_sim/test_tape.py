"""The trade tape: ids, aggregate trades, bounded history."""

from __future__ import annotations

import pytest

from breakout.exchange_sim.book import Fill
from breakout.exchange_sim.tape import IdWindow, TradeTape


def test_one_takers_prints_at_one_price_form_one_aggregate_trade() -> None:
    tape = TradeTape(first_trade_id=100, first_agg_id=10)
    prints = tape.record(
        [Fill(5, 1, 0), Fill(5, 2, 7), Fill(6, 4, 0)], taker_buys=True, ts_ms=1_000
    )
    assert [(p.trade_id, p.agg_id, p.buyer_maker) for p in prints] == [
        (100, 10, False),
        (101, 10, False),
        (102, 11, False),
    ]
    aggs = tape.aggs.items()
    assert [(a.agg_id, a.price, a.lots, a.first_trade_id, a.last_trade_id) for a in aggs] == [
        (10, 5, 3, 100, 101),
        (11, 6, 4, 102, 102),
    ]
    tape.record([Fill(6, 1, 0)], taker_buys=False, ts_ms=2_000)
    assert tape.aggs.items()[-1].agg_id == 12  # a new taker is a new aggregate, same price or not
    assert [a.agg_id for a in tape.aggs_between(1_500, 2_500, 10)] == [12]


def test_id_window_keeps_the_most_recent_items() -> None:
    window: IdWindow[int] = IdWindow(capacity=100)
    for item_id in range(1, 1001):
        window.append(item_id, item_id)
    assert 100 <= len(window) <= 126
    assert window.last(3) == [998, 999, 1000]
    assert window.from_id(990, 5) == [990, 991, 992, 993, 994]
    assert window.from_id(1, 2) == window.items()[:2]  # gone: the oldest kept come back
    with pytest.raises(ValueError, match="does not follow"):
        window.append(1002, 1002)
