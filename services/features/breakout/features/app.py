"""`breakout-features`: run the features core as a process application over Postgres and NATS.

Configuration from the environment: `DATABASE_URL`, `NATS_URL`, `BREAKOUT_BUS_PREFIX` (the
infrastructure), `FEATURES_CONFIG` (JSON of `FeaturesConfig`, optional), `FEATURES_SYMBOLS`
(`BTCUSDT,ETHUSDT`: run for these symbols only), `FEATURES_GROUP` (the group's name, which
names the durable consumer; without `FEATURES_SYMBOLS`, the symbols that group lists in ingest's
`INGEST_GROUPS`, and `unlisted` for every symbol no group lists), `FEATURES_HEALTH_PORT`
(serve /health and /metrics), `FEATURES_SNAPSHOT_EVERY` (events between state snapshots,
200,000).
`diag l2` and `diag levels` print what the detectors recorded for a symbol (the design's
`diag-l2` / `diag-levels`).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Awaitable, Callable
from typing import Annotated

import msgspec
import typer

from breakout.common.config import InfraSettings
from breakout.common.runtime.application import RuntimeConfig
from breakout.common.runtime.bootstrap import run_process_application
from breakout.common.store.postgres import PostgresEventStore
from breakout.features.config import FeaturesConfig
from breakout.features.core import FeaturesCore
from breakout.features.diag import l2_report, levels_report, read_l2, read_levels

cli = typer.Typer(name="breakout-features", no_args_is_help=True, add_completion=False)


def consumer_name(config: FeaturesConfig, group: str | None) -> str:
    """The durable consumer's name: one per symbol group, so groups keep their own checkpoints."""
    if not config.symbols and not config.exclude:
        return "features"
    if group:
        return f"features-{group}"
    owned = ",".join(sorted(config.symbols)) or "!" + ",".join(sorted(config.exclude))
    digest = hashlib.sha256(owned.encode()).hexdigest()[:10]
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
    # The state holds minutes of trades per symbol: snapshot it every ~minute at full load,
    # not every 10k events.
    snapshot_every = int(os.environ.get("FEATURES_SNAPSHOT_EVERY", "200000"))
    # Behind (a start-up's candle history, a restart), a bigger fetch is fewer commits, each
    # one a turn at the store's writer lock behind ingest's COPYs; caught up, a fetch returns
    # what has arrived at once, so the size costs no latency.
    runtime = RuntimeConfig(snapshot_every=snapshot_every, fetch_batch=1024, commit_batch=1024)
    asyncio.run(
        run_process_application(name, core, settings, config=runtime, health_port=health_port)
    )


@cli.command()
def show_config() -> None:
    """Print the configuration the service would run with (JSON) and its consumer name."""
    config = FeaturesConfig.from_env()
    typer.echo(f"# consumer: {consumer_name(config, os.environ.get('FEATURES_GROUP'))}")
    typer.echo(msgspec.json.format(msgspec.json.encode(config), indent=2))


diag = typer.Typer(no_args_is_help=True, help="What the detectors see, read from the store.")
cli.add_typer(diag, name="diag")
SymbolOption = Annotated[str, typer.Option("--symbol", help="e.g. BTCUSDT")]
ExchangeOption = Annotated[str, typer.Option("--exchange")]


async def _with_store(work: Callable[[PostgresEventStore], Awaitable[str]]) -> str:
    store = await PostgresEventStore.connect(InfraSettings.from_env().database_url)
    try:
        return await work(store)
    finally:
        await store.close()


@diag.command("l2")
def diag_l2(
    symbol: SymbolOption,
    minutes: Annotated[int, typer.Option(help="Exchange-time minutes back.")] = 120,
    exchange: ExchangeOption = "binance",
) -> None:
    """Book depth, trade activity and walls of the last minutes."""

    async def work(store: PostgresEventStore) -> str:
        events = await read_l2(store, exchange, symbol.upper(), minutes)
        return l2_report(symbol.upper(), minutes, events)

    typer.echo(asyncio.run(_with_store(work)))


@diag.command("levels")
def diag_levels(symbol: SymbolOption, exchange: ExchangeOption = "binance") -> None:
    """The latest levels, indicators and liquidity levels."""

    async def work(store: PostgresEventStore) -> str:
        found = await read_levels(store, exchange, symbol.upper())
        return levels_report(symbol.upper(), *found)

    typer.echo(asyncio.run(_with_store(work)))
