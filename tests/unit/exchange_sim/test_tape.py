"""The trade tape: ids, aggregate trades, bounded history."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class Tick:
    tick_id: int
    ts_ms: int
    up: bool


def test_id_window_keeps_the_most_recent_items() -> None:
    window = IdWindow(Tick, capacity=100)
    for item_id in range(1, 1001):
        window.append(item_id, Tick(item_id, item_id * 10, item_id % 2 == 0))
    assert 100 <= len(window) <= 113
    assert window.last(3) == [
        Tick(998, 9_980, True),
        Tick(999, 9_990, False),
        Tick(1000, 10_000, True),
    ]
    assert [t.tick_id for t in window.from_id(990, 5)] == [990, 991, 992, 993, 994]
    assert window.from_id(1, 2) == window.items()[:2]  # gone: the oldest kept come back
    assert window.from_ts(9_955, 2) == [Tick(996, 9_960, True), Tick(997, 9_970, False)]
    with pytest.raises(ValueError, match="does not follow"):
        window.append(1002, Tick(1002, 10_020, True))


def test_a_quiet_symbols_tape_keeps_minutes_not_a_day_of_trades() -> None:
    # A trade every 5 s for a simulated day (17,280 trades, under the 20,000 capacity): the
    # tape keeps the last 10 minutes of them (and an eighth more between trims), and a
    # backfill by id or time within them still answers.
    keep_ms = 10 * 60_000
    tape = TradeTape(first_trade_id=1, first_agg_id=1, capacity=20_000, keep_ms=keep_ms)
    longest = 0
    for i in range(17_280):
        tape.record([Fill(100 + i % 3, 1, 0)], taker_buys=i % 2 == 0, ts_ms=i * 5_000)
        longest = max(longest, len(tape.trades), len(tape.aggs))
    assert 120 <= len(tape.trades) <= longest <= 120 + 15 + 1
    oldest = tape.trades.items()[0]
    assert oldest.ts_ms >= 17_279 * 5_000 - keep_ms - keep_ms // 8
    assert tape.trades.from_id(17_200, 2)[0].trade_id == 17_200
    assert [a.agg_id for a in tape.aggs_between(17_270 * 5_000, 17_271 * 5_000, 10)] == [
        17_271,
        17_272,
    ]
    assert isinstance(tape.trades.last(1)[0].buyer_maker, bool)
