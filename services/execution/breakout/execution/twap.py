"""TWAP entries (pure): a large entry placed as slices over time, each sized to the book.

An entry whose notional reaches `twap_min_notional_usd` (market entries only) is split into
`twap_slices` slices placed `twap_interval_s` apart (time from the prints). Each slice is an
IOC limit at the intent's slippage limit, sized `min(planned slice, what is left,
max_depth_participation x USD within 0.5 % on the ask / price)` and rounded down to the step, so
a thin book makes slices smaller rather than pushing the price. Slicing stops early when a
slice's acknowledgement was slower than the kill switch's `max_latency_ms` (latency monitored),
when a kill switch trips, or when the intent expires; the position opens from what filled.
"""

from __future__ import annotations

from decimal import Decimal

from breakout.common.events import EntrySliced, OrderIntentApproved, OrderSubmitted, position_stream
from breakout.common.presets import Preset
from breakout.common.runtime.core import Emit
from breakout.execution.ids import client_order_id
from breakout.execution.position import ZERO, Position, TwapPlan, ceil_step, dec, floor_step


def plan_for(intent: OrderIntentApproved, preset: Preset, step: Decimal) -> TwapPlan | None:
    """A TWAP plan when the entry is a large market entry, else None."""
    cfg = preset.execution_config
    notional = float(intent.qty) * intent.entry_price
    if intent.entry_order != "market" or notional < cfg.twap_min_notional_usd:
        return None
    slice_qty = floor_step(intent.qty / cfg.twap_slices, step)
    if slice_qty <= 0:
        return None
    return TwapPlan(
        total_qty=intent.qty,
        slice_qty=slice_qty,
        slices=cfg.twap_slices,
        interval_ms=cfg.twap_interval_s * 1000,
        next_ms=intent.ts_ms,
    )


def next_slice(  # noqa: PLR0917 - the slice and the market it meets
    position: Position,
    plan: TwapPlan,
    preset: Preset,
    depth_usd: float | None,
    price: Decimal,
    ts_ms: int,
) -> list[Emit]:
    """Place the next slice if it is due and the book allows one (else nothing yet)."""
    if plan.done() or ts_ms < plan.next_ms or position.entry_in_flight:
        return []
    if ts_ms > position.intent.expires_ts_ms:
        return stop(position, plan, "intent expired", ts_ms)
    rules = position.rules
    qty = min(plan.slice_qty, plan.total_qty - plan.placed_qty)
    if plan.placed == plan.slices - 1:
        qty = plan.total_qty - plan.placed_qty  # the last slice takes what is left
    if depth_usd is not None and price > 0:
        by_depth = dec(depth_usd) * dec(preset.risk.max_depth_participation) / price
        qty = min(qty, by_depth)
    qty = floor_step(qty, rules.step_size)
    if qty < rules.min_qty or qty * price < rules.min_notional:
        return []  # the book is too thin right now: try again on a later print
    plan.placed += 1
    plan.placed_qty += qty
    plan.next_ms = ts_ms + plan.interval_ms
    intent = position.intent
    order = OrderSubmitted(
        order_id=client_order_id(intent.intent_id, "entry", plan.placed),
        exchange=intent.exchange,
        symbol=intent.symbol,
        intent_id=intent.intent_id,
        position_id=intent.intent_id,
        purpose="entry",
        side="buy",
        order_type="limit",
        time_in_force="IOC",
        qty=qty,
        price=ceil_step(dec(intent.slippage_limit_price), rules.tick_size),
        reason=f"TWAP slice {plan.placed}/{plan.slices}",
        ts_ms=ts_ms,
    )
    position.entry_order_id = order.order_id
    position.entry_in_flight = True
    sliced = _event(position, plan, qty, "", ts_ms)
    return [
        Emit(stream=position_stream(intent.intent_id), event=sliced),
        Emit(stream=f"order-{order.order_id}", event=order),
    ]


def stop(position: Position, plan: TwapPlan, reason: str, ts_ms: int) -> list[Emit]:
    """Stop slicing (the position opens from what filled), recording why."""
    if plan.stopped:
        return []
    plan.stopped = reason
    return [
        Emit(
            stream=position_stream(position.position_id),
            event=_event(position, plan, ZERO, reason, ts_ms),
        )
    ]


def _event(
    position: Position, plan: TwapPlan, qty: Decimal, stopped: str, ts_ms: int
) -> EntrySliced:
    intent = position.intent
    return EntrySliced(
        position_id=intent.intent_id,
        preset=intent.preset,
        exchange=intent.exchange,
        symbol=intent.symbol,
        slice_index=plan.placed,
        slices=plan.slices,
        qty=qty,
        placed_qty=plan.placed_qty,
        total_qty=plan.total_qty,
        stopped=stopped,
        ts_ms=ts_ms,
    )
