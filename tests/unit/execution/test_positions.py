"""The position state machine: TP1 -> breakeven -> TP2 -> trailing -> close; stops, time, panic."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from breakout.common.events import (
    ExitTriggered,
    KillSwitchTripped,
    OrderCancelRequested,
    OrderSubmitted,
    PositionClosed,
    PositionOpened,
    PositionReduced,
    StopMoved,
    TrailingActivated,
)
from tests.unit.execution.harness import MINUTE, PRESET, Harness, intent, only, opened_harness

HELD = Decimal("39.96")  # 40 bought, 0.04 paid as the fee in base


def test_entry_becomes_an_ioc_limit_at_the_slippage_limit_and_opens_the_position() -> None:
    h = Harness()
    approved = intent()
    entry = only(h.feed(approved), OrderSubmitted)
    assert (entry.side, entry.order_type, entry.time_in_force) == ("buy", "limit", "IOC")
    assert entry.price == Decimal("100.10")  # 100 + 10 bps, on the tick grid
    assert entry.qty == Decimal("40")
    opened = only(h.fill(entry, "40", "100"), PositionOpened)
    assert opened.qty == HELD and opened.entry_price == Decimal(100)
    assert opened.stop_price == Decimal("98.5") and opened.risk_per_unit == Decimal("1.5")
    assert opened.tp1_price == Decimal("101.5") and opened.tp2_price == Decimal("103.0")
    assert opened.initial_risk_quote == Decimal("59.940")
    assert h.feed(approved) == []  # the same intent again does nothing


def test_full_path_tp1_breakeven_tp2_trailing_close_and_pnl() -> None:
    h, _ = opened_harness()
    h.atr(1.0)
    assert h.price(101.4) == []
    tp1 = h.price(101.5)
    assert only(tp1, ExitTriggered).reason == "tp1"
    sell1 = only(tp1, OrderSubmitted)
    assert (sell1.side, sell1.order_type, sell1.qty) == ("sell", "market", Decimal("13.98600"))
    assert h.price(98.0) == []  # an exit in flight: no other rule fires
    after_tp1 = h.fill(sell1, "13.986", "101.5")
    reduced = only(after_tp1, PositionReduced)
    assert reduced.reason == "tp1" and reduced.remaining_qty == HELD - Decimal("13.986")
    moved = only(after_tp1, StopMoved)
    assert moved.reason == "breakeven" and moved.new_stop == Decimal("100.10")  # entry + 10 bps
    assert h.price(102.0) == []  # chandelier 102 - 2.6 = 99.4: below breakeven, no move
    sell2 = only(h.price(103.0), OrderSubmitted)
    assert sell2.qty == Decimal("11.98800")
    assert only(h.fill(sell2, "11.988", "103"), PositionReduced).reason == "tp2"
    trail = h.price(106.0)
    assert only(trail, TrailingActivated).stop_price == Decimal("103.40")
    assert only(trail, StopMoved).new_stop == Decimal("103.40")
    assert h.price(106.05) == []  # under a tenth of R: the stop stays
    moved_again = only(h.price(107.0), StopMoved)
    assert moved_again.new_stop == Decimal("104.40")
    exit_all = h.price(104.3)
    assert only(exit_all, ExitTriggered).reason == "trail"
    sell3 = only(exit_all, OrderSubmitted)
    assert sell3.qty == Decimal("13.98600")
    closed = only(h.fill(sell3, "13.986", "104.3"), PositionClosed)
    proceeds = (
        Decimal("13.986") * Decimal("101.5")
        + Decimal("11.988") * 103
        + Decimal("13.986") * Decimal("104.3")
    )
    expected = proceeds * Decimal("0.999") - 4000
    assert closed.reason == "trail"
    assert closed.realized_quote == expected
    assert closed.realized_r == expected / Decimal("59.940")
    assert closed.residual_qty == 0


def test_stop_before_tp1_loses_about_one_r() -> None:
    h, _ = opened_harness()
    assert h.price(98.51) == []
    hit = h.price(98.5)
    assert only(hit, ExitTriggered).reason == "stop"
    closed = only(h.fill(only(hit, OrderSubmitted), "39.96", "98.5"), PositionClosed)
    assert closed.reason == "stop"
    assert Decimal("-1.2") < closed.realized_r < Decimal("-1")  # 1 R plus 0.2 % of fees


def test_breakeven_exit_after_tp1() -> None:
    h, _ = opened_harness()
    h.fill(only(h.price(101.6), OrderSubmitted), "13.986", "101.6")
    hit = h.price(100.1)
    assert only(hit, ExitTriggered).reason == "breakeven"
    closed = only(h.fill(only(hit, OrderSubmitted), "25.974", "100.1"), PositionClosed)
    assert closed.reason == "breakeven" and closed.realized_quote > 0


def test_time_stop() -> None:
    h, _ = opened_harness()
    assert h.price(100.5, after_ms=PRESET.position_config.time_decay_minutes * MINUTE - 1_000) == []
    decay = h.price(100.5)  # past time decay, before time stop: half of the position
    assert only(decay, ExitTriggered).reason == "time_decay"
    assert only(decay, OrderSubmitted).qty == Decimal("19.98000")
    h.fill(only(decay, OrderSubmitted), "19.98", "100.5")
    remaining = PRESET.position_config.time_stop_minutes - PRESET.position_config.time_decay_minutes
    assert h.price(100.5, after_ms=remaining * MINUTE - 1_000) == []
    stop = h.price(100.5)
    assert only(stop, ExitTriggered).reason == "time_stop"
    closed = only(h.fill(only(stop, OrderSubmitted), "19.98", "100.5"), PositionClosed)
    assert closed.reason == "time_stop"


def test_panic_exit_on_activity_drop() -> None:
    h, _ = opened_harness()
    h.price(100.5)
    panic = h.drop()
    assert only(panic, ExitTriggered).reason == "panic"
    assert (
        only(h.fill(only(panic, OrderSubmitted), "39.96", "100.4"), PositionClosed).reason
        == "panic"
    )


def test_panic_exit_can_be_switched_off() -> None:
    cfg = msgspec.structs.replace(PRESET.position_config, panic_exit_on_activity_drop=False)
    h, _ = opened_harness(msgspec.structs.replace(PRESET, position_config=cfg))
    assert h.drop() == []


def test_a_partly_filled_exit_sells_the_rest_and_a_rejected_exit_retries_later() -> None:
    h, _ = opened_harness()
    first = only(h.price(98.0), OrderSubmitted)
    second = only(
        h.fill(first, "30", "98", final=False)
        + h.done(first, Decimal(30), Decimal(98), filled=False),
        OrderSubmitted,
    )
    assert second.qty == Decimal("9.96000") and second.order_id != first.order_id
    assert h.reject(second) == []
    assert h.price(97.9, after_ms=1_000) == []  # backing off after a rejection
    third = only(h.price(97.9, after_ms=5_000), OrderSubmitted)
    closed = only(h.fill(third, "9.96", "97.9"), PositionClosed)
    assert closed.reason == "stop" and closed.residual_qty == 0


def test_an_entry_that_fills_nothing_closes_unfilled() -> None:
    h = Harness()
    entry = only(h.feed(intent()), OrderSubmitted)
    closed = only(h.done(entry, Decimal(0), Decimal(0), filled=False), PositionClosed)
    assert closed.reason == "entry_unfilled" and closed.realized_quote == 0


def test_tp1_too_small_to_sell_still_moves_the_stop() -> None:
    # 0.06 units: 35 % is 0.021 at 101.5 = 2.1 USDT, under the 5 USDT minimum notional.
    h, _ = opened_harness()
    h.core.positions[next(iter(h.core.positions))].qty = Decimal("0.06")
    out = h.price(101.5)
    assert not any(isinstance(e, OrderSubmitted) for e in out)
    assert only(out, StopMoved).reason == "breakeven"


def test_stop_limit_entry_is_cancelled_by_anti_squeeze_and_limit_entry_by_timeout() -> None:
    h = Harness()
    order = only(h.feed(intent(entry_order="stop_limit")), OrderSubmitted)
    assert order.order_type == "stop_limit" and order.stop_price == Decimal("100.00")
    assert order.price == Decimal("100.05")  # 5 bps above the trigger
    assert h.price(100.2) == []  # within 15 bps of the limit
    cancel = only(h.price(100.3), OrderCancelRequested)
    assert "anti-squeeze" in cancel.reason
    h2 = Harness()
    limit = only(
        h2.feed(intent(entry_order="limit", limit_price=99.9, signal_id="s2")), OrderSubmitted
    )
    assert limit.order_type == "limit" and limit.price == Decimal("99.90")
    timeout_ms = PRESET.execution_config.order_timeout_s * 1000
    assert h2.price(100.0, after_ms=timeout_ms - 1) == []
    assert "timeout" in only(h2.price(100.0, after_ms=1), OrderCancelRequested).reason


def test_kill_flatten_cancels_entries_and_closes_positions_and_entries_level_blocks_new_ones() -> (
    None
):
    h, _ = opened_harness()
    pending = only(
        h.feed(intent(signal_id="second", entry_order="limit", limit_price=99.0)), OrderSubmitted
    )
    out = h.feed(KillSwitchTripped(level="flatten", trigger="operator", reason="t", ts_ms=h.ts))
    assert only(out, OrderCancelRequested).order_id == pending.order_id
    assert only(out, ExitTriggered).reason == "flatten"
    h2 = Harness()
    h2.feed(KillSwitchTripped(level="entries", trigger="operator", reason="t", ts_ms=h2.ts))
    assert only(h2.feed(intent()), PositionClosed).reason == "entry_unfilled"


def test_prints_from_before_the_last_fill_do_not_trigger_the_new_stop() -> None:
    # Our own TP1 sale prints below breakeven; those prints can reach us after the fill.
    h, _ = opened_harness()
    sell = only(h.price(101.5), OrderSubmitted)
    h.fill(sell, "13.986", "101.5")
    assert h.price(100.0, after_ms=0) == []  # printed at the fill's millisecond: too old
    assert only(h.price(100.0, after_ms=1), ExitTriggered).reason == "breakeven"


def test_an_entry_cancelled_by_flatten_with_a_partial_fill_is_closed_at_once() -> None:
    h = Harness()
    entry = only(h.feed(intent(entry_order="limit", limit_price=99.9)), OrderSubmitted)
    h.fill(entry, "10", "99.9", final=False)
    only(
        h.feed(KillSwitchTripped(level="flatten", trigger="operator", reason="t", ts_ms=h.ts)),
        OrderCancelRequested,
    )
    out = h.done(entry, Decimal(10), Decimal("99.9"), filled=False)
    assert only(out, PositionOpened).qty == Decimal("9.99")
    assert only(out, ExitTriggered).reason == "flatten"
