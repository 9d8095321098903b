"""A preset over candle files through the vector engine: the report the event engine's has.

Only candle data: trades, books or the generator are the event engine's (they have what the
vector engine cannot read). Each file's finest candles become one symbol's `Bars`; the trades
of every symbol go into one `Report` (`report.report_of`) and the run is saved as the event
engine's is (`artifacts.save_run`), with every part of the preset the vector engine does not
compute listed as an adaptation. Sizing: `risk_per_trade` of the starting equity at risk per
trade (no compounding), capped at the equity's notional; one position per symbol.
"""

from __future__ import annotations

from pathlib import Path

from breakout.backtest.report import Decisions, Report, Span, Trade, report_of
from breakout.backtest.run import DEFAULT_EQUITY, RunOptions, RunOutput, run_id
from breakout.backtest.sources import load_file
from breakout.backtest.vector.bars import Bars, bars_of
from breakout.backtest.vector.engine import VectorResult, VectorTrade, run_bars
from breakout.backtest.vector.rules import CandleRules, rules_from_preset
from breakout.common.events import Candle
from breakout.common.events.md import TIMEFRAME_MS
from breakout.common.presets import Preset
from breakout.exchange_sim.specs import split_symbol


def load_bars(paths: list[Path], start_ms: int | None, end_ms: int | None) -> list[Bars]:
    """Each candle file's finest bars within [start_ms, end_ms); other data is refused."""
    found = []
    for path in paths:
        loaded = load_file(path)
        if loaded.kind != "candles":
            raise ValueError(f"{path}: {loaded.kind}; the vector engine runs on candles only")
        candles = [e for e in loaded.events if isinstance(e, Candle)]
        finest = min((TIMEFRAME_MS[c.timeframe] for c in candles), default=60_000)
        kept = [
            c
            for c in candles
            if TIMEFRAME_MS[c.timeframe] == finest
            and (start_ms is None or c.open_ts_ms >= start_ms)
            and (end_ms is None or c.close_ts_ms < end_ms)
        ]
        if kept:
            found.append(bars_of(loaded.symbol, kept))
    return found


def report_trades(
    result: VectorResult, bars: Bars, rules: CandleRules, equity: float, preset: str
) -> list[Trade]:
    """The report's trades of one symbol's result, sized on `equity`."""
    return [
        _trade(t, bars, rules, equity=equity, preset=preset, n=n)
        for n, t in enumerate(result.trades)
    ]


def _trade(
    trade: VectorTrade, bars: Bars, rules: CandleRules, *, equity: float, preset: str, n: int
) -> Trade:
    entry, out = trade.entry_price, trade.exit_price
    risk_unit = entry - trade.stop_price if trade.stop_price is not None else entry
    qty = min(rules.risk_per_trade * equity / risk_unit, equity / entry) if risk_unit > 0 else 0.0
    fees = (entry + out) * qty * rules.fee_bps / 1e4
    pnl = (out - entry) * qty - fees
    # An exit at an open is at that bar's start; a stop or target inside a bar, at its end.
    inside = trade.reason != "channel"
    closed = int(bars.open_ts_ms[trade.exit_bar]) + (bars.span_ms - 1 if inside else 0)
    return Trade(
        position_id=f"v{bars.symbol}-{n}",
        preset=preset,
        symbol=bars.symbol,
        side="long",
        opened_ts_ms=int(bars.open_ts_ms[trade.entry_bar]),
        closed_ts_ms=closed,
        entry_price=entry,
        exit_price=out,
        qty=qty,
        stop_price=trade.stop_price,
        target_price=trade.target_price,
        realized_quote=pnl,
        realized_r=pnl / (risk_unit * qty) if qty > 0 else 0.0,
        fees_quote=fees,
        reason=trade.reason,
    )


def run_vector(
    preset: Preset, data: list[Bars], options: RunOptions, equity: float | None = None
) -> tuple[RunOutput, Report]:
    """Run `preset`'s momentum rule over `data`; the run (no events) and its report."""
    rules, not_modelled = rules_from_preset(preset)
    quote = split_symbol(data[0].symbol)[1] if data else "USDT"
    equity = equity or float(DEFAULT_EQUITY.get(quote, "100000"))
    trades: list[Trade] = []
    open_spans: list[tuple[int, int]] = []
    generated = 0
    end_ms = max((int(b.open_ts_ms[-1]) + b.span_ms - 1 for b in data if len(b)), default=0)
    for bars in data:
        result = run_bars(bars, rules)
        generated += result.signals
        trades += report_trades(result, bars, rules, equity, preset.name)
        if result.open_entry_bar is not None:
            open_spans.append((int(bars.open_ts_ms[result.open_entry_bar]), end_ms))
    start_ms = min((int(b.open_ts_ms[0]) for b in data if len(b)), default=0)
    span = Span(start_ms=start_ms, end_ms=end_ms)
    report = report_of(trades, open_spans, span, equity, Decisions(signals=generated))
    output = RunOutput(
        run_id="v" + run_id(preset, options)[:11],
        options=options,
        preset=preset,
        adaptations=not_modelled,
        no_input=[],
        data_kinds=["candles"],
        data_notes=[f"vector engine: {len(b)} bars of {b.symbol}" for b in data],
        symbols=tuple(b.symbol for b in data),
        quote=quote,
        market_events=sum(len(b) for b in data),
        events=[],
    )
    return output, report
