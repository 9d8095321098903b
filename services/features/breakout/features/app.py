"""`breakout-features`: run the features core as a process application over Postgres and NATS.

Configuration from the environment: `DATABASE_URL`, `NATS_URL`, `BREAKOUT_BUS_PREFIX` (the
infrastructure), `FEATURES_CONFIG` (JSON of `FeaturesConfig`, optional), `FEATURES_SYMBOLS`
(`BTCUSDT,ETHUSDT`: run for this symbol group only), `FEATURES_GROUP` (the group's name, which
names the durable consumer), `FEATURES_HEALTH_PORT` (serve /health and /metrics).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from typing import Annotated

import msgspec
import typer

from breakout.common.config import InfraSettings
from breakout.common.runtime.bootstrap import run_process_application
from breakout.features.config import FeaturesConfig
from breakout.features.core import FeaturesCore

cli = typer.Typer(name="breakout-features", no_args_is_help=True, add_completion=False)


def consumer_name(config: FeaturesConfig, group: str | None) -> str:
    """The durable consumer's name: one per symbol group, so groups keep their own checkpoints."""
    if not config.symbols:
        return "features"
    if group:
        return f"features-{group}"
    digest = hashlib.sha256(",".join(sorted(config.symbols)).encode()).hexdigest()[:10]
    return f"features-{digest}"


@cli.command()
def run(
    health_port: Annotated[
        int | None, typer.Option(envvar="FEATURES_HEALTH_PORT", help="Serve /health, /metrics.")
    ] = None,
) -> None:
    """Consume md.* events and record feat.* events until SIGTERM."""
    config = FeaturesConfig.from_env()
    name = consumer_name(config, os.environ.get("FEATURES_GROUP"))
    core = FeaturesCore(config)
    settings = InfraSettings.from_env()
    asyncio.run(run_process_application(name, core, settings, health_port=health_port))


@cli.command()
def show_config() -> None:
    """Print the configuration the service would run with (JSON) and its consumer name."""
    config = FeaturesConfig.from_env()
    typer.echo(f"# consumer: {consumer_name(config, os.environ.get('FEATURES_GROUP'))}")
    typer.echo(msgspec.json.format(msgspec.json.encode(config), indent=2))
