"""`breakout-signals`: run one preset's scanner and entry rules as a process application.

    breakout-signals run            consume feat.* / md.candle / md.ticker / regime / ctl.pause
    breakout-signals show-config    the preset reference, consumer name and subjects

Configuration: `SIGNALS_PRESET`, `SIGNALS_EXCHANGE`, `SIGNALS_SYMBOLS`, `SIGNALS_GROUP` (see
`config.py`), `SIGNALS_HEALTH_PORT`, `SIGNALS_SNAPSHOT_EVERY` (events between snapshots,
20,000), and the infrastructure's `DATABASE_URL` / `NATS_URL` / `BREAKOUT_BUS_PREFIX`.
"""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import typer

from breakout.common.config import InfraSettings
from breakout.common.presets import PresetError
from breakout.common.runtime.application import RuntimeConfig
from breakout.common.runtime.bootstrap import run_process_application
from breakout.signals.config import SignalsConfig, consumer_name
from breakout.signals.core import SignalsCore
from breakout.signals.mlmodel import preset_model

cli = typer.Typer(name="breakout-signals", no_args_is_help=True, add_completion=False)


def build_core(config: SignalsConfig) -> SignalsCore:
    """The core for a configuration (the preset is loaded and validated here)."""
    preset = config.load()
    return SignalsCore(preset, config.exchange, config.symbols, ml=preset_model(preset))


def _core_or_exit(config: SignalsConfig) -> SignalsCore:
    try:
        return build_core(config)
    except PresetError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@cli.command()
def run(
    health_port: Annotated[
        int | None, typer.Option(envvar="SIGNALS_HEALTH_PORT", help="Serve /health, /metrics.")
    ] = None,
) -> None:
    """Consume features and market data; record scans and signals until SIGTERM."""
    config = SignalsConfig.from_env()
    core = _core_or_exit(config)
    name = consumer_name(core.preset, config)
    # Fetch and commit up to 1,024 messages at a time, as features do: signals read every
    # feature event of every symbol (a wall a second per symbol is usual), and most change no
    # decision, so the cost is the shell's per batch (a fetch, a commit at the writer lock),
    # which a bigger batch spreads thinner; caught up, a fetch returns what has arrived at once.
    snapshot_every = int(os.environ.get("SIGNALS_SNAPSHOT_EVERY", "20000"))
    runtime = RuntimeConfig(snapshot_every=snapshot_every, fetch_batch=1024, commit_batch=1024)
    settings = InfraSettings.from_env()
    asyncio.run(
        run_process_application(name, core, settings, config=runtime, health_port=health_port)
    )


@cli.command()
def show_config() -> None:
    """Print the preset reference, the consumer name and the subjects it would consume."""
    config = SignalsConfig.from_env()
    core = _core_or_exit(config)
    typer.echo(f"preset:   {core.ref}")
    typer.echo(f"exchange: {config.exchange}")
    typer.echo(f"consumer: {consumer_name(core.preset, config)}")
    typer.echo("subjects: " + " ".join(core.subjects))


if __name__ == "__main__":
    cli()
