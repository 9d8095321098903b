"""Composition root of the ingest service: builds the client, limiter, writer and store."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import ccxt.pro
import typer

from breakout.common.config import InfraSettings
from breakout.common.exchange import ccxt_config, pro_exchange
from breakout.common.leader import Leadership, PostgresLeaderLock
from breakout.common.logging import configure_logging
from breakout.common.runtime.service import run_until_signalled
from breakout.common.store.postgres import PostgresEventStore
from breakout.ingest.config import IngestConfig, config_from_env
from breakout.ingest.context import IngestContext
from breakout.ingest.ratelimit import RateLimiter
from breakout.ingest.service import IngestService
from breakout.ingest.writer import MarketDataWriter

cli = typer.Typer(name="breakout-ingest", add_completion=False, no_args_is_help=False)


def exchange_client(config: IngestConfig) -> ccxt.pro.Exchange:
    """The ccxt.pro client of one ingest process (keys from the environment)."""
    options = ccxt_config(
        config.exchange,
        config.base_url,
        api_key=os.environ.get("EXCHANGE_API_KEY"),
        secret=os.environ.get("EXCHANGE_API_SECRET"),
        enable_rate_limit=False,  # our limiter paces every REST call
    )
    # Added to the loopback options (spot only, no margin endpoints), never in place of them.
    options.setdefault("options", {})["tradesLimit"] = config.trades_cache
    return pro_exchange(config.exchange, options)


async def run_ingest(
    config: IngestConfig,
    settings: InfraSettings,
    *,
    health_port: int | None = None,
    stopping: asyncio.Event | None = None,
) -> None:
    """Ingest `config.group` into the store until signalled (a standby while another holds it)."""
    configure_logging(f"ingest.{config.group}")
    store = await PostgresEventStore.connect(settings.database_url)
    # One process per group at a time: a second one waits here as a hot standby.
    lock = PostgresLeaderLock(settings.database_url, f"ingest:{config.venue}:{config.group}")
    await lock.acquire()
    client = exchange_client(config)
    limiter = RateLimiter(capacity=config.rest_weight_per_min, window_s=60.0)
    writer = MarketDataWriter(store, config.group, flush_interval_s=config.flush_interval_s)
    service = IngestService(IngestContext(config, client, limiter, writer), store)
    try:
        await run_until_signalled(
            f"ingest.{config.group}",
            [service, Leadership(lock, f"ingest {config.group}")],
            {"ingest": service.health},
            health_port=health_port,
            stopping=stopping,
        )
    finally:
        await lock.release()
        await store.close()


@cli.command()
def run(
    group: Annotated[str | None, typer.Option(help="Symbol group (default: SYMBOL_GROUP).")] = None,
    health_port: Annotated[int | None, typer.Option(help="Serve /health and /metrics.")] = None,
) -> None:
    """Ingest one symbol group (groups come from INGEST_GROUPS, e.g. `a=BTCUSDT;b=ETHUSDT`)."""
    asyncio.run(
        run_ingest(config_from_env(group), InfraSettings.from_env(), health_port=health_port)
    )


if __name__ == "__main__":
    cli()
