"""Snapshots: a core restored mid-position decides exactly as the one that never stopped."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from breakout.common.events import (
    Event,
    MarketTrade,
    OrderFilled,
    OrderFillReceived,
    OrderSubmitted,
    PositionClosed,
    RecordedEvent,
)
from breakout.common.presets import load_preset
from breakout.execution.core import ExecutionCore, SnapshotMismatch
from breakout.risk.core import RiskCore
from tests.support.trading import T0_MS, balance, book, recorded, regime, rules, signal
from tests.unit.execution.harness import PRESET, Harness, only, opened_harness


def trade(price: float, ts_ms: int) -> MarketTrade:
    return MarketTrade(
        exchange="binance",
        symbol="BTCUSDT",
        trade_id=ts_ms,
        price=price,
        qty=1.0,
        side="buy",
        exchange_ts_ms=ts_ms,
        received_ts_ms=ts_ms,
    )


def encoded(events: list[Event]) -> list[bytes]:
    return [msgspec.json.encode(e) for e in events]


def test_execution_core_restored_mid_position_continues_identically() -> None:
    h, _ = opened_harness()
    h.atr(1.0)
    sell = only(h.price(101.5), OrderSubmitted)
    h.fill(sell, "13.986", "101.5")  # TP1 done, stop at breakeven
    twin = ExecutionCore([PRESET])
    twin.restore(h.core.snapshot())

    def both(event: Event, ts_ms: int) -> list[Event]:
        record: RecordedEvent = recorded(event, ts_ms)
        original = [e.event for e in h.core.handle(record)]
        assert encoded([e.event for e in twin.handle(record)]) == encoded(original)
        return original

    ts = h.ts
    tp2 = only(both(trade(103.0, ts + 1000), ts + 1000), OrderSubmitted)
    for fill in fills_for(tp2, "11.988", "103", ts + 1100):
        both(fill, ts + 1100)
    assert both(trade(106.0, ts + 2000), ts + 2000)  # the trail starts
    exit_order = only(both(trade(103.3, ts + 3000), ts + 3000), OrderSubmitted)
    closing = [
        e for f in fills_for(exit_order, "13.986", "103.3", ts + 3100) for e in both(f, ts + 3100)
    ]
    assert only(closing, PositionClosed).reason == "trail"
    assert twin.snapshot() == h.core.snapshot()


def fills_for(order: OrderSubmitted, qty: str, price: str, ts_ms: int) -> list[Event]:
    q, p = Decimal(qty), Decimal(price)
    fee, asset = (q / 1000, "BTC") if order.side == "buy" else (q * p / 1000, "USDT")
    oid = order.order_id
    return [
        OrderFillReceived(
            order_id=oid,
            exchange="binance",
            symbol="BTCUSDT",
            trade_id=f"t{ts_ms}",
            side=order.side,
            qty=q,
            price=p,
            quote_qty=q * p,
            fee=fee,
            fee_asset=asset,
            cum_qty=q,
            ts_ms=ts_ms,
        ),
        OrderFilled(
            order_id=oid,
            exchange="binance",
            symbol="BTCUSDT",
            filled_qty=q,
            avg_price=p,
            ts_ms=ts_ms,
        ),
    ]


def test_a_snapshot_in_another_format_is_refused() -> None:
    core = ExecutionCore([PRESET])
    with pytest.raises(SnapshotMismatch):
        core.restore(b"not msgpack")
    with pytest.raises(SnapshotMismatch):
        core.restore(Harness().core.snapshot().replace(b"version", b"versiom"))


def test_risk_core_restored_keeps_limits_kill_state_and_decided_signals() -> None:
    preset = load_preset("breakout_v1")
    core = RiskCore([preset])
    for event in (balance(), rules(), book(), regime()):
        core.handle(recorded(event))
    first = core.handle(recorded(signal(signal_id="a")))
    twin = RiskCore([preset])
    twin.restore(core.snapshot())
    assert twin.handle(recorded(signal(signal_id="a"))) == []  # decided already
    later = recorded(signal(signal_id="b", ts_ms=T0_MS + 1))
    assert encoded([e.event for e in twin.handle(later)]) == encoded(
        [e.event for e in core.handle(later)]
    )
    assert first and twin.snapshot() == core.snapshot()
