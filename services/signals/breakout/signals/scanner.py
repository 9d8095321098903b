"""The scanner: pure functions from symbol views and a preset to a ranked `ScanCompleted` row set.

    universe (all / top gainers / top losers / top volume, from the 24 h tickers)
      -> stage 1 liquidity: 24 h volume, open interest, spread, depth at 0.3 % / 0.5 %, TPM
      -> stage 2 volatility: ATR/price within bounds, Bollinger-width percentile (compression),
         volume surge 1 h and 5 m, OI delta
      -> stage 3 correlation with the reference (BTC): rejected above the limit, or penalised
      -> score = Σ w·z(component) − penalty over the symbols that passed; rank; top N

A filter whose minimum is 0 (or None) is not required: without data it is skipped, not failed.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable

from breakout.common.events.sig import Check, ScanRow
from breakout.common.presets import Preset
from breakout.common.presets.model import CorrelationConfig, ScannerConfig, VolatilityFilters
from breakout.signals.checks import at_least, at_most, skipped
from breakout.signals.view import SymbolView

COMPONENTS = ("vol_surge", "oi_delta", "atr_quality", "correlation", "trades_per_minute")


def _minimum(name: str, value: float | None, threshold: float | None) -> Check:
    if threshold is None:
        return skipped(name, "not required by the preset")
    if value is None and threshold <= 0:
        return skipped(name, "no data; not required (minimum 0)")
    return at_least(name, value, threshold)


def liquidity_checks(view: SymbolView, preset: Preset) -> list[Check]:
    """Stage 1: is the market liquid enough to trade at all."""
    rules = preset.liquidity_filters
    return [
        _minimum("volume_24h_usd", view.volume_24h_usd, rules.min_24h_volume_usd),
        _minimum("open_interest_usd", view.oi_usd, rules.min_oi_usd),
        at_most("spread_bps", view.spread_bps, rules.max_spread_bps),
        _minimum("depth_usd_0_3pct", view.depth_0_3pct_usd, rules.min_depth_usd_0_3pct),
        _minimum("depth_usd_0_5pct", view.depth_0_5pct_usd, rules.min_depth_usd_0_5pct),
        _minimum("trades_per_minute", view.tpm, rules.min_trades_per_minute),
    ]


def _indicator(view: SymbolView, timeframe: str, field: str) -> float | None:
    found = view.indicators.get(timeframe)
    value = getattr(found, field) if found is not None else None
    return float(value) if value is not None else None


def atr_fraction(view: SymbolView, timeframe: str) -> float | None:
    """ATR over price as a fraction, the unit of the preset's `atr_pct_min` / `atr_pct_max`.

    The features record `atr_pct` in percent (0.25 for 0.25 %); the presets bound it as a
    fraction (0.0015 for 0.15 %), so it is converted here, at the one place they meet.
    """
    atr_pct = _indicator(view, timeframe, "atr_pct")
    return atr_pct / 100.0 if atr_pct is not None else None


def volatility_checks(view: SymbolView, rules: VolatilityFilters, timeframe: str) -> list[Check]:
    """Stage 2: volatility quality and compression, on the scanner's timeframe."""
    atr_pct = atr_fraction(view, timeframe)
    return [
        at_least("atr_pct_min", atr_pct, rules.atr_pct_min),
        at_most("atr_pct_max", atr_pct, rules.atr_pct_max),
        at_most(
            "bb_width_percentile",
            _indicator(view, timeframe, "bb_width_percentile"),
            rules.bb_width_percentile_max,
        ),
        _minimum(
            "volume_surge_1h", _indicator(view, "1h", "volume_surge"), rules.volume_surge_1h_min
        ),
        _minimum(
            "volume_surge_5m", _indicator(view, "5m", "volume_surge"), rules.volume_surge_5m_min
        ),
        _minimum("oi_delta", view.oi_delta, rules.oi_delta_min),
    ]


def correlation_check(view: SymbolView, rules: CorrelationConfig, timeframe: str) -> Check:
    """Stage 3: |correlation| with the reference at most the limit (a penalty or a rejection)."""
    corr = _indicator(view, timeframe, "corr_reference")
    how = "rejected above the limit" if rules.reject_above_limit else "penalised, not rejected"
    if view.symbol == rules.reference_symbol:
        return skipped("abs_correlation", "the reference itself")
    return at_most("abs_correlation", abs(corr) if corr is not None else None, rules.limit, how)


def symbol_checks(view: SymbolView, preset: Preset) -> list[Check]:
    """Every filter of the three stages, in order."""
    timeframe = preset.scanner.timeframe
    return [
        *liquidity_checks(view, preset),
        *volatility_checks(view, preset.volatility_filters, timeframe),
        correlation_check(view, preset.correlation, timeframe),
    ]


def row_passes(checks: list[Check], rules: CorrelationConfig) -> bool:
    """Whether a symbol passes: every check, except a correlation that is only penalised."""
    return all(
        c.passed or (c.name == "abs_correlation" and not rules.reject_above_limit) for c in checks
    )


def select_universe(views: Iterable[SymbolView], config: ScannerConfig) -> list[SymbolView]:
    """The symbols a scan looks at: all, or the top gainers / losers / volume by 24 h ticker."""
    quoted = [v for v in views if v.symbol.endswith(config.quote)]
    if config.universe == "all":
        return sorted(quoted, key=lambda v: v.symbol)
    with_ticker = [v for v in quoted if v.change_24h_pct is not None]
    if config.universe == "top_gainers":
        ranked = sorted(with_ticker, key=lambda v: (-(v.change_24h_pct or 0.0), v.symbol))
    elif config.universe == "top_losers":
        ranked = sorted(with_ticker, key=lambda v: (v.change_24h_pct or 0.0, v.symbol))
    else:
        ranked = sorted(with_ticker, key=lambda v: (-(v.volume_24h_usd or 0.0), v.symbol))
    return ranked[: config.universe_size]


def components(view: SymbolView, preset: Preset) -> dict[str, float]:
    """The raw score components of one symbol (absent when unknown)."""
    rules = preset.volatility_filters
    found: dict[str, float] = {}
    surges = (_indicator(view, "1h", "volume_surge"), _indicator(view, "5m", "volume_surge"))
    known = [s for s in surges if s is not None]
    if not known:
        level_surge = _indicator(view, preset.scanner.timeframe, "volume_surge")
        known = [level_surge] if level_surge is not None else []
    if known:
        found["vol_surge"] = statistics.fmean(known)
    if view.oi_delta is not None:
        found["oi_delta"] = view.oi_delta
    atr_pct = atr_fraction(view, preset.scanner.timeframe)
    if atr_pct is not None:
        # 1 in the middle of the allowed ATR band, 0 at its edges, negative outside.
        middle = (rules.atr_pct_min + rules.atr_pct_max) / 2
        half = (rules.atr_pct_max - rules.atr_pct_min) / 2
        found["atr_quality"] = 1.0 - abs(atr_pct - middle) / half
    corr = _indicator(view, preset.scanner.timeframe, "corr_reference")
    if corr is not None:
        found["correlation"] = -abs(corr)
    if view.tpm is not None:
        found["trades_per_minute"] = view.tpm
    return found


def zscores(values: dict[str, float]) -> dict[str, float]:
    """Population z-scores; 0 for every symbol when they do not vary (or only one is known)."""
    if len(values) < 2:
        return dict.fromkeys(values, 0.0)
    mean = statistics.fmean(values.values())
    sd = statistics.pstdev(values.values())
    if sd == 0:
        return dict.fromkeys(values, 0.0)
    return {symbol: (value - mean) / sd for symbol, value in values.items()}


def score(passing: dict[str, dict[str, float]], preset: Preset) -> dict[str, dict[str, float]]:
    """Per symbol: each weighted z-score, the independence penalty and the total `score`."""
    weights = preset.scanner.weights
    rules = preset.correlation
    result: dict[str, dict[str, float]] = {symbol: {} for symbol in passing}
    for name in COMPONENTS:
        known = {s: parts[name] for s, parts in passing.items() if name in parts}
        for symbol, z in zscores(known).items():
            result[symbol][f"z_{name}"] = z
    for symbol, parts in result.items():
        total = sum(getattr(weights, name) * parts.get(f"z_{name}", 0.0) for name in COMPONENTS)
        excess = max(0.0, -passing[symbol].get("correlation", 0.0) - rules.limit)
        parts["penalty"] = rules.independence_penalty * excess
        parts["score"] = total - parts["penalty"]
    return result


def scan_rows(views: Iterable[SymbolView], preset: Preset) -> tuple[list[ScanRow], list[str]]:
    """Every scanned symbol's row (ranked ones first) and the top-N candidates."""
    universe = select_universe(views, preset.scanner)
    checks = {v.symbol: symbol_checks(v, preset) for v in universe}
    passing = {
        v.symbol: components(v, preset)
        for v in universe
        if row_passes(checks[v.symbol], preset.correlation)
    }
    scored = score(passing, preset)
    ranked = sorted(scored, key=lambda s: (-scored[s]["score"], s))
    rows = [
        ScanRow(
            symbol=symbol,
            passed=True,
            checks=checks[symbol],
            score=scored[symbol]["score"],
            rank=rank,
            components={**passing[symbol], **scored[symbol]},
        )
        for rank, symbol in enumerate(ranked, start=1)
    ]
    rows += [
        ScanRow(symbol=v.symbol, passed=False, checks=checks[v.symbol])
        for v in universe
        if v.symbol not in scored
    ]
    return rows, ranked[: preset.scanner.top_n]
