"""How an approved intent becomes its entry order (pure).

- `market`: a LIMIT IOC at the intent's slippage limit price, a market order that cannot fill
  worse than the risk service allowed (the rest of it expires);
- `limit` (retest, pre-level): a LIMIT GTC at the signal's limit price (or its entry price),
  cancelled after `order_timeout_s`;
- `stop_limit` (momentum): a STOP_LOSS_LIMIT buy triggered at the entry price with its limit
  `stop_limit_offset_bps` above, cancelled when price runs `anti_squeeze_bps` past the limit
  unfilled (anti-squeeze) or after `order_timeout_s`.
Prices go on the tick grid away from the market (a buy's limit rounds up); the quantity is
the intent's, already on the step grid.
"""

from __future__ import annotations

from decimal import Decimal

from breakout.common.events import MarketRulesObserved, OrderIntentApproved, OrderSubmitted
from breakout.common.presets import ExecutionConfig
from breakout.execution.ids import client_order_id
from breakout.execution.position import ceil_step, dec, floor_step

BPS = Decimal(10_000)


def entry_order(
    intent: OrderIntentApproved, config: ExecutionConfig, rules: MarketRulesObserved
) -> OrderSubmitted:
    """The entry order for `intent` (see the module docstring for each entry type)."""
    tick = rules.tick_size
    order_id = client_order_id(intent.intent_id, "entry")
    common = dict(
        order_id=order_id,
        exchange=intent.exchange,
        symbol=intent.symbol,
        intent_id=intent.intent_id,
        position_id=intent.intent_id,
        purpose="entry",
        side="buy",
        qty=intent.qty,
        ts_ms=intent.ts_ms,
    )
    if intent.entry_order == "limit":
        price = floor_step(dec(intent.limit_price or intent.entry_price), tick)
        return OrderSubmitted(**common, order_type="limit", price=price, reason="limit entry")  # type: ignore[arg-type]
    if intent.entry_order == "stop_limit":
        stop = ceil_step(dec(intent.entry_price), tick)
        limit = ceil_step(stop * (1 + dec(config.stop_limit_offset_bps) / BPS), tick)
        return OrderSubmitted(
            **common,  # type: ignore[arg-type]
            order_type="stop_limit",
            price=limit,
            stop_price=stop,
            reason="stop-limit breakout entry",
        )
    price = ceil_step(dec(intent.slippage_limit_price), tick)
    return OrderSubmitted(
        **common,  # type: ignore[arg-type]
        order_type="limit",
        time_in_force="IOC",
        price=price,
        reason="market entry bounded by the slippage limit",
    )
