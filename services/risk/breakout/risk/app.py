"""`breakout-risk`: the risk core as a process application (sizing, limits, kill switch).

    breakout-risk run --preset breakout_v1 --preset high_liquidity_top30

Infrastructure from DATABASE_URL / NATS_URL / BREAKOUT_BUS_PREFIX.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from breakout.common.config import InfraSettings
from breakout.common.runtime.bootstrap import run_process_application
from breakout.risk.config import presets_from_env
from breakout.risk.core import RiskCore

CONSUMER = "risk"
cli = typer.Typer(name="breakout-risk", no_args_is_help=True, add_completion=False)


@cli.command()
def run(
    preset: Annotated[list[str] | None, typer.Option(help="Preset(s) to size for.")] = None,
    health_port: Annotated[int | None, typer.Option(help="Serve /health and /metrics.")] = None,
) -> None:
    """Run the risk service until SIGTERM / Ctrl-C."""
    core = RiskCore(presets_from_env(preset))
    asyncio.run(
        run_process_application(CONSUMER, core, InfraSettings.from_env(), health_port=health_port)
    )


@cli.command()
def check(preset: Annotated[list[str] | None, typer.Option()] = None) -> None:
    """Load and validate the presets, print their refs."""
    for loaded in presets_from_env(preset):
        typer.echo(loaded.ref())


if __name__ == "__main__":
    cli()
