"""`breakout scan --preset P [--symbols A,B] [--exchange E]`: scan now, from what the store holds.

Each symbol's latest ticker, book metrics, activity and indicators are read from the tails of
its streams and folded into the same `SymbolView`s the service keeps; the same pure scanner
ranks them. Nothing is recorded. Without `--symbols`, the symbols of the preset's last recorded
scan are scanned. With `--request`, a `ScanRequested` is recorded instead: the running service
answers with a recorded scan (`trigger="on_demand"`, on `scan.ranked.<preset>`).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated
from uuid import uuid4

import typer
from rich.table import Table
from rich.text import Text

from breakout.common.config import InfraSettings
from breakout.common.events import (
    Event,
    NewEvent,
    ScanCompleted,
    ScanRequested,
    ctl_stream,
    feat_stream,
    md_stream,
    scan_stream,
)
from breakout.common.events.sig import Check, ScanRow
from breakout.common.presets import Preset, PresetError, load_preset
from breakout.common.store.port import EventStore
from breakout.common.store.postgres import PostgresEventStore
from breakout.signals.console import console
from breakout.signals.scanner import scan_rows
from breakout.signals.view import SymbolView, fold_market

# How far back each stream's tail is read: enough for the latest of every timeframe.
TAILS = {"book": 1, "activity": 30, "indicators": 16}


async def _tail(store: EventStore, stream: str, count: int) -> list[Event]:
    version = await store.stream_version(stream)
    if version == 0:
        return []
    recorded = await store.read_stream(stream, after_version=max(0, version - count), limit=count)
    return [r.data for r in recorded]


async def read_view(store: EventStore, exchange: str, symbol: str) -> SymbolView:
    """A symbol's view as of the latest events in the store."""
    view = SymbolView(exchange=exchange, symbol=symbol)
    events = await _tail(store, md_stream("ticker", exchange, symbol), 1)
    for kind, count in TAILS.items():
        events += await _tail(store, feat_stream(kind, exchange, symbol), count)
    for event in events:
        fold_market(view, event)
    return view


async def last_scanned(store: EventStore, preset: str) -> list[str]:
    """The symbols of the preset's last recorded scan."""
    found = await _tail(store, scan_stream(preset), 1)
    return (
        [row.symbol for row in found[-1].rows]
        if found and isinstance(found[-1], ScanCompleted)
        else []
    )


def _cell(check: Check) -> Text:
    if check.value is None:
        return Text("—" if check.passed else "n/a", style="dim" if check.passed else "red")
    text = f"{check.value:.4g}"
    return Text(text, style="green" if check.passed else "bold red")


def scan_table(preset: Preset, rows: list[ScanRow], exchange: str) -> Table:
    """The ranked rows, one column per filter (red: failed, dim: not required)."""
    table = Table(title=f"scan of {preset.ref()} on {exchange}")
    table.add_column("rank", justify="right")
    table.add_column("symbol")
    table.add_column("score", justify="right")
    names = [check.name for check in rows[0].checks] if rows else []
    for name in names:
        table.add_column(name, justify="right")
    for row in rows:
        cells: list[str | Text] = [
            str(row.rank) if row.rank else "-",
            Text(row.symbol, style="bold" if row.passed else "dim"),
            f"{row.score:+.3f}" if row.score is not None else "-",
        ]
        table.add_row(*cells, *(_cell(check) for check in row.checks))
    return table


async def scan_from_store(
    preset: Preset, exchange: str, symbols: list[str], database_url: str
) -> tuple[list[ScanRow], list[str]]:
    """Read the symbols' views and rank them with the preset."""
    store = await PostgresEventStore.connect(database_url)
    try:
        chosen = symbols or await last_scanned(store, preset.name)
        views = [await read_view(store, exchange, symbol) for symbol in chosen]
    finally:
        await store.close()
    return scan_rows(views, preset)


async def request_scan(preset: str, database_url: str) -> None:
    """Record a `ScanRequested` for the running signals service to answer."""
    store = await PostgresEventStore.connect(database_url)
    try:
        request = ScanRequested(preset=preset, requested_by="cli", reason="breakout scan --request")
        # A random id on purpose: each request is a new operator action, never a retry.
        new = NewEvent(
            event_id=uuid4(), data=request, occurred_at=datetime.now(UTC), producer="cli"
        )
        await store.append(ctl_stream("scan"), [new])
    finally:
        await store.close()


def scan(
    preset: Annotated[str, typer.Option("--preset", help="Preset name or file.")],
    symbols: Annotated[str, typer.Option(help="A,B,C (default: the last scan's).")] = "",
    exchange: Annotated[str, typer.Option(help="Venue name in the events.")] = "binance",
    request: Annotated[
        bool, typer.Option("--request", help="Ask the running service to scan and record it.")
    ] = False,
) -> None:
    """Rank the symbols now with a preset's filters and score (from the store)."""
    try:
        loaded = load_preset(preset)
    except PresetError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    url = InfraSettings.from_env().database_url
    if request:
        asyncio.run(request_scan(loaded.name, url))
        typer.echo(f"scan of {loaded.name} requested (see scan.ranked.{loaded.name})")
        return
    wanted = [s.strip().upper() for s in symbols.split(",") if s.strip()]
    rows, candidates = asyncio.run(scan_from_store(loaded, exchange, wanted, url))
    if not rows:
        typer.echo(
            "nothing to scan: pass --symbols (no scan of this preset recorded yet)", err=True
        )
        raise typer.Exit(1)
    console().print(scan_table(loaded, rows, exchange))
    typer.echo(f"candidates: {', '.join(candidates) or 'none'}")
