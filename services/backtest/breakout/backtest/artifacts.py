"""A run's files under `runs/<run id>/`: report.json, trades.csv, equity.png, trades.png and
one self-contained report.html (the PNGs inlined)."""

from __future__ import annotations

import base64
import csv
import html
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
import msgspec
from matplotlib.axes import Axes

from breakout.backtest.report import Performance, Report, Trade
from breakout.backtest.run import RunOutput
from breakout.common.events import Candle, LevelsUpdated, RecordedEvent

MAX_TRADE_CHARTS = 12


def save_run(output: RunOutput, report: Report, out_dir: Path) -> Path:
    """Write every file of the run; returns its folder."""
    folder = out_dir / output.run_id
    folder.mkdir(parents=True, exist_ok=True)
    summary = {
        "run_id": output.run_id,
        "preset_ref": output.preset.ref(),
        "options": msgspec.to_builtins(output.options),
        "symbols": output.symbols,
        "data_kinds": output.data_kinds,
        "data_notes": output.data_notes,
        "filters_without_input": output.no_input,
        "adaptations": msgspec.to_builtins(output.adaptations),
        "market_events": output.market_events,
        "recorded_events": len(output.events),
        "report": msgspec.to_builtins(report),
    }
    (folder / "report.json").write_bytes(msgspec.json.format(msgspec.json.encode(summary)))
    _trades_csv(report.trades, folder / "trades.csv")
    _equity_png(report, folder / "equity.png")
    _trades_png(report.trades, output.events, folder / "trades.png")
    (folder / "report.html").write_text(_html(output, report, folder), encoding="utf-8")
    return folder


def _trades_csv(trades: Sequence[Trade], path: Path) -> None:
    fields = list(Trade.__struct_fields__)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(fields)
        for trade in trades:
            writer.writerow([getattr(trade, f) for f in fields])


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _equity_png(report: Report, path: Path) -> None:
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    times = [_dt(report.start_ms)] + [_dt(t) for t, _ in report.equity_curve] + [_dt(report.end_ms)]
    values = [report.start_equity] + [e for _, e in report.equity_curve] + [report.end_equity]
    top.step(times, values, where="post", color="tab:blue")
    top.set_ylabel("equity (realised)")
    peak, drawdown = values[0], []
    for value in values:
        peak = max(peak, value)
        drawdown.append(-(peak - value) / peak * 100 if peak else 0.0)
    bottom.fill_between(times, drawdown, step="post", color="tab:red", alpha=0.4)
    bottom.set_ylabel("drawdown %")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _trades_png(trades: Sequence[Trade], events: Sequence[RecordedEvent], path: Path) -> None:
    shown = list(trades[:MAX_TRADE_CHARTS])
    cols = 3
    rows = max(1, (len(shown) + cols - 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(12, 3 * rows), squeeze=False)
    for ax in axes.flat:
        ax.set_visible(False)
    for ax, trade in zip(axes.flat, shown, strict=False):
        ax.set_visible(True)
        _trade_chart(ax, trade, events)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _trade_chart(ax: Axes, trade: Trade, events: Sequence[RecordedEvent]) -> None:
    span = max(trade.closed_ts_ms - trade.opened_ts_ms, 60_000)
    lo, hi = trade.opened_ts_ms - 2 * span, trade.closed_ts_ms + span
    closes = [
        (e.data.close_ts_ms, e.data.close)
        for e in events
        if isinstance(e.data, Candle)
        and e.data.symbol == trade.symbol
        and e.data.timeframe == "1m"
        and lo <= e.data.close_ts_ms <= hi
    ]
    level = next(
        (
            e.data.resistance.price
            for e in reversed(events)
            if isinstance(e.data, LevelsUpdated)
            and e.data.symbol == trade.symbol
            and e.data.open_ts_ms <= trade.opened_ts_ms
        ),
        None,
    )
    if closes:
        ax.plot([_dt(t) for t, _ in closes], [c for _, c in closes], color="black", lw=1)  # type: ignore[arg-type]
    ax.axhline(trade.entry_price, color="tab:blue", lw=1, label="entry")
    if trade.stop_price:
        ax.axhline(trade.stop_price, color="tab:red", lw=1, ls="--", label="stop")
    if trade.target_price:
        ax.axhline(trade.target_price, color="tab:green", lw=1, ls="--", label="target")
    if level:
        ax.axhline(level, color="tab:orange", lw=1, ls=":", label="level")
    ax.axvspan(_dt(trade.opened_ts_ms), _dt(trade.closed_ts_ms), color="tab:blue", alpha=0.1)  # type: ignore[arg-type]
    ax.set_title(f"{trade.symbol} {trade.realized_r:+.2f} R ({trade.reason})", fontsize=9)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6)


def _png(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def _perf_rows(groups: dict[str, Performance]) -> str:
    rows = []
    for name, perf in groups.items():
        rows.append(
            f"<tr><td>{html.escape(name)}</td><td>{perf.trades}</td><td>{_f(perf.win_rate)}</td>"
            f"<td>{_f(perf.average_r)}</td><td>{_f(perf.expectancy_quote)}</td>"
            f"<td>{_f(perf.profit_factor)}</td><td>{_f(perf.net_quote)}</td></tr>"
        )
    return "".join(rows)


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _html(output: RunOutput, report: Report, folder: Path) -> str:
    perf = report.overall
    head = "<tr><th></th><th>trades</th><th>win rate</th><th>avg R</th><th>expectancy</th>"
    head += "<th>profit factor</th><th>net</th></tr>"
    figures = {
        "trades": perf.trades,
        "win rate": _f(perf.win_rate),
        "average R": _f(perf.average_r),
        "expectancy (quote)": _f(perf.expectancy_quote),
        "profit factor": _f(perf.profit_factor),
        "Sharpe": _f(report.sharpe),
        "Sortino": _f(report.sortino),
        "max drawdown": f"{report.max_drawdown_quote:.4g} ({report.max_drawdown_frac:.2%})",
        "exposure": f"{report.exposure:.1%}",
        "signals": report.signals,
        "positions open at the end": report.open_positions,
    }
    facts = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in figures.items())
    rejected = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{v}</td></tr>"
        for k, v in report.rejected_by_check.items()
    )
    denied = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{v}</td></tr>" for k, v in report.denied_by_limit.items()
    )
    adapted = "".join(
        f"<li><code>{html.escape(a.setting)}</code>: {html.escape(str(a.was))} → "
        f"{html.escape(str(a.now))} ({html.escape(a.reason)})</li>"
        for a in output.adaptations
    )
    trades = "".join(
        f"<tr><td>{t.symbol}</td><td>{_dt(t.opened_ts_ms):%Y-%m-%d %H:%M:%S}</td>"
        f"<td>{_dt(t.closed_ts_ms):%H:%M:%S}</td><td>{t.entry_price:.6g}</td>"
        f"<td>{t.exit_price:.6g}</td><td>{t.qty:.6g}</td><td>{t.realized_quote:.4f}</td>"
        f"<td>{t.realized_r:+.2f}</td><td>{t.reason}</td></tr>"
        for t in report.trades
    )
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>Backtest {output.run_id}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}}</style></head><body>
<h1>Backtest {output.run_id}</h1>
<p>Preset <code>{html.escape(output.preset.ref())}</code> on {", ".join(output.symbols)};
data: {html.escape(", ".join(output.data_kinds))}; {output.market_events} market events.</p>
<p>Filters without input: {html.escape(", ".join(output.no_input) or "none")}</p>
<h2>Preset adaptations</h2><ul>{adapted or "<li>none</li>"}</ul>
<h2>Performance</h2><table>{facts}</table>
<img src="data:image/png;base64,{_png(folder / "equity.png")}">
<h2>Per preset</h2><table>{head}{_perf_rows(report.by_preset)}</table>
<h2>Per symbol</h2><table>{head}{_perf_rows(report.by_symbol)}</table>
<h2>Signals rejected, per failed check</h2><table>{rejected}</table>
<h2>Intents denied, per risk limit</h2><table>{denied}</table>
<h2>Trades</h2><table><tr><th>symbol</th><th>opened</th><th>closed</th><th>entry</th>
<th>exit</th><th>qty</th><th>P&amp;L</th><th>R</th><th>exit</th></tr>{trades}</table>
<img src="data:image/png;base64,{_png(folder / "trades.png")}">
</body></html>"""
