"""The ML filter's features: numbers computed from a `SignalGenerated` and nothing else.

Training (`breakout.ml`) and the live core call the same `signal_features`, on the same event
(the live core on the signal it is about to record, training on the signals a backtest
recorded, drift on the signals in the store), so what a model sees live is what it was trained
on. Every feature is finite: a missing input gives 0 and its `has_*` flag says so. Prices are
turned into scale-free quantities (bps, %, multiples of the ATR or of R), and directional
quantities are signed so that positive means "in the trade's direction" for longs and shorts
alike. `FEATURES` lists each name with its meaning (docs/ml.md prints the same table); the
order is the model's column order, and a model artifact records it (a model trained on another
list is refused at load).
"""

from __future__ import annotations

import math

from breakout.common.events.sig import SignalGenerated

STRATEGIES = ("momentum", "retest", "prelevel", "density_eaten", "structure")
ORDERS = ("market", "limit", "stop_limit")
_DAY_MS = 86_400_000

FEATURES: tuple[tuple[str, str], ...] = (
    ("risk_pct", "R = |entry - stop| as % of entry"),
    ("risk_atr", "R in ATRs (`atr_5m`)"),
    ("atr_pct", "ATR as % of entry"),
    ("has_atr", "1 if the signal carries an ATR"),
    ("level_dist_bps", "entry past the level, bps, signed toward the trade"),
    ("level_dist_atr", "entry past the level, in ATRs, signed"),
    ("level_dist_r", "entry past the level, in R, signed"),
    ("base_height_pct", "height of the base (range under the level) as % of entry"),
    ("base_height_atr", "base height in ATRs"),
    ("base_height_r", "base height in R (the projection target in R)"),
    ("has_base_height", "1 if the signal carries a base height"),
    ("swing_dist_bps", "entry past the swing extreme, bps, signed"),
    ("has_swing", "1 if the signal carries a swing price"),
    ("limit_offset_bps", "limit price beyond entry, bps, signed (0 for market)"),
    ("confidence", "the entry rule's confidence"),
    ("side_long", "1 long, 0 short"),
    *((f"strategy_{s}", f"1 if the entry is `{s}`") for s in STRATEGIES),
    *((f"order_{o}", f"1 if the entry order is `{o}`") for o in ORDERS),
    ("hour_sin", "sin(2π · UTC time of day)"),
    ("hour_cos", "cos(2π · UTC time of day)"),
    ("expiry_s", "seconds until the signal expires"),
    ("bar_range_pct", "signal bar high - low, % of close (inputs)"),
    ("bar_body_ratio", "signal bar body / range, signed toward the trade"),
    ("bar_close_pos", "close's place in the bar's range, 1 = at the trade's end"),
    ("volume_vs_median", "bar volume / the timeframe's volume median"),
    ("imbalance", "L2 imbalance at the signal, signed toward the trade"),
    ("tpm_vs_baseline", "trades per minute / baseline"),
    ("vwap_gap_bps", "close's gap to VWAP, bps, signed toward the trade"),
    ("level_strength", "the level's strength (momentum)"),
    ("delta_ratio", "taker delta / volume of the bar, signed (structure)"),
    ("pierce_atr", "retest pierce of the level, in ATRs"),
    ("prelevel_distance_bps", "distance to the level before it (pre-level)"),
    ("checks_total", "number of checks recorded"),
    ("checks_skipped", "checks not applied (op `not`)"),
    ("margin_min_rel", "smallest check margin / |threshold| (how close a pass was)"),
    ("margin_mean_rel", "mean check margin / |threshold| (capped at ±10 each)"),
)
FEATURE_NAMES: tuple[str, ...] = tuple(name for name, _ in FEATURES)


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _ratio(numerator: float | None, denominator: float | None) -> float:
    if numerator is None or denominator is None or denominator == 0:
        return 0.0
    value = numerator / denominator
    return value if math.isfinite(value) else 0.0


def _flag(condition: bool) -> float:
    return 1.0 if condition else 0.0


def signal_features(signal: SignalGenerated) -> list[float]:
    """The feature vector of one signal, in `FEATURE_NAMES` order (all finite)."""
    direction = 1.0 if signal.side == "long" else -1.0
    entry = signal.entry_price
    risk = abs(entry - signal.stop_price)
    atr = _num(signal.atr_5m)
    base = _num(signal.base_height)
    swing = _num(signal.swing_price)
    beyond_level = (entry - signal.level_price) * direction
    inputs = signal.inputs
    high, low = _num(inputs.get("high")), _num(inputs.get("low"))
    open_, close = _num(inputs.get("open")), _num(inputs.get("close"))
    bar_range = high - low if high is not None and low is not None else None
    body = (close - open_) * direction if close is not None and open_ is not None else None
    close_pos = _ratio(close - low, bar_range) if close is not None and low is not None else 0.0
    if direction < 0 and bar_range:
        close_pos = 1.0 - close_pos
    limit = _num(signal.limit_price)
    day_frac = (signal.ts_ms % _DAY_MS) / _DAY_MS
    margins = [
        max(-10.0, min(10.0, _ratio(c.margin, abs(c.threshold) or None)))
        for c in signal.checks
        if c.margin is not None and c.threshold is not None
    ]
    values = [
        _ratio(risk * 100, entry),
        _ratio(risk, atr),
        _ratio(atr * 100 if atr is not None else None, entry),
        _flag(atr is not None),
        _ratio(beyond_level * 1e4, entry),
        _ratio(beyond_level, atr),
        _ratio(beyond_level, risk),
        _ratio(base * 100 if base is not None else None, entry),
        _ratio(base, atr),
        _ratio(base, risk),
        _flag(base is not None),
        _ratio((entry - swing) * direction * 1e4 if swing is not None else None, entry),
        _flag(swing is not None),
        _ratio((limit - entry) * direction * 1e4 if limit is not None else None, entry),
        signal.confidence,
        _flag(signal.side == "long"),
        *(_flag(signal.strategy == s) for s in STRATEGIES),
        *(_flag(signal.entry_order == o) for o in ORDERS),
        math.sin(2 * math.pi * day_frac),
        math.cos(2 * math.pi * day_frac),
        (signal.expires_ts_ms - signal.ts_ms) / 1000,
        _ratio(bar_range * 100 if bar_range is not None else None, close),
        _ratio(body, bar_range),
        close_pos,
        _ratio(_num(inputs.get("volume")), _num(inputs.get("volume_median"))),
        (_num(inputs.get("imbalance")) or 0.0) * direction,
        _ratio(_num(inputs.get("tpm")), _num(inputs.get("baseline_tpm"))),
        (_num(inputs.get("vwap_gap_bps")) or 0.0) * direction,
        _num(inputs.get("strength")) or 0.0,
        (_num(inputs.get("delta_ratio")) or 0.0) * direction,
        _ratio(_num(inputs.get("pierce")), atr),
        _num(inputs.get("distance_bps")) or 0.0,
        float(len(signal.checks)),
        float(sum(1 for c in signal.checks if c.op == "not")),
        min(margins, default=0.0),
        sum(margins) / len(margins) if margins else 0.0,
    ]
    return [v if math.isfinite(v) else 0.0 for v in values]
