"""`breakout replay` and `breakout audit position|order|signal ID`, on the store's database.

    breakout replay [--from X] [--to Y] [--service signals ...] [--preset P ...] [--json]
    breakout audit position ID [--json]

`--from` / `--to` are global positions, or ISO times (the position recorded last before them).
Exit codes of `replay`: 0 no divergence, 1 a divergence, 2 a consumer could not be replayed.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
import typer
from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from breakout.backtest.audit import AuditFailed, AuditTrail, Step, Subject, audit
from breakout.backtest.auditlog import PostgresAuditLog
from breakout.backtest.consumers import SERVICES, CoreUnavailable, build_core, service_of
from breakout.backtest.replay import ConsumerReport, ReplayReport, replay
from breakout.common.config import InfraSettings
from breakout.common.runtime.core import Core
from breakout.common.store.postgres import PostgresEventStore

DatabaseOption = Annotated[
    str | None, typer.Option("--database-url", help="The store (default: DATABASE_URL).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _console() -> Console:
    # Piped output keeps whole lines (no terminal width to squeeze tables into).
    return Console(width=None if sys.stdout.isatty() else 1000)


async def _position(reads: PostgresAuditLog, bound: str | None) -> int | None:
    if bound is None:
        return None
    if bound.strip().isdigit():
        return int(bound)
    when = datetime.fromisoformat(bound)
    return await reads.position_at(when if when.tzinfo else when.replace(tzinfo=UTC))


async def run_replay(
    database_url: str,
    services: Sequence[str],
    presets: Sequence[str],
    start: str | None,
    end: str | None,
) -> ReplayReport:
    """Replay every recorded consumer of `services` over the window, from the store at the URL."""
    store = await PostgresEventStore.connect(database_url, max_size=2)
    reads = await PostgresAuditLog.connect(database_url)
    try:
        from_position = await _position(reads, start) or 0
        to_position = await _position(reads, end)
        cores: dict[str, Core] = {}
        skipped: dict[str, str] = {}
        for consumer in await reads.checkpoints():
            if service_of(consumer) not in services:
                continue
            try:
                cores[consumer] = build_core(consumer, presets)
            except CoreUnavailable as exc:
                skipped[consumer] = str(exc)
        report = await replay(
            store, reads, cores, from_position=from_position, to_position=to_position
        )
        report.skipped = skipped
        return report
    finally:
        await reads.close()
        await store.close()


def replay_command(  # noqa: PLR0917 - typer maps each option to a parameter
    from_: Annotated[
        str | None, typer.Option("--from", help="Start after this position or ISO time.")
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="End at this position or ISO time.")
    ] = None,
    service: Annotated[
        list[str] | None, typer.Option("--service", help="features, signals, risk, execution.")
    ] = None,
    preset: Annotated[
        list[str] | None, typer.Option("--preset", help="Preset(s) the services ran with.")
    ] = None,
    database_url: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Re-run the decision cores over their recorded inputs; report every divergence."""
    services = service or list(SERVICES)
    unknown = sorted(set(services) - set(SERVICES))
    if unknown:
        raise typer.BadParameter(f"unknown service(s) {unknown}; choose from {list(SERVICES)}")
    url = database_url or InfraSettings.from_env().database_url
    report = asyncio.run(run_replay(url, services, preset or [], from_, to))
    if as_json:
        typer.echo(msgspec.json.encode(replay_json(report)).decode())
    else:
        print_replay(_console(), report)
    if report.divergences:
        raise typer.Exit(1)
    if report.skipped or not report.consumers:
        raise typer.Exit(2)


def replay_json(report: ReplayReport) -> dict[str, Any]:
    """The report as JSON-ready builtins, with each consumer's first divergent input."""
    consumers = []
    for consumer in report.consumers:
        built = msgspec.to_builtins(consumer)
        built["first_divergent_input"] = msgspec.to_builtins(consumer.first_divergent_input)
        consumers.append(built)
    return {"divergences": report.divergences, "consumers": consumers, "skipped": report.skipped}


def print_replay(console: Console, report: ReplayReport) -> None:
    """Counts per consumer and type, then every divergence with its fields and its input."""
    table = Table(title="replay: recorded vs recomputed outputs")
    for column in ("consumer", "window", "state from", "inputs", "type"):
        table.add_column(column)
    for column in ("recorded", "recomputed", "matched", "diverged"):
        table.add_column(column, justify="right")
    for consumer in report.consumers:
        diverged = _diverged_by_type(consumer)
        window = f"({consumer.from_position}, {consumer.to_position}]"
        head = [consumer.consumer, window, consumer.started_from, str(consumer.inputs)]
        if not consumer.counts:
            table.add_row(*head, "-", "0", "0", "0", "0")
        for index, (kind, counts) in enumerate(sorted(consumer.counts.items())):
            cells = head if index == 0 else ["", "", "", ""]
            style = "bold red" if diverged.get(kind) else None
            table.add_row(
                *cells,
                kind,
                str(counts.recorded),
                str(counts.recomputed),
                str(counts.matched),
                str(diverged.get(kind, 0)),
                style=style,
            )
    console.print(table)
    for replayed in report.consumers:
        for d in replayed.divergences:
            where = (
                f"input {d.input.type} at {d.input.position} ({d.input.event_id})"
                if d.input
                else "input unknown"
            )
            console.print(
                f"[bold red]{d.kind}[/] {replayed.consumer} {d.type} {d.event_id} "
                f"on {d.stream} <- {where}"
            )
            for diff in d.diffs:
                console.print(
                    f"    {diff.path}: recorded {diff.recorded!r} -> "
                    f"recomputed {diff.recomputed!r}",
                    markup=False,
                )
        first = replayed.first_divergent_input
        if first is not None:
            console.print(
                f"[bold]{replayed.consumer}: first differing input[/] {first.type} at "
                f"position {first.position} ({first.event_id}) on {first.stream}"
            )
    for name, why in report.skipped.items():
        console.print(f"[yellow]not replayed[/] {name}: {why}")
    verdict = (
        "[green]no divergence[/]"
        if not report.divergences
        else f"[bold red]{report.divergences} divergence(s)[/]"
    )
    console.print(verdict)


def _diverged_by_type(consumer: ConsumerReport) -> dict[str, int]:
    counts: dict[str, int] = {}
    for divergence in consumer.divergences:
        counts[divergence.type] = counts.get(divergence.type, 0) + 1
    return counts


audit_app = typer.Typer(no_args_is_help=True, help="The causation chain of a decision.")


async def run_audit(database_url: str, subject: Subject, key: str) -> AuditTrail:
    """The audit trail of `subject` `key` in the store at the URL."""
    store = await PostgresEventStore.connect(database_url, max_size=2)
    reads = await PostgresAuditLog.connect(database_url)
    try:
        return await audit(store, reads, subject, key)
    finally:
        await reads.close()
        await store.close()


def _audit(subject: Subject, key: str, database_url: str | None, as_json: bool) -> None:
    url = database_url or InfraSettings.from_env().database_url
    try:
        trail = asyncio.run(run_audit(url, subject, key))
    except AuditFailed as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(msgspec.json.encode(trail).decode())
        return
    _console().print(audit_tree(trail))


def audit_tree(trail: AuditTrail) -> Tree:
    """The trail as a rich tree: each event, its reasons, then what caused it, indented."""
    root = Tree(f"[bold]{trail.subject} {trail.subject_id}[/]")
    for step in trail.events:
        _branch(root, step, "causes")
    if trail.effects:
        forward = root.add("[bold]led to[/]")
        for step in trail.effects:
            _branch(forward, step, "effects")
    return root


def _branch(parent: Tree, step: Step, direction: str) -> None:
    link = {"caused": "<- ", "order": "<- (order) ", "subject": ""}.get(step.link, "")
    label = (
        f"{link}[bold]{step.type}[/] {step.occurred_at.isoformat()} by {step.producer} "
        f"[dim]#{step.position} {step.stream} {step.event_id}[/]"
    )
    if step.shown_above:
        parent.add(label + " [dim](shown above)[/]")
        return
    node = parent.add(label)
    for name, value in step.reasons.items():
        node.add(_reason(name, value), highlight=False)
    if step.missing_cause is not None:
        node.add(f"[yellow]cause {step.missing_cause} not in the store (archived?)[/]")
    for child in step.causes if direction == "causes" else step.effects:
        _branch(node, child, direction)


def _reason(name: str, value: Any) -> str:
    if name == "checks" and isinstance(value, list):
        parts = [
            f"{c.get('name')} {c.get('value')} {c.get('op')} {c.get('threshold')} "
            + ("ok" if c.get("passed") else "FAILED")
            for c in value
            if isinstance(c, dict)
        ]
        return "checks: " + "; ".join(parts)
    if isinstance(value, dict):
        return f"{name}: " + ", ".join(f"{k}={v}" for k, v in value.items())
    return f"{name}: {value}"


@audit_app.command("position")
def audit_position(
    position_id: str, database_url: DatabaseOption = None, as_json: JsonOption = False
) -> None:
    """A position's events, each walked back through fills, order, intent, signal to market data."""
    _audit("position", position_id, database_url, as_json)


@audit_app.command("order")
def audit_order(
    order_id: str, database_url: DatabaseOption = None, as_json: JsonOption = False
) -> None:
    """An order's events (by client order id), walked back to market data."""
    _audit("order", order_id, database_url, as_json)


@audit_app.command("signal")
def audit_signal(
    signal_id: str, database_url: DatabaseOption = None, as_json: JsonOption = False
) -> None:
    """A signal walked back to market data, and forward to what it caused."""
    _audit("signal", signal_id, database_url, as_json)
