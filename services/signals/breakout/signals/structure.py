"""Structure entries (the macro-aware design): a BOS, a CHOCH or a liquidity sweep on the levels
timeframe, confirmed by the bar's order flow, scored into a confidence.

    confidence = base (sweep 0.45, CHOCH 0.40, BOS 0.35)
               + 0.30 × min(1, flow on the side / (2 × structure_flow_min))
               + 0.15 when the regime is known and permits the side
               + 0.10 when the order flow agrees (absorption by our side, or a divergence for us)

A long takes an upward BOS/CHOCH or a sweep of the lows; a short the mirror.
"""

from __future__ import annotations

from breakout.common.events import LiquiditySweep, OrderFlowUpdated, StructureShift
from breakout.common.events.sig import TradeSide
from breakout.signals.checks import at_least
from breakout.signals.entries import Entry, atr_for_stops, sign, swing_price
from breakout.signals.gates import Gate, gate_checks, regime_permits

BASE_CONFIDENCE = {"sweep": 0.45, "choch": 0.40, "bos": 0.35}


def structure_side(event: StructureShift | LiquiditySweep) -> TradeSide:
    """The side a structure event argues for."""
    if isinstance(event, StructureShift):
        return "long" if event.direction == "up" else "short"
    return "long" if event.side == "lows" else "short"


def _agrees(flow: OrderFlowUpdated | None, side: TradeSide) -> bool:
    if flow is None:
        return False
    if side == "long":
        return flow.absorption == "bids" or flow.divergence == "bullish"
    return flow.absorption == "asks" or flow.divergence == "bearish"


def structure_confidence(
    kind: str, flow_on_side: float | None, flow_min: float, regime_ok: bool, agrees: bool
) -> float:
    """The confidence of a structure entry (see the module docstring)."""
    flow_part = 0.0 if flow_on_side is None else max(0.0, min(1.0, flow_on_side / (2 * flow_min)))
    total = BASE_CONFIDENCE[kind] + 0.30 * flow_part + 0.15 * regime_ok + 0.10 * agrees
    return round(min(1.0, total), 6)


def structure_entry(
    gate: Gate, event: StructureShift | LiquiditySweep, side: TradeSide
) -> Entry | None:
    """A structure entry on `side`, or None when the event argues for the other side."""
    if structure_side(event) != side:
        return None
    config = gate.preset.signal_config
    kind = event.kind if isinstance(event, StructureShift) else "sweep"
    flow = gate.view.orderflow
    same_bar = flow is not None and flow.open_ts_ms == event.open_ts_ms
    flow_on_side = sign(side) * flow.delta_ratio if flow is not None and same_bar else None
    regime_ok = gate.regime is not None and regime_permits(gate.regime, gate.preset.name, side)
    confidence = structure_confidence(
        kind, flow_on_side, config.structure_flow_min, regime_ok, same_bar and _agrees(flow, side)
    )
    checks = [
        at_least("orderflow_on_side", flow_on_side, config.structure_flow_min),
        at_least("structure_confidence", confidence, config.structure_min_confidence),
        *gate_checks(gate, side),
    ]
    atr = atr_for_stops(gate.view, None)
    swing = _swing(gate, event, side)
    return Entry(
        strategy="structure",
        side=side,
        checks=checks,
        level_price=event.level,
        entry_price=event.close,
        entry_order="market",
        stop_price=_structure_stop(gate, event, side, swing, atr),
        confidence=confidence,
        reason=f"{kind} {'up' if side == 'long' else 'down'} through {event.level:g}",
        inputs={
            "kind": kind,
            "close": event.close,
            "delta_ratio": flow.delta_ratio if flow is not None and same_bar else None,
            "atr": atr,
            "swing": swing,
        },
    )


def _swing(gate: Gate, event: StructureShift | LiquiditySweep, side: TradeSide) -> float | None:
    if isinstance(event, LiquiditySweep):
        return event.extreme  # the stop goes beyond the wick that took the stops
    lookback = gate.preset.position_config.swing_lookback_minutes * 60_000
    return swing_price(gate.view, side, gate.view.ts_ms - lookback)


def _structure_stop(
    gate: Gate,
    event: StructureShift | LiquiditySweep,
    side: TradeSide,
    swing: float | None,
    atr: float | None,
) -> float | None:
    """Beyond the swing (or the sweep's wick) when it is on the right side, else ATR-based."""
    if swing is not None and sign(side) * (event.close - swing) > 0:
        return swing
    if atr is None:
        return None
    return event.close - sign(side) * gate.preset.position_config.momentum_stop_atr * atr
