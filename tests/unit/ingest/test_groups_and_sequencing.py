"""Symbol-group ownership and trade-id continuity."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from breakout.common.events import MarketTrade
from breakout.common.groups import GroupConfigError, owned, owner_of, parse_groups
from breakout.ingest.sequencing import TradeHole, TradeSequencer


def test_listed_symbols_belong_to_their_group() -> None:
    groups = parse_groups("majors=BTCUSDT,ETHUSDT; alts=solusdt")
    assert groups == {"majors": ("BTCUSDT", "ETHUSDT"), "alts": ("SOLUSDT",)}
    assert owner_of("SOLUSDT", groups) == "alts"
    assert owned(["BTCUSDT", "SOLUSDT", "ETHUSDT"], "majors", groups) == ["BTCUSDT", "ETHUSDT"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("a=BTCUSDT;b=BTCUSDT", "listed by groups 'a' and 'b'"),
        ("a=BTCUSDT;a=ETHUSDT", "defined twice"),
        ("BTCUSDT", "must look like"),
        ("", "no symbol group"),
        ("unlisted=BTCUSDT", "names the symbols no group lists"),
    ],
)
def test_bad_group_tables_are_refused(spec: str, message: str) -> None:
    with pytest.raises(GroupConfigError, match=message):
        parse_groups(spec)


@given(st.lists(st.from_regex(r"[A-Z]{3,6}USDT", fullmatch=True), min_size=1, max_size=40))
def test_every_unlisted_symbol_has_exactly_one_owner_and_keeps_it(symbols: list[str]) -> None:
    groups = parse_groups("g1=;g2=;g3=")
    for symbol in symbols:
        owners = [g for g in groups if symbol in owned([symbol], g, groups)]
        assert owners == [owner_of(symbol, groups)]
    # Adding a group moves a symbol only to the new group, never between old ones.
    bigger = {**groups, "g4": ()}
    for symbol in symbols:
        assert owner_of(symbol, bigger) in (owner_of(symbol, groups), "g4")


def _trade(trade_id: int) -> MarketTrade:
    return MarketTrade(
        exchange="sim",
        symbol="BTCUSDT",
        trade_id=trade_id,
        price=100.0,
        qty=1.0,
        side="buy",
        exchange_ts_ms=trade_id,
        received_ts_ms=trade_id,
    )


def test_repeats_are_dropped_and_order_restored() -> None:
    seq = TradeSequencer(last_id=10)
    accepted = seq.accept([_trade(i) for i in (12, 9, 11, 10, 12)])
    assert [t.trade_id for t in accepted.trades] == [11, 12]
    assert accepted.hole is None
    assert seq.last_id == 12


def test_a_hole_before_the_batch_is_reported_and_nothing_recorded() -> None:
    seq = TradeSequencer(last_id=10)
    batch = [_trade(i) for i in (15, 16)]
    accepted = seq.accept(batch)
    assert accepted.trades == []
    assert accepted.hole == TradeHole(11, 14)
    assert accepted.hole.size == 4
    # The shell fills the hole, then re-offers the batch.
    assert [t.trade_id for t in seq.accept([_trade(i) for i in range(11, 15)]).trades] == [
        11,
        12,
        13,
        14,
    ]
    assert [t.trade_id for t in seq.accept(seq.pending_after(batch)).trades] == [15, 16]


def test_a_hole_inside_a_batch_cuts_it() -> None:
    seq = TradeSequencer(last_id=None)
    accepted = seq.accept([_trade(i) for i in (1, 2, 5, 6)])
    assert [t.trade_id for t in accepted.trades] == [1, 2]
    assert seq.accept([_trade(5), _trade(6)]).hole == TradeHole(3, 4)


@given(st.lists(st.integers(min_value=1, max_value=60), max_size=80))
def test_recorded_ids_are_strictly_consecutive(ids: list[int]) -> None:
    seq = TradeSequencer(last_id=0)
    recorded: list[int] = []
    for start in range(0, len(ids), 7):
        accepted = seq.accept([_trade(i) for i in ids[start : start + 7]])
        if accepted.hole is not None:  # fill it as the REST backfill would
            fill = range(accepted.hole.first_id, accepted.hole.last_id + 1)
            recorded += [t.trade_id for t in seq.accept([_trade(i) for i in fill]).trades]
            accepted = seq.accept([_trade(i) for i in ids[start : start + 7]])
        recorded += [t.trade_id for t in accepted.trades]
    assert recorded == list(range(1, len(recorded) + 1))
