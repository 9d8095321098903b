"""Entry rules: pure functions from a closed bar (or a feature event) to an `Entry` decision.

Each rule returns None when its setup is not there (nothing to decide), else an `Entry` with
every check it made; the entry is taken when every check passed. Long rules read resistances
and the ask side; short rules are the mirror (supports, the bid side, signs flipped), so one
function serves both sides through `sign`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from breakout.common.events import Candle, IndicatorsUpdated, PriceLevel
from breakout.common.events.sig import Check, EntryOrder, EntryStrategy, InputValue, TradeSide
from breakout.signals.checks import at_least, at_most, is_true, skipped
from breakout.signals.gates import Gate, gate_checks
from breakout.signals.view import SymbolView, Wall


@dataclass(frozen=True, kw_only=True)
class Entry:
    """A decided entry (taken when every check passed)."""

    strategy: EntryStrategy
    side: TradeSide
    checks: list[Check]
    level_price: float
    entry_price: float
    entry_order: EntryOrder
    stop_price: float | None
    limit_price: float | None = None
    confidence: float = 0.0
    reason: str = ""
    inputs: dict[str, InputValue] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """Every check held, and a stop could be placed (it needs the ATR)."""
        return self.stop_price is not None and all(check.passed for check in self.checks)


def sign(side: TradeSide) -> float:
    """+1 for a long, -1 for a short: the direction a breakout goes."""
    return 1.0 if side == "long" else -1.0


def toward(name: str, value: float | None, threshold: float, side: TradeSide) -> Check:
    """`value >= threshold` for a long, `value <= -threshold` for a short (the mirror)."""
    if side == "long":
        return at_least(name, value, threshold)
    return at_most(name, value, -threshold)


def beyond(name: str, value: float | None, threshold: float, side: TradeSide) -> Check:
    """`value >= threshold` for a long, `value <= threshold` for a short (a price past a line)."""
    return at_least(name, value, threshold) if side == "long" else at_most(name, value, threshold)


def atr_for_stops(view: SymbolView, bar: IndicatorsUpdated | None) -> float | None:
    """ATR(5m) as the design sizes stops on it; the levels timeframe's ATR when 5m is unknown."""
    five = view.indicators.get("5m")
    if five is not None and five.atr is not None:
        return five.atr
    return bar.atr if bar is not None else None


def swing_price(
    view: SymbolView, side: TradeSide, since_ts_ms: int, until_ts_ms: int | None = None
) -> float | None:
    """The lowest low (long) or highest high (short) of the candles opened in the window."""
    recent = [
        c
        for c in view.candles
        if c.open_ts_ms >= since_ts_ms and (until_ts_ms is None or c.open_ts_ms <= until_ts_ms)
    ]
    if not recent:
        return None
    return min(c.low for c in recent) if side == "long" else max(c.high for c in recent)


def _stop(entry: float, atr: float | None, mult: float, side: TradeSide) -> float | None:
    return None if atr is None else entry - sign(side) * mult * atr


def _wall_at_level(
    view: SymbolView, level: float, radius_bps: float, side: TradeSide
) -> Wall | None:
    book_side = "ask" if side == "long" else "bid"
    near = [
        w
        for w in view.walls.values()
        if w.side == book_side
        and min(abs(w.price_low - level), abs(w.price_high - level)) / level * 1e4 <= radius_bps
    ]
    return max(near, key=lambda w: w.eaten_ratio, default=None)


def momentum(
    gate: Gate, candle: Candle, bar: IndicatorsUpdated, level: PriceLevel, side: TradeSide
) -> Entry | None:
    """Breakout: the bar reached level + epsilon; close beyond it with volume, body, book."""
    s = sign(side)
    trigger = level.price * (1 + s * gate.preset.signal_config.momentum_epsilon_bps / 1e4)
    extreme = candle.high if side == "long" else candle.low
    if s * (extreme - trigger) < 0:
        return None
    atr = atr_for_stops(gate.view, bar)
    order = gate.preset.execution_config.momentum_order
    entry = candle.close if order == "market" else trigger
    offset = gate.preset.execution_config.stop_limit_offset_bps / 1e4
    stop = _stop(entry, atr, gate.preset.position_config.momentum_stop_atr, side)
    lookback = gate.preset.position_config.swing_lookback_minutes * 60_000
    swing = swing_price(gate.view, side, candle.close_ts_ms + 1 - lookback, candle.open_ts_ms)
    tighter = stop is not None and swing is not None and s * (swing - stop) > 0
    if tighter and swing is not None and s * (entry - swing) > 0:
        stop = swing  # the tighter of the swing and the ATR stop (the design's max for a long)
    return Entry(
        strategy="momentum",
        side=side,
        checks=_momentum_checks(gate, candle, bar, level, side, trigger=trigger),
        level_price=level.price,
        entry_price=entry,
        entry_order=order,
        limit_price=entry * (1 + s * offset) if order == "stop_limit" else None,
        stop_price=stop,
        confidence=min(1.0, 0.6 + 0.4 * level.strength),
        reason=f"momentum {'breakout' if side == 'long' else 'breakdown'} of {level.price:g}",
        inputs=_bar_inputs(candle, bar, gate.view, atr=atr, swing=swing, strength=level.strength),
    )


def _momentum_checks(
    gate: Gate,
    candle: Candle,
    bar: IndicatorsUpdated,
    level: PriceLevel,
    side: TradeSide,
    *,
    trigger: float,
) -> list[Check]:
    config = gate.preset.signal_config
    span = candle.high - candle.low
    body = sign(side) * (candle.close - candle.open) / span if span > 0 else 0.0
    median = bar.volume_median
    return [
        beyond("close_beyond_level", candle.close, trigger, side),
        at_least(
            "volume_vs_median", candle.volume / median if median else None, config.momentum_volume_k
        ),
        at_least("body_ratio", body, config.momentum_body_ratio_min),
        toward("l2_imbalance", gate.view.imbalance, config.l2_imbalance_min, side),
        at_most(
            "abs_vwap_gap_bps",
            abs(bar.vwap_gap_bps) if bar.vwap_gap_bps is not None else None,
            config.vwap_gap_max_bps,
        ),
        _density_check(gate, level.price, side),
        *_approach(gate, level),
        *gate_checks(gate, side),
    ]


def _density_check(gate: Gate, level: float, side: TradeSide) -> Check:
    config = gate.preset.signal_config
    if not config.density_confirmation:
        return skipped("wall_eaten_ratio", "density confirmation off in the preset")
    wall = _wall_at_level(gate.view, level, config.wall_near_level_bps, side)
    if wall is None:
        return skipped("wall_eaten_ratio", "no wall at the level")
    return at_least("wall_eaten_ratio", wall.eaten_ratio, config.enter_on_density_eat_ratio)


def _approach(gate: Gate, level: PriceLevel) -> list[Check]:
    if not gate.preset.signal_config.require_approach_quality:
        return []
    note = f"slope {level.approach_slope_pct_per_bar:.3g} %/bar, {level.consolidation_bars} bars"
    return [is_true("approach_quality", level.approach_ok, note)]


def _bar_inputs(
    candle: Candle, bar: IndicatorsUpdated | None, view: SymbolView, **extra: InputValue
) -> dict[str, InputValue]:
    inputs: dict[str, InputValue] = {
        "open": candle.open,
        "high": candle.high,
        "low": candle.low,
        "close": candle.close,
        "volume": candle.volume,
        "bar_open_ts_ms": candle.open_ts_ms,
        "imbalance": view.imbalance,
        "tpm": view.tpm,
        "baseline_tpm": view.baseline_tpm,
    }
    if bar is not None:
        inputs |= {"volume_median": bar.volume_median, "vwap_gap_bps": bar.vwap_gap_bps}
    return inputs | extra


def retest(
    gate: Gate, candle: Candle, bar: IndicatorsUpdated, level_price: float, side: TradeSide
) -> Entry | None:
    """After a breakout: the bar came back to the level, pierced it little, and held."""
    config = gate.preset.signal_config
    s = sign(side)
    band = level_price * config.momentum_epsilon_bps / 1e4
    extreme = candle.low if side == "long" else candle.high
    if s * (extreme - level_price) > band:
        return None  # not back at the level yet
    atr = atr_for_stops(gate.view, bar)
    pierce = max(0.0, s * (level_price - extreme))
    tpm, baseline = gate.view.tpm, gate.view.baseline_tpm
    checks = [
        at_most("pierce_atr", pierce / atr if atr else None, config.retest_max_pierce_atr),
        beyond("close_held_level", candle.close, level_price, side),
        toward("l2_imbalance", gate.view.imbalance, config.retest_l2_imbalance_min, side),
        at_least(
            "tpm_vs_baseline",
            tpm / baseline if tpm is not None and baseline else None,
            config.tpm_on_touch_frac,
        ),
        *gate_checks(gate, side),
    ]
    order = gate.preset.execution_config.retest_order
    entry = level_price if order == "limit" else candle.close
    return Entry(
        strategy="retest",
        side=side,
        checks=checks,
        level_price=level_price,
        entry_price=entry,
        entry_order=order,
        limit_price=entry if order == "limit" else None,
        stop_price=_stop(level_price, atr, gate.preset.position_config.retest_stop_atr, side),
        confidence=0.7,
        reason=f"retest of the broken level {level_price:g}",
        inputs=_bar_inputs(candle, bar, gate.view, atr=atr, pierce=pierce),
    )


def prelevel(gate: Gate, candle: Candle, level: PriceLevel, side: TradeSide) -> Entry | None:
    """A limit `prelevel_limit_offset_bps` before a strong level the price is closing in on."""
    config = gate.preset.signal_config
    s = sign(side)
    distance_bps = s * (level.price - candle.close) / level.price * 1e4
    if not 0 <= distance_bps <= config.prelevel_max_distance_bps:
        return None
    entry = level.price * (1 - s * config.prelevel_limit_offset_bps / 1e4)
    atr = atr_for_stops(gate.view, None)
    checks = [
        at_least("level_strength", level.strength, config.prelevel_min_strength),
        is_true("level_valid", level.valid),
        *_approach(gate, level),
        *gate_checks(gate, side),
    ]
    return Entry(
        strategy="prelevel",
        side=side,
        checks=checks,
        level_price=level.price,
        entry_price=entry,
        entry_order="limit",
        limit_price=entry,
        stop_price=_stop(entry, atr, gate.preset.position_config.momentum_stop_atr, side),
        confidence=level.strength,
        reason=f"pre-level limit {config.prelevel_limit_offset_bps:g} bps before {level.price:g}",
        inputs=_bar_inputs(candle, None, gate.view, atr=atr, distance_bps=distance_bps),
    )


def density_eaten(gate: Gate, wall: Wall, level: PriceLevel, side: TradeSide) -> Entry | None:
    """A wall at the level eaten to `enter_on_density_eat_ratio`: enter with the flow."""
    config = gate.preset.signal_config
    level_price = level.price
    if wall.side != ("ask" if side == "long" else "bid"):
        return None
    near_bps = min(abs(wall.price_low - level_price), abs(wall.price_high - level_price))
    if near_bps / level_price * 1e4 > config.wall_near_level_bps:
        return None
    if wall.eaten_ratio < config.enter_on_density_eat_ratio:
        return None
    price = gate.view.last_price or (wall.price_high if side == "long" else wall.price_low)
    atr = atr_for_stops(gate.view, None)
    checks = [
        at_least("wall_eaten_ratio", wall.eaten_ratio, config.enter_on_density_eat_ratio),
        toward("l2_imbalance", gate.view.imbalance, config.l2_imbalance_min, side),
        *_approach(gate, level),
        *gate_checks(gate, side),
    ]
    return Entry(
        strategy="density_eaten",
        side=side,
        checks=checks,
        level_price=level_price,
        entry_price=price,
        entry_order="market",
        stop_price=_stop(price, atr, gate.preset.position_config.momentum_stop_atr, side),
        confidence=min(1.0, 0.6 + 0.4 * wall.eaten_ratio),
        reason=f"wall {wall.price_low:g}-{wall.price_high:g} eaten {wall.eaten_ratio:.0%}",
        inputs={"wall_id": wall.wall_id, "wall_initial_qty": wall.initial_qty, "atr": atr},
    )
