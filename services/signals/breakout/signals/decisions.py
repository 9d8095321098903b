"""Turning the machine's decisions into the recorded events (with the preset and the inputs)."""

from __future__ import annotations

import msgspec

from breakout.common.events import Event
from breakout.common.events.sig import (
    SignalGenerated,
    SignalRejected,
    SignalStateChanged,
    TradeSide,
)
from breakout.common.ids import external_event_id
from breakout.common.presets import Preset
from breakout.signals.checks import at_least, failed_names, missing
from breakout.signals.entries import Entry
from breakout.signals.machine import Decision, Transition
from breakout.signals.mlmodel import MlModel
from breakout.signals.view import SymbolView


def signal_id(preset_ref: str, symbol: str, side: str, strategy: str, ts_ms: int) -> str:
    """A deterministic signal id: the same decision on a replay has the same id."""
    return str(external_event_id("signal", preset_ref, symbol, side, strategy, ts_ms))


def decision_event(
    preset: Preset,
    ref: str,
    view: SymbolView,
    side: TradeSide,
    decision: Decision,
    *,
    ml: MlModel | None = None,
) -> Event:
    """The event recording one decision of a symbol's machine (scored by `ml` when given)."""
    if isinstance(decision, Transition):
        return SignalStateChanged(
            preset=preset.name,
            preset_ref=ref,
            exchange=view.exchange,
            symbol=view.symbol,
            side=side,
            state=decision.state,
            previous_state=decision.previous,
            reason=decision.reason,
            level_price=decision.level_price,
            ts_ms=decision.ts_ms,
        )
    if decision.passed and decision.stop_price is not None:
        signal = _generated(preset, ref, view, decision, decision.stop_price)
        return signal if ml is None else _scored(preset, signal, ml)
    return _rejected(preset, ref, view, decision)


def _scored(preset: Preset, signal: SignalGenerated, ml: MlModel) -> Event:
    """The signal with its ML probability; rejected (check `ml_probability`) below the veto."""
    probability = ml.probability(signal)
    threshold = preset.ml_veto_threshold
    if threshold is None or probability >= threshold:
        return msgspec.structs.replace(signal, ml_probability=probability)
    checks = [*signal.checks, at_least("ml_probability", probability, threshold, ml.ref)]
    return SignalRejected(
        preset=signal.preset,
        preset_ref=signal.preset_ref,
        exchange=signal.exchange,
        symbol=signal.symbol,
        side=signal.side,
        strategy=signal.strategy,
        level_price=signal.level_price,
        ts_ms=signal.ts_ms,
        failed=failed_names(checks),
        checks=checks,
        inputs=signal.inputs | {"ml_probability": probability, "ml_model": ml.ref},
    )


def _generated(
    preset: Preset, ref: str, view: SymbolView, entry: Entry, stop_price: float
) -> SignalGenerated:
    ts_ms = view.ts_ms
    atr = entry.inputs.get("atr")
    swing = entry.inputs.get("swing")
    return SignalGenerated(
        signal_id=signal_id(ref, view.symbol, entry.side, entry.strategy, ts_ms),
        preset=preset.name,
        preset_ref=ref,
        exchange=view.exchange,
        symbol=view.symbol,
        side=entry.side,
        strategy=entry.strategy,
        entry_order=entry.entry_order,
        entry_price=entry.entry_price,
        limit_price=entry.limit_price,
        level_price=entry.level_price,
        stop_price=stop_price,
        atr_5m=float(atr) if isinstance(atr, int | float) else None,
        swing_price=float(swing) if isinstance(swing, int | float) else None,
        base_height=view.levels.base_height if view.levels is not None else None,
        confidence=entry.confidence,
        reason=entry.reason,
        ts_ms=ts_ms,
        expires_ts_ms=ts_ms + preset.signal_config.signal_timeout_s * 1000,
        checks=entry.checks,
        inputs=entry.inputs,
    )


def _rejected(preset: Preset, ref: str, view: SymbolView, entry: Entry) -> SignalRejected:
    checks = list(entry.checks)
    if entry.stop_price is None:
        checks.append(missing("stop_price", None, ">", "no ATR to place a stop"))
    return SignalRejected(
        preset=preset.name,
        preset_ref=ref,
        exchange=view.exchange,
        symbol=view.symbol,
        side=entry.side,
        strategy=entry.strategy,
        level_price=entry.level_price,
        ts_ms=view.ts_ms,
        failed=failed_names(checks),
        checks=checks,
        inputs=entry.inputs,
    )
