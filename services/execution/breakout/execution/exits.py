"""Position management: what each price, fill and order outcome does to a position (pure).

Rules while open, checked on every trade print of the symbol, first match wins, only when no
exit order is in flight: stop (initial, breakeven or trailing) -> projection target -> time-stop
-> TP1 (sell `tp1_size_frac`, then stop to breakeven + fees) -> TP2 (sell `tp2_size_frac`) ->
time decay (no TP1 after `time_decay_minutes`: sell `time_decay_reduce_frac`) -> after TP1 the
chandelier trail (highest print since entry - `chandelier_atr_mult` x ATR(5m)) raises the stop.
Exits are market orders; what cannot be sold (below the step or the minimums) is left as dust.
"""

from __future__ import annotations

from decimal import Decimal

from breakout.common.events import (
    ExitTriggered,
    OrderCancelRequested,
    OrderIntentApproved,
    OrderSubmitted,
    PositionClosed,
    PositionIncreased,
    PositionOpened,
    PositionReduced,
    StopMoved,
    TrailingActivated,
    order_stream,
    position_stream,
)
from breakout.common.events.pos import ExitReason, StopReason
from breakout.common.presets import Preset
from breakout.common.runtime.core import Emit
from breakout.execution.ids import client_order_id
from breakout.execution.position import ZERO, Position, dec, floor_step

MINUTE_MS = 60_000
REJECT_BACKOFF_MS = 5_000
REDUCE_REASONS = frozenset({"tp1", "tp2", "time_decay"})
BPS = Decimal(10_000)


def _emit(position: Position, event: object) -> Emit:
    return Emit(stream=position_stream(position.position_id), event=event)  # type: ignore[arg-type]


def _ids(position: Position) -> dict[str, str]:
    intent = position.intent
    return {
        "position_id": position.position_id,
        "preset": intent.preset,
        "exchange": intent.exchange,
        "symbol": intent.symbol,
    }


def unfilled_close_for(intent: OrderIntentApproved, reason: str) -> Emit:
    """Close an intent that never became a position (refused, or its entry filled nothing)."""
    closed = PositionClosed(
        position_id=intent.intent_id,
        preset=intent.preset,
        exchange=intent.exchange,
        symbol=intent.symbol,
        reason="entry_unfilled",
        side=intent.side,
        entry_qty=ZERO,
        entry_price=ZERO,
        exit_avg_price=ZERO,
        realized_quote=ZERO,
        realized_r=ZERO,
        fees_quote=ZERO,
        initial_risk_quote=ZERO,
        residual_qty=ZERO,
        opened_ts_ms=intent.ts_ms,
        ts_ms=intent.ts_ms,
    )
    del reason  # the refusal reason is in the logs; the event type says "entry_unfilled"
    return Emit(stream=position_stream(intent.intent_id), event=closed)


# -- entry --------------------------------------------------------------------------------------


def on_entry_done(position: Position, preset: Preset, ts_ms: int) -> list[Emit]:
    """The entry order is over: open the position from its fills, or close it unfilled."""
    if position.entry.base_qty - position.entry.base_fee <= 0:
        position.phase = "closed"
        return [unfilled_close_for(position.intent, "entry filled nothing")]
    cfg = preset.position_config
    position.open_from_entry(dec(cfg.tp1_r), dec(cfg.tp2_r))
    position.opened_ts_ms = position.act_after_ms = ts_ms
    opened = PositionOpened(
        **_ids(position),
        intent_id=position.intent.intent_id,
        side=position.intent.side,
        qty=position.qty,
        entry_price=position.entry_price,
        entry_cost_quote=-position.cash_quote,
        stop_price=position.stop,
        risk_per_unit=position.risk_per_unit,
        initial_risk_quote=position.initial_risk_quote,
        tp1_price=position.tp1,
        tp2_price=position.tp2,
        target_price=position.target,
        ts_ms=ts_ms,
    )
    out = [_emit(position, opened)]
    if position.risk_per_unit <= 0:  # filled at or through the stop: out at once
        out += exit_all(position, "stop", position.stop, ts_ms)
    return out


def check_entry(position: Position, preset: Preset, price: Decimal, ts_ms: int) -> list[Emit]:
    """Cancel a working entry on timeout, or when price ran past its limit (anti-squeeze)."""
    if position.cancel_requested or position.entry_type == "ioc":
        return []
    cfg = preset.execution_config
    reason = ""
    if ts_ms - position.intent.ts_ms >= cfg.order_timeout_s * 1000:
        reason = f"entry timeout after {cfg.order_timeout_s}s"
    elif position.entry_type == "stop_limit" and position.entry_limit is not None:
        squeeze = position.entry_limit * (1 + dec(cfg.anti_squeeze_bps) / BPS)
        if price > squeeze:
            reason = f"anti-squeeze: {price} ran past {squeeze} unfilled"
    if not reason:
        return []
    position.cancel_requested = True
    cancel = OrderCancelRequested(
        order_id=position.entry_order_id,
        exchange=position.intent.exchange,
        symbol=position.symbol,
        reason=reason,
        ts_ms=ts_ms,
    )
    return [Emit(stream=order_stream(position.entry_order_id), event=cancel)]


# -- while open ---------------------------------------------------------------------------------


def on_price(
    position: Position, preset: Preset, price: Decimal, ts_ms: int, atr: float | None
) -> list[Emit]:
    """Apply the exit rules to one trade print (see the module docstring for their order)."""
    if ts_ms <= position.act_after_ms:
        return []
    position.last_price = price
    position.highest = max(position.highest, price)
    if position.exit_order_id is not None or ts_ms < position.retry_after_ms:
        return []
    cfg = preset.position_config
    held_ms = ts_ms - position.opened_ts_ms
    if price <= position.stop:
        reason: ExitReason = (
            "trail" if position.trailing else "breakeven" if position.tp1_done else "stop"
        )
        return exit_all(position, reason, position.stop, ts_ms)
    if position.target is not None and cfg.use_projection_target and price >= position.target:
        return exit_all(position, "target", position.target, ts_ms)
    if held_ms >= cfg.time_stop_minutes * MINUTE_MS:
        return exit_all(position, "time_stop", None, ts_ms)
    entry_qty = position.entry.base_qty - position.entry.base_fee
    if not position.tp1_done and price >= position.tp1:
        return _reduce(
            position, preset, "tp1", entry_qty * dec(cfg.tp1_size_frac), position.tp1, ts_ms
        )
    if position.tp1_done and not position.tp2_done and price >= position.tp2:
        return _reduce(
            position, preset, "tp2", entry_qty * dec(cfg.tp2_size_frac), position.tp2, ts_ms
        )
    if (
        not position.tp1_done
        and not position.decayed
        and held_ms >= cfg.time_decay_minutes * MINUTE_MS
    ):
        qty = position.qty * dec(cfg.time_decay_reduce_frac)
        return _reduce(position, preset, "time_decay", qty, None, ts_ms)
    if position.tp1_done and atr:
        return _trail(position, preset, atr, ts_ms)
    return []


def _trail(position: Position, preset: Preset, atr: float, ts_ms: int) -> list[Emit]:
    mult = preset.position_config.chandelier_atr_mult
    chandelier = floor_step(position.highest - dec(mult) * dec(atr), position.rules.tick_size)
    # Move only by a meaningful step (a tenth of R), not on every tick of a rising market.
    if chandelier <= position.stop + position.risk_per_unit / 10:
        return []
    out: list[Emit] = []
    if not position.trailing:
        position.trailing = True
        activated = TrailingActivated(
            **_ids(position),
            highest_price=position.highest,
            atr=atr,
            atr_mult=mult,
            stop_price=chandelier,
            ts_ms=ts_ms,
        )
        out.append(_emit(position, activated))
    out.append(_move_stop(position, chandelier, "chandelier", atr, ts_ms))
    return out


def _move_stop(
    position: Position, new_stop: Decimal, reason: StopReason, atr: float | None, ts_ms: int
) -> Emit:
    moved = StopMoved(
        **_ids(position),
        reason=reason,
        old_stop=position.stop,
        new_stop=new_stop,
        reference_price=position.highest,
        atr=atr,
        ts_ms=ts_ms,
    )
    position.stop = new_stop
    return _emit(position, moved)


def _reduce(  # noqa: PLR0917 - a reduction and its reasons
    position: Position,
    preset: Preset,
    reason: ExitReason,
    qty: Decimal,
    threshold: Decimal | None,
    ts_ms: int,
) -> list[Emit]:
    sellable = position.sellable(qty, position.last_price)
    if sellable <= 0 or sellable >= position.sellable(position.qty, position.last_price):
        # Too small to sell on its own (or it would be everything): the step counts as done.
        return _after_reduce(position, preset, reason, ts_ms)
    return _submit_exit(position, reason, sellable, threshold, ts_ms)


def _after_reduce(position: Position, preset: Preset, reason: str, ts_ms: int) -> list[Emit]:
    if reason == "tp1":
        position.tp1_done = True
        buffer = dec(preset.position_config.breakeven_fee_buffer_bps)
        breakeven = position.breakeven_stop(buffer)
        if breakeven > position.stop:
            return [_move_stop(position, breakeven, "breakeven", None, ts_ms)]
    elif reason == "tp2":
        position.tp2_done = True
    elif reason == "time_decay":
        position.decayed = True
    return []


def exit_all(
    position: Position,
    reason: ExitReason,
    threshold: Decimal | None,
    ts_ms: int,
    *,
    force: bool = False,
) -> list[Emit]:
    """Sell everything sellable at market, or close now if nothing is."""
    if position.exit_order_id is not None and not force:
        return []
    qty = position.sellable(position.qty, position.last_price)
    if qty <= 0:
        return [close(position, reason, ts_ms)]
    return _submit_exit(position, reason, qty, threshold, ts_ms)


def _submit_exit(
    position: Position, reason: ExitReason, qty: Decimal, threshold: Decimal | None, ts_ms: int
) -> list[Emit]:
    position.exit_seq += 1
    order_id = client_order_id(position.position_id, "exit", position.exit_seq)
    position.exit_order_id = order_id
    position.exit_purpose = reason
    position.exit_fills = type(position.exit_fills)()
    purpose = (
        reason
        if reason in ("tp1", "tp2", "time_stop", "time_decay", "panic", "flatten")
        else (
            "trail" if reason == "trail" else "stop" if reason in ("stop", "breakeven") else "close"
        )
    )
    order = OrderSubmitted(
        order_id=order_id,
        exchange=position.intent.exchange,
        symbol=position.symbol,
        intent_id=position.intent.intent_id,
        position_id=position.position_id,
        purpose=purpose,
        side="sell",
        order_type="market",
        qty=qty,
        reason=reason,
        ts_ms=ts_ms,
    )
    triggered = ExitTriggered(
        **_ids(position),
        reason=reason,
        price=position.last_price,
        threshold=threshold,
        qty=qty,
        order_id=order_id,
        ts_ms=ts_ms,
    )
    return [_emit(position, triggered), Emit(stream=order_stream(order_id), event=order)]


def on_exit_done(position: Position, preset: Preset, ts_ms: int, *, rejected: bool) -> list[Emit]:
    """An exit order is over: book the reduction, or finish the exit, or close."""
    if position.exit_purpose == "add_on":
        position.exit_order_id = None
        return _after_add_on(position, ts_ms)
    reason: ExitReason = position.exit_purpose  # type: ignore[assignment]
    fills = position.exit_fills
    position.exit_order_id = None
    position.act_after_ms = max(position.act_after_ms, ts_ms)
    if rejected or fills.base_qty == 0:
        # Nothing sold: try again on a later print (after a pause, not on every tick).
        position.retry_after_ms = ts_ms + REJECT_BACKOFF_MS
        return []
    out: list[Emit] = []
    if reason in REDUCE_REASONS:
        realized = fills.quote_qty - fills.quote_fee - fills.base_qty * position.entry_price
        reduced = PositionReduced(
            **_ids(position),
            reason=reason,
            qty=fills.base_qty,
            avg_price=fills.avg_price(),
            realized_quote=realized,
            realized_r=position.r_of(realized),
            remaining_qty=position.qty,
            ts_ms=ts_ms,
        )
        out.append(_emit(position, reduced))
        out += _after_reduce(position, preset, reason, ts_ms)
        if position.sellable(position.qty, position.last_price) <= 0:
            out.append(close(position, reason, ts_ms))
        return out
    if position.sellable(position.qty, position.last_price) > 0:
        return exit_all(position, reason, None, ts_ms)  # a partial exit: sell the rest
    return [close(position, reason, ts_ms)]


def _after_add_on(position: Position, ts_ms: int) -> list[Emit]:
    fills = position.exit_fills
    if fills.base_qty == 0:
        return []  # nothing bought: the one add-on is spent all the same
    increased = PositionIncreased(
        **_ids(position),
        qty=fills.base_qty,
        avg_price=fills.avg_price(),
        new_qty=position.qty,
        new_entry_price=position.entry_price,
        stop_price=position.stop,
        risk_quote=max(ZERO, (position.entry_price - position.stop) * position.qty),
        initial_risk_quote=position.initial_risk_quote,
        ts_ms=ts_ms,
    )
    return [_emit(position, increased)]


def close(position: Position, reason: ExitReason, ts_ms: int) -> Emit:
    """The position is flat: its P&L is the quote balance's change, in quote and in R."""
    position.phase = "closed"
    exit_avg = position.exit_proceeds / position.exit_qty if position.exit_qty else ZERO
    closed = PositionClosed(
        **_ids(position),
        reason=reason,
        side=position.intent.side,
        entry_qty=position.entry.base_qty - position.entry.base_fee,
        entry_price=position.entry_price,
        exit_avg_price=exit_avg,
        realized_quote=position.cash_quote,
        realized_r=position.r_of(position.cash_quote),
        fees_quote=position.fees_quote,
        initial_risk_quote=position.initial_risk_quote,
        residual_qty=position.qty,
        opened_ts_ms=position.opened_ts_ms,
        ts_ms=ts_ms,
    )
    return _emit(position, closed)
