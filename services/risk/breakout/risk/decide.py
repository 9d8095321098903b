"""One signal -> one decision: every limit in order, then the size (pure, see docs/risk.md).

The checks run in a fixed order and stop at the first that fails; the denial names it with its
value and threshold, and carries every check evaluated before it. An approval carries them all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from breakout.common.events.feat import BookMetrics
from breakout.common.events.regime import RegimeChanged
from breakout.common.events.risk import KillLevel, OrderDenied, OrderIntentApproved, Sizing
from breakout.common.events.sig import Check, Comparison, SignalGenerated
from breakout.common.ids import BREAKOUT_NAMESPACE
from breakout.common.presets import Preset
from breakout.risk.sizing import (
    MarketRules,
    Refusal,
    confidence_multiplier,
    depth_usd,
    reward_risk,
    round_down,
    rule_stop,
)


@dataclass
class OpenRisk:
    """An approved intent until its position closes: what it counts toward the limits."""

    symbol: str
    preset: str
    risk_r: float


@dataclass
class RiskView:
    """What the risk core knows when a signal arrives (built from events only)."""

    equity_quote: float | None = None
    free_quote: float | None = None
    rules: dict[str, MarketRules] = field(default_factory=dict)
    books: dict[str, BookMetrics] = field(default_factory=dict)
    correlations: dict[str, float] = field(default_factory=dict)
    regime: RegimeChanged | None = None
    open: dict[str, OpenRisk] = field(default_factory=dict)
    day_realized_r: float = 0.0
    day_realized_quote: float = 0.0
    day_start_equity: float | None = None
    consecutive_losses: int = 0
    kill_level: KillLevel | None = None
    paused: set[str] = field(default_factory=set)
    # Symbols whose entries are quarantined after a gap storm: symbol -> until (ms, exclusive).
    quarantined: dict[str, int] = field(default_factory=dict)


class Denied(Exception):
    """A limit refused the signal (internal control flow of `decide`)."""

    def __init__(self, limit: str, value: float | None, threshold: float | None, reason: str):
        super().__init__(reason)
        self.limit, self.value, self.threshold, self.reason = limit, value, threshold, reason


def intent_id_for(signal_id: str) -> str:
    """The intent id of a signal: derived, so a re-decision yields the same id."""
    return uuid.uuid5(BREAKOUT_NAMESPACE, f"intent/{signal_id}").hex


class _Checks:
    def __init__(self) -> None:
        self.items: list[Check] = []

    def need(
        self, name: str, value: float | None, op: Comparison, threshold: float | None, reason: str
    ) -> None:
        passed = value is not None and threshold is not None and _holds(value, op, threshold)
        margin = None if value is None or threshold is None else _margin(value, op, threshold)
        self.items.append(
            Check(name=name, value=value, threshold=threshold, op=op, passed=passed, margin=margin)
        )
        if not passed:
            raise Denied(name, value, threshold, reason)


def _holds(value: float, op: Comparison, threshold: float) -> bool:
    return {
        ">=": value >= threshold,
        "<=": value <= threshold,
        ">": value > threshold,
        "<": value < threshold,
        "==": value == threshold,
    }.get(op, False)


def _margin(value: float, op: Comparison, threshold: float) -> float:
    return value - threshold if op in (">=", ">") else threshold - value


def decide(
    signal: SignalGenerated, preset: Preset | None, view: RiskView
) -> OrderIntentApproved | OrderDenied:
    """Approve and size `signal`, or deny it with the first limit it trips."""
    checks = _Checks()
    try:
        if preset is None:
            raise Denied("preset", None, None, f"preset {signal.preset!r} is not loaded by risk")
        return _approve(signal, preset, view, checks)
    except Denied as denied:
        return OrderDenied(
            signal_id=signal.signal_id,
            preset=signal.preset,
            preset_ref=preset.ref() if preset else signal.preset_ref,
            exchange=signal.exchange,
            symbol=signal.symbol,
            side=signal.side,
            limit=denied.limit,
            value=denied.value,
            threshold=denied.threshold,
            reason=denied.reason,
            checks=checks.items,
            ts_ms=signal.ts_ms,
        )


def _gates(signal: SignalGenerated, preset: Preset, view: RiskView, c: _Checks) -> None:
    risk = preset.risk
    c.need(
        "kill_switch",
        0.0 if view.kill_level is None else 1.0,
        "==",
        0.0,
        f"kill switch on ({view.kill_level})",
    )
    until_ms = view.quarantined.get(signal.symbol, signal.ts_ms)
    c.need(
        "symbol_gap_storm",
        max(0.0, (until_ms - signal.ts_ms) / 1000),
        "<=",
        0.0,
        f"{signal.symbol} quarantined after a market-data gap storm (seconds left)",
    )
    c.need(
        "paused",
        1.0 if {signal.preset, "*"} & view.paused else 0.0,
        "==",
        0.0,
        "preset paused by operator",
    )
    if preset.market == "spot":
        c.need(
            "spot_long_only", 1.0 if signal.side == "long" else 0.0, "==", 1.0, "spot cannot short"
        )
    c.need(
        "confidence",
        signal.confidence,
        ">=",
        risk.min_signal_confidence,
        "signal confidence too low",
    )
    c.need(
        "max_positions",
        float(len(view.open)),
        "<",
        float(risk.max_positions),
        "max concurrent positions",
    )
    c.need("daily_loss_r", -view.day_realized_r, "<", risk.max_daily_loss_r, "daily R loss limit")
    if view.day_start_equity:
        loss_pct = -view.day_realized_quote / view.day_start_equity
        c.need("daily_loss_pct", loss_pct, "<", risk.max_daily_loss_pct, "daily loss % limit")
    c.need(
        "consecutive_losses",
        float(view.consecutive_losses),
        "<",
        float(risk.max_consecutive_losses),
        "consecutive losses",
    )


# With no regime decided (or no regime service), a preset that does not require one trades at
# half size: the macro layer is an overlay, not a precondition (docs/regime.md).
NO_REGIME_MULTIPLIER = 0.5


def _regime_multiplier(
    signal: SignalGenerated, preset: Preset, view: RiskView, c: _Checks
) -> float:
    regime = view.regime
    if regime is None:
        c.need(
            "regime_known",
            0.0,
            "==",
            1.0 if preset.risk.require_regime else 0.0,
            "no regime decided yet",
        )
        return NO_REGIME_MULTIPLIER
    perms = regime.permissions
    c.need(
        "regime_side",
        1.0 if signal.side in perms.sides_allowed else 0.0,
        "==",
        1.0,
        f"{regime.state} forbids {signal.side}",
    )
    c.need(
        "regime_preset",
        1.0 if signal.preset in perms.presets_allowed else 0.0,
        "==",
        1.0,
        f"{regime.state} forbids preset",
    )
    multiplier = preset.risk.regime_size_multipliers.get(regime.state, 0.0)
    c.need("regime_multiplier", multiplier, ">", 0.0, f"{regime.state} sizes at 0")
    return multiplier


def _approve(
    signal: SignalGenerated, preset: Preset, view: RiskView, c: _Checks
) -> OrderIntentApproved:
    risk = preset.risk
    _gates(signal, preset, view, c)
    regime_mult = _regime_multiplier(signal, preset, view, c)
    c.need("equity_known", view.equity_quote, ">", 0.0, "no account balance observed yet")
    rules = view.rules.get(signal.symbol)
    c.need("market_rules_known", 1.0 if rules else 0.0, "==", 1.0, "no market rules for symbol")
    book = view.books.get(signal.symbol)
    c.need("book_known", 1.0 if book else 0.0, "==", 1.0, "no book metrics for symbol")
    assert rules is not None and book is not None and view.equity_quote is not None
    c.need(
        "book_age_ms",
        float(signal.ts_ms - book.ts_ms),
        "<=",
        float(risk.max_book_age_ms),
        "book too old",
    )
    c.need(
        "half_spread_bps",
        book.spread_bps / 2,
        "<=",
        risk.max_slippage_bps,
        "spread alone exceeds slippage limit",
    )
    stop = rule_stop(signal, preset)
    if isinstance(stop, Refusal):
        raise Denied(stop.limit, stop.value, stop.threshold, stop.reason)
    distance = abs(signal.entry_price - stop.stop_price)
    wrong_side = (
        (stop.stop_price >= signal.entry_price)
        if signal.side == "long"
        else (stop.stop_price <= signal.entry_price)
    )
    c.need(
        "stop_distance",
        0.0 if wrong_side else distance,
        ">",
        0.0,
        "stop on the wrong side of entry",
    )
    rr, target = reward_risk(signal, preset, stop.stop_price)
    c.need("reward_risk", rr, ">=", risk.min_reward_risk, "reward/risk too low")
    _correlation(signal, preset, view, c)
    conf_mult = confidence_multiplier(signal.confidence, risk.min_signal_confidence)
    risk_r = regime_mult * conf_mult
    heat = sum(o.risk_r for o in view.open.values()) + risk_r
    c.need("portfolio_heat_r", heat, "<=", risk.max_portfolio_heat_r, "portfolio heat limit")
    sizing = _size(signal, preset, view, book, rules, distance, regime_mult, conf_mult)
    c.need(
        "min_qty",
        float(sizing.qty),
        ">=",
        float(rules.min_qty),
        "size below the exchange minimum quantity",
    )
    c.need(
        "min_notional",
        sizing.notional_quote,
        ">=",
        float(rules.min_notional),
        "size below the exchange minimum notional",
    )
    slip = risk.max_slippage_bps / 10_000
    long = signal.side == "long"
    return OrderIntentApproved(
        intent_id=intent_id_for(signal.signal_id),
        signal_id=signal.signal_id,
        preset=signal.preset,
        preset_ref=preset.ref(),
        exchange=signal.exchange,
        symbol=signal.symbol,
        side=signal.side,
        strategy=signal.strategy,
        entry_order=signal.entry_order,
        entry_price=signal.entry_price,
        limit_price=signal.limit_price,
        slippage_limit_price=signal.entry_price * (1 + slip if long else 1 - slip),
        stop_price=stop.stop_price,
        stop_rule=stop.rule,
        target_price=target,
        reward_risk=rr,
        atr_5m=signal.atr_5m,
        base_height=signal.base_height,
        qty=sizing.qty,
        sizing=sizing,
        checks=c.items,
        ts_ms=signal.ts_ms,
        expires_ts_ms=signal.expires_ts_ms,
    )


def _correlation(signal: SignalGenerated, preset: Preset, view: RiskView, c: _Checks) -> None:
    risk = preset.risk
    corr = view.correlations.get(signal.symbol)
    if corr is None or abs(corr) <= risk.correlation_exposure_limit:
        return
    correlated = sum(
        1
        for o in view.open.values()
        if abs(view.correlations.get(o.symbol, 0.0)) > risk.correlation_exposure_limit
    )
    c.need(
        "correlated_positions",
        float(correlated),
        "<",
        float(risk.max_correlated_positions),
        "correlation exposure",
    )


def _size(  # noqa: PLR0917 - the sizing inputs, each one named in the event
    signal: SignalGenerated,
    preset: Preset,
    view: RiskView,
    book: BookMetrics,
    rules: MarketRules,
    distance: float,
    regime_mult: float,
    conf_mult: float,
) -> Sizing:
    risk = preset.risk
    assert view.equity_quote is not None
    equity = view.equity_quote
    free = view.free_quote if view.free_quote is not None else 0.0
    risk_quote = equity * risk.risk_per_trade * regime_mult * conf_mult
    by_risk = risk_quote / distance
    depth = depth_usd(book, signal.side)
    by_depth = depth * risk.max_depth_participation / signal.entry_price
    fee = preset.execution_config.taker_fee_bps / 10_000
    # Spot: the entry must be paid in full; leave room for the fee and the slippage limit.
    by_balance = free / (signal.entry_price * (1 + fee + risk.max_slippage_bps / 10_000))
    caps = {"risk": by_risk, "depth": by_depth, "balance": by_balance}
    capped_by = min(caps, key=lambda k: caps[k])
    qty = round_down(max(0.0, caps[capped_by]), rules.step_size)
    return Sizing(
        equity_quote=equity,
        free_quote=free,
        risk_per_trade=risk.risk_per_trade,
        regime=view.regime.state if view.regime else None,
        regime_multiplier=regime_mult,
        confidence=signal.confidence,
        confidence_multiplier=conf_mult,
        risk_quote=risk_quote,
        stop_distance=distance,
        qty_by_risk=by_risk,
        depth_usd=depth,
        max_depth_participation=risk.max_depth_participation,
        qty_by_depth=by_depth,
        qty_by_balance=by_balance,
        capped_by=capped_by,  # type: ignore[arg-type]
        step_size=float(rules.step_size),
        min_qty=float(rules.min_qty),
        min_notional=float(rules.min_notional),
        qty=qty,
        notional_quote=float(qty) * signal.entry_price,
        risk_r=regime_mult * conf_mult * (float(qty) / by_risk if by_risk > 0 else 0.0),
        spread_bps=book.spread_bps,
        max_slippage_bps=risk.max_slippage_bps,
    )
