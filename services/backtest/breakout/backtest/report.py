"""A run's results from what it recorded: trades, performance, breakdowns, rejections (pure).

Definitions (every figure is from `PositionClosed` events: realised, net of fees):

- win rate: trades with `realized_quote > 0` over all trades;
- average R: mean `realized_r`; expectancy: mean `realized_quote` per trade (and in R, which is
  the average R: win rate x average win R - loss rate x average loss R);
- profit factor: gross profit / gross loss in quote (None without a losing trade);
- equity: the starting equity plus the realised P&L of each closed trade, at its close;
  max drawdown: the largest fall of that equity from its running peak (quote, and fraction);
- Sharpe / Sortino: per-`period_ms` returns of that equity (periods without a close return 0)
  from the first to the last market event, mean / standard deviation (sample, n - 1) and mean /
  downside deviation (root mean square of the negative returns over all periods), annualised by
  the square root of periods per year (365 days); None with fewer than two periods or no spread;
- exposure: the share of the run's time with at least one position open;
- rejections: how many `SignalRejected` failed each check (a rejection failing two checks counts
  for both), and how many `OrderDenied` each risk limit denied.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import msgspec

from breakout.common.events import (
    MarketTrade,
    OrderDenied,
    PositionClosed,
    PositionOpened,
    RecordedEvent,
    SignalGenerated,
    SignalRejected,
)

YEAR_MS = 365 * 86_400_000


class Trade(msgspec.Struct, frozen=True, kw_only=True):
    """One closed position, as the trades table shows it."""

    position_id: str
    preset: str
    symbol: str
    side: str
    opened_ts_ms: int
    closed_ts_ms: int
    entry_price: float
    exit_price: float
    qty: float
    stop_price: float | None
    target_price: float | None
    realized_quote: float
    realized_r: float
    fees_quote: float
    reason: str


class Performance(msgspec.Struct, frozen=True, kw_only=True):
    """The figures of a set of trades."""

    trades: int
    wins: int
    win_rate: float | None
    average_r: float | None
    expectancy_quote: float | None
    profit_factor: float | None
    net_quote: float
    fees_quote: float


class Report(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a run's report shows (see the module docstring)."""

    overall: Performance
    by_preset: dict[str, Performance]
    by_symbol: dict[str, Performance]
    start_equity: float
    end_equity: float
    max_drawdown_quote: float
    max_drawdown_frac: float
    sharpe: float | None
    sortino: float | None
    period_ms: int
    exposure: float
    start_ms: int
    end_ms: int
    signals: int
    rejected_by_check: dict[str, int]
    denied_by_limit: dict[str, int]
    open_positions: int
    trades: list[Trade]
    equity_curve: list[tuple[int, float]]


def trades_of(events: Iterable[RecordedEvent]) -> tuple[list[Trade], int]:
    """The closed trades, and how many positions were still open at the end."""
    opened: dict[str, PositionOpened] = {}
    trades: list[Trade] = []
    for event in events:
        data = event.data
        if isinstance(data, PositionOpened):
            opened[data.position_id] = data
        elif isinstance(data, PositionClosed):
            start = opened.pop(data.position_id, None)
            trades.append(_trade(data, start))
    return trades, len(opened)


def _trade(closed: PositionClosed, opened: PositionOpened | None) -> Trade:
    return Trade(
        position_id=closed.position_id,
        preset=closed.preset,
        symbol=closed.symbol,
        side=closed.side,
        opened_ts_ms=closed.opened_ts_ms,
        closed_ts_ms=closed.ts_ms,
        entry_price=float(closed.entry_price),
        exit_price=float(closed.exit_avg_price),
        qty=float(closed.entry_qty),
        stop_price=float(opened.stop_price) if opened else None,
        target_price=float(opened.target_price) if opened and opened.target_price else None,
        realized_quote=float(closed.realized_quote),
        realized_r=float(closed.realized_r),
        fees_quote=float(closed.fees_quote),
        reason=closed.reason,
    )


def performance(trades: Sequence[Trade]) -> Performance:
    """Win rate, average R, expectancy, profit factor of `trades`."""
    n = len(trades)
    wins = [t for t in trades if t.realized_quote > 0]
    profit = sum(t.realized_quote for t in wins)
    loss = -sum(t.realized_quote for t in trades if t.realized_quote < 0)
    return Performance(
        trades=n,
        wins=len(wins),
        win_rate=len(wins) / n if n else None,
        average_r=sum(t.realized_r for t in trades) / n if n else None,
        expectancy_quote=sum(t.realized_quote for t in trades) / n if n else None,
        profit_factor=profit / loss if loss > 0 else None,
        net_quote=sum(t.realized_quote for t in trades),
        fees_quote=sum(t.fees_quote for t in trades),
    )


def equity_curve(trades: Sequence[Trade], start_equity: float) -> list[tuple[int, float]]:
    """Equity after each close, in close order."""
    equity, curve = start_equity, []
    for trade in sorted(trades, key=lambda t: t.closed_ts_ms):
        equity += trade.realized_quote
        curve.append((trade.closed_ts_ms, equity))
    return curve


def max_drawdown(start_equity: float, curve: Sequence[tuple[int, float]]) -> tuple[float, float]:
    """The largest fall from a running peak: in quote, and as a fraction of that peak."""
    peak, worst_quote, worst_frac = start_equity, 0.0, 0.0
    for _, equity in curve:
        peak = max(peak, equity)
        worst_quote = max(worst_quote, peak - equity)
        worst_frac = max(worst_frac, (peak - equity) / peak if peak > 0 else 0.0)
    return worst_quote, worst_frac


def period_returns(
    trades: Sequence[Trade], start_equity: float, start_ms: int, end_ms: int, period_ms: int
) -> list[float]:
    """Per-period returns of the realised equity over [start_ms, end_ms]."""
    periods = max(1, math.ceil((end_ms - start_ms + 1) / period_ms))
    pnl = [0.0] * periods
    for trade in trades:
        index = min(periods - 1, max(0, (trade.closed_ts_ms - start_ms) // period_ms))
        pnl[index] += trade.realized_quote
    returns, equity = [], start_equity
    for amount in pnl:
        returns.append(amount / equity if equity else 0.0)
        equity += amount
    return returns


def sharpe(returns: Sequence[float], period_ms: int) -> float | None:
    """Annualised mean / sample standard deviation of `returns`."""
    n = len(returns)
    if n < 2:
        return None
    mean = sum(returns) / n
    var = sum((r - mean) ** 2 for r in returns) / (n - 1)
    if var <= 0:
        return None
    return mean / math.sqrt(var) * math.sqrt(YEAR_MS / period_ms)


def sortino(returns: Sequence[float], period_ms: int) -> float | None:
    """Annualised mean / downside deviation of `returns`."""
    n = len(returns)
    if n < 2:
        return None
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / n)
    if downside <= 0:
        return None
    return sum(returns) / n / downside * math.sqrt(YEAR_MS / period_ms)


def exposure(trades: Sequence[Trade], open_spans: Sequence[tuple[int, int]], span_ms: int) -> float:
    """Share of `span_ms` with at least one position open (overlaps counted once)."""
    if span_ms <= 0:
        return 0.0
    spans = sorted([(t.opened_ts_ms, t.closed_ts_ms) for t in trades] + list(open_spans))
    covered, current_start, current_end = 0, None, None
    for start, end in spans:
        if current_end is None or start > current_end:
            if current_start is not None and current_end is not None:
                covered += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_start is not None and current_end is not None:
        covered += current_end - current_start
    return min(1.0, covered / span_ms)


def build_report(
    events: Sequence[RecordedEvent], start_equity: float, period_ms: int = 3_600_000
) -> Report:
    """The whole report of a run's recorded events."""
    trades, _ = trades_of(events)
    times = [e.data.exchange_ts_ms for e in events if isinstance(e.data, MarketTrade)]
    start_ms = min(times, default=min((t.opened_ts_ms for t in trades), default=0))
    end_ms = max(times, default=max((t.closed_ts_ms for t in trades), default=0))
    rejected: Counter[str] = Counter()
    denied: Counter[str] = Counter()
    signals = 0
    for event in events:
        data = event.data
        if isinstance(data, SignalRejected):
            rejected.update(data.failed)
        elif isinstance(data, OrderDenied):
            denied[data.limit] += 1
        elif isinstance(data, SignalGenerated):
            signals += 1
    span = Span(start_ms=start_ms, end_ms=end_ms, period_ms=period_ms)
    decisions = Decisions(signals=signals, rejected=rejected, denied=denied)
    return report_of(trades, _open_spans(events, end_ms), span, start_equity, decisions)


@dataclass(frozen=True, kw_only=True)
class Span:
    """A run's market time and the period its returns are taken over."""

    start_ms: int
    end_ms: int
    period_ms: int = 3_600_000


@dataclass(frozen=True, kw_only=True)
class Decisions:
    """What the signal and risk stages decided besides the trades."""

    signals: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    denied: Counter[str] = field(default_factory=Counter)


def report_of(
    trades: list[Trade],
    open_spans: Sequence[tuple[int, int]],
    span: Span,
    start_equity: float,
    decisions: Decisions,
) -> Report:
    """The report of closed trades, the spans of positions still open, and the decisions."""
    curve = equity_curve(trades, start_equity)
    dd_quote, dd_frac = max_drawdown(start_equity, curve)
    period_ms = span.period_ms
    returns = period_returns(trades, start_equity, span.start_ms, span.end_ms, period_ms)
    return Report(
        overall=performance(trades),
        by_preset=_grouped(trades, lambda t: t.preset),
        by_symbol=_grouped(trades, lambda t: t.symbol),
        start_equity=start_equity,
        end_equity=curve[-1][1] if curve else start_equity,
        max_drawdown_quote=dd_quote,
        max_drawdown_frac=dd_frac,
        sharpe=sharpe(returns, period_ms),
        sortino=sortino(returns, period_ms),
        period_ms=period_ms,
        exposure=exposure(trades, open_spans, span.end_ms - span.start_ms),
        start_ms=span.start_ms,
        end_ms=span.end_ms,
        signals=decisions.signals,
        rejected_by_check=dict(decisions.rejected.most_common()),
        denied_by_limit=dict(decisions.denied.most_common()),
        open_positions=len(open_spans),
        trades=trades,
        equity_curve=curve,
    )


def _open_spans(events: Sequence[RecordedEvent], end_ms: int) -> list[tuple[int, int]]:
    opened = {
        e.data.position_id: e.data.ts_ms for e in events if isinstance(e.data, PositionOpened)
    }
    for event in events:
        if isinstance(event.data, PositionClosed):
            opened.pop(event.data.position_id, None)
    return [(ts, end_ms) for ts in opened.values()]


def _grouped(trades: Sequence[Trade], key: object) -> dict[str, Performance]:
    groups: dict[str, list[Trade]] = {}
    for trade in trades:
        groups.setdefault(key(trade), []).append(trade)  # type: ignore[operator]
    return {name: performance(group) for name, group in sorted(groups.items())}
