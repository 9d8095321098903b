"""TWAP entries: slices over time, sized to the book, stopped by a slow venue or the kill switch."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from breakout.common.events import (
    EntrySliced,
    KillSwitchTripped,
    OrderAcknowledged,
    OrderSubmitted,
    PositionOpened,
)
from breakout.common.presets import Preset
from tests.support.trading import book
from tests.unit.execution.harness import PRESET, Harness, intent, only

INTERVAL_MS = PRESET.execution_config.twap_interval_s * 1000


def twap_preset() -> Preset:
    """Slicing from 1 000 USD: the 4 000 USD test entry goes out in 5 slices of 8."""
    cfg = msgspec.structs.replace(PRESET.execution_config, twap_min_notional_usd=1_000.0)
    return msgspec.structs.replace(PRESET, execution_config=cfg)


def started() -> tuple[Harness, OrderSubmitted]:
    h = Harness(twap_preset())
    out = h.feed(intent(twap_preset()))
    assert only(out, EntrySliced).slice_index == 1
    return h, only(out, OrderSubmitted)


def test_slices_go_out_one_interval_apart_and_the_position_opens_from_all_of_them() -> None:
    h, first = started()
    assert first.qty == Decimal(8) and first.time_in_force == "IOC"
    assert h.fill(first, "8", "100") == []  # more slices to come: not open yet
    assert h.price(100.0, after_ms=INTERVAL_MS - 1) == []
    orders: list[OrderSubmitted] = []
    for n in range(2, 6):
        out = h.price(100.0, after_ms=INTERVAL_MS if n > 2 else 1)
        order = only(out, OrderSubmitted)
        assert only(out, EntrySliced).slice_index == n and order.qty == Decimal(8)
        assert order.order_id not in {first.order_id, *(o.order_id for o in orders)}
        orders.append(order)
        if n < 5:
            assert h.fill(order, "8", "100") == []
    opened = only(h.fill(orders[-1], "8", "100"), PositionOpened)
    assert opened.qty == Decimal(40) - Decimal("0.040")  # 40 bought, the fee paid in base


def test_slices_shrink_to_the_depth_the_book_offers() -> None:
    h, first = started()
    h.fill(first, "8", "100")
    h.feed(book(ask_usd_0_5pct=3_000.0))  # 10 % of 3 000 USD = 3 units at 100
    thin = only(h.price(100.0, after_ms=INTERVAL_MS), OrderSubmitted)
    assert thin.qty == Decimal(3)


def test_a_slow_acknowledgement_stops_the_slicing_and_opens_what_filled() -> None:
    h, first = started()
    slow = OrderAcknowledged(
        order_id=first.order_id,
        exchange="binance",
        symbol="BTCUSDT",
        exchange_order_id="1",
        status="open",
        latency_ms=PRESET.risk.kill_switch.max_latency_ms + 1.0,
        ts_ms=h.ts,
    )
    assert "over" in only(h.feed(slow), EntrySliced).stopped
    opened = only(h.fill(first, "8", "100"), PositionOpened)
    assert opened.qty == Decimal(8) - Decimal("0.008")


def test_the_kill_switch_stops_the_slicing() -> None:
    h, first = started()
    h.feed(KillSwitchTripped(level="entries", trigger="operator", reason="t", ts_ms=h.ts))
    out = h.fill(first, "8", "100")
    assert only(out, PositionOpened).qty == Decimal(8) - Decimal("0.008")
    later = h.price(100.0, after_ms=INTERVAL_MS)
    assert not any(isinstance(e, OrderSubmitted) and e.side == "buy" for e in later)
