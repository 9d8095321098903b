"""The single add-on (pure): buy more on a pullback to the 9-EMA, never adding risk.

Only with `add_on_enabled`, once per position, after TP1 (the stop is at breakeven or above, so
the position risks little or nothing), when a print comes back to within 5 bps of the 9-EMA
(5-minute `ema_fast`) above the stop, the 5-minute OBV is rising (the candle's OBV above the
previous one's), and the market is liquid (USD within 0.5 % on the ask at least the preset's
`min_depth_usd_0_5pct`). Size: at most `add_on_max_frac` of the entry, and no more than keeps the
position's risk to its stop within the initial R: `(initial R - current risk) / (price - stop)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from breakout.common.events import OrderSubmitted
from breakout.common.presets import Preset
from breakout.common.runtime.core import Emit
from breakout.execution.ids import client_order_id
from breakout.execution.position import ZERO, Position, dec, floor_step

NEAR_EMA = Decimal("0.0005")


@dataclass
class Trend:
    """What the add-on needs of a symbol's 5-minute indicators."""

    ema_fast: float | None = None
    obv: float | None = None
    obv_rising: bool = False

    def update(self, ema_fast: float | None, obv: float) -> None:
        """Fold one closed 5-minute candle's indicators."""
        self.obv_rising = self.obv is not None and obv > self.obv
        self.obv, self.ema_fast = obv, ema_fast


def maybe_add(  # noqa: PLR0917 - the position and the market it meets
    position: Position,
    preset: Preset,
    price: Decimal,
    trend: Trend | None,
    depth_usd: float | None,
    ts_ms: int,
) -> list[Emit]:
    """The add-on order when every condition holds (see the module docstring), else nothing."""
    cfg = preset.position_config
    if not cfg.add_on_enabled or position.add_on_done or not position.tp1_done:
        return []
    if trend is None or trend.ema_fast is None or not trend.obv_rising:
        return []
    if depth_usd is None or depth_usd < preset.liquidity_filters.min_depth_usd_0_5pct:
        return []
    ema = dec(trend.ema_fast)
    if not (position.stop < price <= ema * (1 + NEAR_EMA)):
        return []
    current_risk = max(ZERO, (position.entry_price - position.stop) * position.qty)
    room = position.initial_risk_quote - current_risk
    if room <= 0:
        return []
    entry_qty = position.entry.base_qty - position.entry.base_fee
    qty = min(entry_qty * dec(cfg.add_on_max_frac), room / (price - position.stop))
    qty = floor_step(qty, position.rules.step_size)
    if qty < position.rules.min_qty or qty * price < position.rules.min_notional:
        return []
    position.add_on_done = True  # one add-on per position, even if this order fills nothing
    position.exit_seq += 1
    order_id = client_order_id(position.position_id, "add_on", position.exit_seq)
    position.exit_order_id, position.exit_purpose = order_id, "add_on"
    position.exit_fills = type(position.exit_fills)()
    intent = position.intent
    order = OrderSubmitted(
        order_id=order_id,
        exchange=intent.exchange,
        symbol=intent.symbol,
        intent_id=intent.intent_id,
        position_id=intent.intent_id,
        purpose="add_on",
        side="buy",
        order_type="market",
        qty=qty,
        reason=f"add-on: {price} within 5 bps of EMA9 {ema}, OBV rising, room {room:.4f} quote",
        ts_ms=ts_ms,
    )
    return [Emit(stream=f"order-{order_id}", event=order)]
