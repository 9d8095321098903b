"""Trading commands of the `breakout` CLI: trade, positions, orders, kill, reset-kill.

Mounted on `breakout` by `breakout.common.cli` when this package is installed. `kill` and
`reset-kill` only append operator commands (`ctl.kill`, `ctl.kill_reset`); the risk service
decides, and answers with `KillSwitchTripped` / `KillSwitchReset`. `positions` and `orders` are
read-only views folded from the store.
"""

from __future__ import annotations

import asyncio
import getpass
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from breakout.common.config import InfraSettings
from breakout.common.events import (
    Event,
    KillRequested,
    KillResetRequested,
    NewEvent,
    OrderSubmitted,
    PositionClosed,
    PositionOpened,
    PositionReduced,
    StopMoved,
    ctl_stream,
)
from breakout.common.events.ctl_ops import KillLevel
from breakout.common.store.port import EventFilter
from breakout.common.store.postgres import PostgresEventStore
from breakout.execution.broker import OrderView

console = Console()


def trade(
    preset: Annotated[list[str], typer.Option(help="Preset(s) to trade.")],
    symbols: Annotated[str, typer.Option(help="Comma-separated exchange symbols.")] = "BTCUSDT",
    live: Annotated[bool, typer.Option("--live/--paper", help="Paper (default) or live.")] = False,
    i_understand_this_trades_real_money: Annotated[
        bool, typer.Option("--i-understand-this-trades-real-money", help="Required for --live.")
    ] = False,
) -> None:
    """Run risk and execution for PRESET (paper unless --live) until Ctrl-C."""
    from breakout.execution.trading import run_trading  # noqa: PLC0415 - heavy imports

    names = tuple(s.strip().upper() for s in symbols.split(",") if s.strip())
    code = run_trading(
        tuple(preset), names, live=live, confirmed=i_understand_this_trades_real_money
    )
    raise typer.Exit(code)


def kill(
    level: Annotated[str, typer.Option(help="entries: no new entries; flatten: close all, halt.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the log).")] = "",
) -> None:
    """Ask the risk service to trip the kill switch."""
    if level not in ("entries", "flatten"):
        raise typer.BadParameter("--level is entries or flatten")
    chosen: KillLevel = "entries" if level == "entries" else "flatten"
    asyncio.run(
        _append(ctl_stream("kill"), KillRequested(level=chosen, requested_by=_who(), reason=reason))
    )
    typer.echo(f"kill ({level}) requested; the risk service answers with risk.kill")


def reset_kill(reason: Annotated[str, typer.Option(help="Why (kept in the log).")] = "") -> None:
    """Ask the risk service to reset the kill switch."""
    asyncio.run(
        _append(ctl_stream("kill_reset"), KillResetRequested(requested_by=_who(), reason=reason))
    )
    typer.echo("kill switch reset requested")


def positions(
    show_all: Annotated[bool, typer.Option("--all", help="Closed ones too.")] = False,
) -> None:
    """Positions from the log: open ones (and closed ones with --all)."""
    rows = asyncio.run(_positions())
    table = Table("position", "symbol", "qty", "entry", "stop", "state", "P&L quote", "P&L R")
    for row in rows.values():
        if show_all or row["state"] == "open":
            table.add_row(
                *(
                    str(row[k])
                    for k in ("id", "symbol", "qty", "entry", "stop", "state", "pnl", "r")
                )
            )
    console.print(table)


def orders(
    show_all: Annotated[bool, typer.Option("--all", help="Finished ones too.")] = False,
) -> None:
    """Orders from the log: working ones (and finished ones with --all)."""
    views = asyncio.run(_orders())
    table = Table("order", "symbol", "purpose", "side", "type", "qty", "filled", "state")
    for order_id, view in views.items():
        if show_all or view.terminal is None:
            sub = view.submitted
            state = view.terminal or ("acknowledged" if view.exchange_order_id else "submitted")
            table.add_row(
                order_id,
                sub.symbol,
                sub.purpose,
                sub.side,
                sub.order_type,
                str(sub.qty),
                str(view.cum_qty),
                state,
            )
    console.print(table)


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except OSError:
        return "cli"


async def _append(stream: str, event: Event) -> None:
    store = await PostgresEventStore.connect(InfraSettings.from_env().database_url, max_size=1)
    try:
        new = NewEvent(
            event_id=uuid.uuid4(), data=event, occurred_at=datetime.now(UTC), producer=_who()
        )
        await store.append(stream, [new])
    finally:
        await store.close()


async def _read(category: str) -> list[tuple[str, Event]]:
    store = await PostgresEventStore.connect(InfraSettings.from_env().database_url, max_size=1)
    found: list[tuple[str, Event]] = []
    cursor = 0
    try:
        while True:
            batch = await store.read_all(
                after=cursor, limit=5000, filter=EventFilter(categories=(category,))
            )
            found += [(e.stream.split("-", 1)[1], e.data) for e in batch]
            if len(batch) < 5000:
                return found
            cursor = batch[-1].position
    finally:
        await store.close()


async def _orders() -> dict[str, OrderView]:
    views: dict[str, OrderView] = {}
    for order_id, event in await _read("order"):
        if isinstance(event, OrderSubmitted):
            views.setdefault(order_id, OrderView(submitted=event))
        elif order_id in views:
            views[order_id].apply(event)
    return views


async def _positions() -> dict[str, dict[str, object]]:
    rows: dict[str, dict[str, object]] = {}
    for pid, event in await _read("position"):
        match event:
            case PositionOpened():
                rows[pid] = {
                    "id": pid[:12],
                    "symbol": event.symbol,
                    "qty": event.qty,
                    "entry": event.entry_price,
                    "stop": event.stop_price,
                    "state": "open",
                    "pnl": Decimal(0),
                    "r": Decimal(0),
                }
            case PositionReduced(remaining_qty=qty) if pid in rows:
                rows[pid]["qty"] = qty
            case StopMoved(new_stop=stop) if pid in rows:
                rows[pid]["stop"] = stop
            case PositionClosed() if pid in rows:
                rows[pid].update(
                    state=f"closed ({event.reason})",
                    qty=event.residual_qty,
                    pnl=round(event.realized_quote, 2),
                    r=round(event.realized_r, 2),
                )
            case _:
                pass
    return rows
