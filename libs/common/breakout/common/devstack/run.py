"""`breakout run` (what `make run` runs): the stack, the migrations, every service, a summary.

1. NATS and Postgres: reused where the settings reach them, else started (`open_stack`).
2. The migrations (what `breakout db migrate` applies), in this process.
3. Every service of `plan_services` whose console script is installed, each supervised
   (`supervisor.run_services`); the ones that cannot start are listed with the reason.
4. The dashboard's address, then a running summary of the store, until Ctrl-C / SIGTERM;
   then every service is stopped, and the servers this run started.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from breakout.common.config import InfraSettings
from breakout.common.devstack import Stack, open_stack
from breakout.common.devstack.probe import redact
from breakout.common.devstack.processes import free_port
from breakout.common.devstack.services import (
    DEFAULT_GATEWAY_PORT,
    DEFAULT_PRESET,
    DEFAULT_SYMBOL_GROUPS,
    DEMO_PRESET,
    SIM_SCENARIOS,
    Exchange,
    Plan,
    RunOptions,
    ServiceSpec,
    parse_groups,
    parse_only,
    plan_services,
    resolve,
    selected,
)
from breakout.common.devstack.summary import summarise_store
from breakout.common.devstack.supervisor import Report, ServiceRunner, run_services
from breakout.common.store.migrate import migrate

STYLES = {"ready": "green", "started": "dim", "exited": "bold red", "restarting": "yellow",
          "not restarted": "bold red", "not ready": "yellow", "killed": "red",
          "not started": "red"}  # fmt: skip


def reporter(console: Console) -> Report:
    """A `report(service, status, detail)` printing one coloured line per happening."""

    def report(service: str, status: str, detail: str) -> None:
        style = STYLES.get(status, "white")
        when = datetime.now().strftime("%H:%M:%S")
        console.print(f"{when} [bold]{service:<14}[/bold] [{style}]{status}[/{style}] {detail}")

    return report


def split_plan(
    plan: Plan, only: frozenset[str] | None
) -> tuple[list[ServiceSpec], list[tuple[str, str]]]:
    """The specs that can start, and (name, reason) for the ones that cannot."""
    ready: list[ServiceSpec] = []
    skipped: list[tuple[str, str]] = []
    for spec in plan.services:
        if not selected(spec, only):
            continue
        resolved, reason = resolve(spec)
        if resolved is None:
            skipped.append((spec.name, reason))
        else:
            ready.append(resolved)
    return ready, skipped


def run_system(
    options: RunOptions, workdir: Path, *, only: frozenset[str] | None, summary: bool
) -> int:
    """Bring the whole system up and keep it up until Ctrl-C or SIGTERM; return an exit code."""
    # Lines are never wrapped: a log file or a narrow pipe gets them whole.
    console = Console(highlight=False, soft_wrap=True)
    # httpx logs every readiness probe at INFO; the supervisor reports readiness itself.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Until the event loop takes over, Ctrl-C and SIGTERM (even if inherited as ignored, as in
    # a background job) unwind the `with`, which stops the servers it started.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with open_stack(InfraSettings.from_env(), workdir) as stack:
            code = _run_in_stack(console, stack, options, workdir, only=only, summary=summary)
            # Tearing the stack down must not be cut short by a second Ctrl-C.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
    except KeyboardInterrupt:
        console.print("interrupted while starting the stack")
        return 130
    console.print("[bold]stopped: every service, and the servers this run started[/bold]")
    return code


def _run_in_stack(
    console: Console,
    stack: Stack,
    options: RunOptions,
    workdir: Path,
    *,
    only: frozenset[str] | None,
    summary: bool,
) -> int:
    env = _stack_env(stack)
    _report_stack(console, stack)
    if not _migrate(console, env["DATABASE_URL"]):
        console.print("[bold red]migrations failed; nothing started[/bold red]")
        return 1
    plan = plan_services(options, free_port)
    _report_options(console, options)
    specs, skipped = split_plan(plan, only)
    for name, reason in skipped:
        reporter(console)(name, "not started", reason)
    return asyncio.run(
        _supervise(
            plan,
            skipped=dict(skipped),
            specs=specs,
            env={**env, **plan.env},
            workdir=workdir.resolve(),
            console=console,
            summary=summary,
        )
    )


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _stack_env(stack: Stack) -> dict[str, str]:
    settings = stack.settings
    return {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "NATS_URL": settings.nats_url,
        "BREAKOUT_BUS_PREFIX": settings.bus_prefix,
        # Service logs go to files: JSON lines are what an operator greps.
        "PYTHONUNBUFFERED": "1",
    }


def _report_stack(console: Console, stack: Stack) -> None:
    for component in stack.components:
        how = "reused" if component.origin == "reused" else f"started ({component.origin})"
        console.print(f"[bold]{component.name}[/bold]: {how} at {redact(component.url)}")


def _report_options(console: Console, options: RunOptions) -> None:
    if options.exchange == "sim":
        market = f"exchange_sim (seed {options.sim_seed}, speed {options.sim_speed}x)"
    else:
        market = "the real Binance (keys from EXCHANGE_API_KEY / EXCHANGE_API_SECRET)"
        if not (os.environ.get("EXCHANGE_API_KEY") and os.environ.get("EXCHANGE_API_SECRET")):
            console.print(
                "[yellow]EXCHANGE_API_KEY / EXCHANGE_API_SECRET are not set: public market"
                " data works, account reads (reconcile) will fail[/yellow]"
            )
    groups = "; ".join(f"{name}: {', '.join(syms)}" for name, syms in options.groups.items())
    console.print(f"[bold]market[/bold]: {market}; preset {options.preset}; paper trading")
    console.print(f"[bold]symbol groups[/bold] (one ingest each): {groups}")


def _migrate(console: Console, dsn: str) -> bool:
    # What `breakout db migrate` does, in this process: a second interpreter would spend
    # seconds of a loaded machine importing what this one has loaded already.
    try:
        applied = asyncio.run(migrate(dsn))
    except (OSError, asyncpg.PostgresError) as exc:
        console.print(f"[bold red]migrate: {type(exc).__name__}: {exc}[/bold red]")
        return False
    for name in applied:
        console.print(f"applied {name}")
    if not applied:
        console.print("schema is up to date")
    return True


async def _supervise(
    plan: Plan,
    *,
    skipped: Mapping[str, str],
    specs: Sequence[ServiceSpec],
    env: Mapping[str, str],
    workdir: Path,
    console: Console,
    summary: bool,
) -> int:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    tail = None
    if summary:
        tail = asyncio.create_task(summarise_store(env["DATABASE_URL"], console, stopping))

    def started(runners: Sequence[ServiceRunner]) -> None:
        _print_status(console, plan, runners, skipped, workdir)

    report = reporter(console)
    await run_services(specs, env, workdir / "logs", report, stopping=stopping, on_started=started)
    if tail is not None:
        await asyncio.gather(tail, return_exceptions=True)
    return 0


def _print_status(
    console: Console,
    plan: Plan,
    runners: Sequence[ServiceRunner],
    skipped: Mapping[str, str],
    workdir: Path,
) -> None:
    table = Table("service", "state", "health", title="services")
    running = {runner.spec.name: runner for runner in runners}
    for spec in plan.services:
        runner = running.get(spec.name)
        if spec.name in skipped:
            state = "[red]not started[/red] (see above)"
        elif runner is None:
            state = "[dim]left out (--only)[/dim]"
        elif runner.gave_up:
            state = "[red]stopped: not restarted[/red]"
        elif runner.process is not None and runner.process.returncode is not None:
            state = "[yellow]restarting[/yellow]"
        elif runner.ready.is_set():
            state = "[green]ready[/green]"
        else:
            state = "[yellow]starting[/yellow]"
        table.add_row(spec.name, state, spec.health_url if runner else "")
    console.print(table)
    console.print(f"logs: {workdir.resolve() / 'logs'}")
    if "gateway" in running:
        _print_dashboard(console, plan)
    else:
        console.print("[yellow]no dashboard: the gateway is not running (see above)[/yellow]")
    console.print("[bold]Ctrl-C stops everything.[/bold]")


def _operator_token() -> str:
    """The operator's own gateway token, if set ("" when a run must make its own)."""
    return os.environ.get("BREAKOUT_API_TOKEN") or os.environ.get("GATEWAY_TOKEN") or ""


def _print_dashboard(console: Console, plan: Plan) -> None:
    # The run's own token is shown here once, in the terminal only: it reaches the gateway
    # through its environment, never a command line (`ps`) or a log file.
    api_token = plan.api_token
    if not api_token:
        console.print(f"[bold green]dashboard: {plan.dashboard_url}[/bold green]")
        console.print("API token: the one in BREAKOUT_API_TOKEN / GATEWAY_TOKEN")
        return
    console.print(f"[bold green]dashboard: {plan.dashboard_url}#token={api_token}[/bold green]")
    console.print(
        f"API token (this run only): {api_token}  — the dashboard link carries it; for curl:"
        f" -H 'Authorization: Bearer {api_token}'"
    )


def run_command(  # noqa: PLR0917 - typer maps each option to a parameter
    workdir: Annotated[
        Path, typer.Option(help="Where started servers and service logs live.")
    ] = Path(".dev/stack"),
    preset: Annotated[
        str | None,
        typer.Option(
            envvar="PRESET",
            help=f"Strategy preset (default: {DEMO_PRESET} on exchange_sim, else "
            f"{DEFAULT_PRESET}).",
        ),
    ] = None,
    exchange: Annotated[
        str, typer.Option(envvar="EXCHANGE", help="sim (exchange_sim) or binance (keys from env).")
    ] = "sim",
    groups: Annotated[
        str, typer.Option(envvar="INGEST_GROUPS", help="Symbol groups: one ingest process each.")
    ] = DEFAULT_SYMBOL_GROUPS,
    gateway_port: Annotated[
        int, typer.Option(envvar="GATEWAY_PORT", help="Dashboard port (0: any free port).")
    ] = DEFAULT_GATEWAY_PORT,
    only: Annotated[
        str, typer.Option(help="Start only these services, e.g. `exchange-sim,relay,ingest`.")
    ] = "",
    summary: Annotated[bool, typer.Option(help="Print a running summary of the store.")] = True,
    sim_speed: Annotated[float, typer.Option(help="Simulated seconds per wall second.")] = 1.0,
    sim_seed: Annotated[
        int | None,
        typer.Option(help="Seed of the simulated market (default: a new one each run)."),
    ] = None,
    sim_scenario: Annotated[
        str,
        typer.Option(
            help="demo: scripted breakouts on the first six symbols and a risk-on macro world; "
            "none: the simulator's own random market."
        ),
    ] = "demo",
    features_per_group: Annotated[
        bool,
        typer.Option(help="One features process per symbol group (hundreds of symbols)."),
    ] = False,
) -> None:
    """Run the whole system on this machine (what `make run` runs) until Ctrl-C."""
    if exchange not in ("sim", "binance"):
        raise typer.BadParameter(f"EXCHANGE must be sim or binance, got {exchange!r}")
    chosen: Exchange = "sim" if exchange == "sim" else "binance"
    if sim_scenario not in SIM_SCENARIOS:
        raise typer.BadParameter(f"--sim-scenario must be one of {', '.join(SIM_SCENARIOS)}")
    try:
        table = parse_groups(groups)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if preset is None:
        preset = DEMO_PRESET if chosen == "sim" else DEFAULT_PRESET
    options = RunOptions(
        preset=preset,
        exchange=chosen,
        groups=table,
        gateway_port=gateway_port,
        # A new market each run by default: the simulator's trade ids come from its seed, and
        # the store skips an event id it already holds, so a repeated seed on a reused store
        # would record no trades until the ids passed the last run's.
        sim_seed=sim_seed if sim_seed is not None else secrets.randbelow(1_000_000),
        sim_speed=sim_speed,
        # The simulator's demo account exists for this run only; nothing is written down.
        sim_api_key=secrets.token_hex(16),
        sim_api_secret=secrets.token_hex(32),
        sim_scenario=sim_scenario,
        # The gateway's control endpoints (kill switch) need a token: one for this run unless
        # the operator set their own (which the gateway inherits, and which is never printed).
        api_token="" if _operator_token() else secrets.token_urlsafe(24),
        features_per_group=features_per_group,
    )
    raise typer.Exit(run_system(options, workdir, only=parse_only(only), summary=summary))
