"""`breakout-regime`: the regime service (feed pollers + the regime process application).

    breakout-regime run                 pollers and core in one process (the default shape)
    breakout-regime run --no-pollers    only the core (`bootstrap.run_process_application`)
    breakout-regime run --no-core       only the pollers (they write to the store)
    breakout-regime show-config         the effective regime config and its id

Infrastructure comes from DATABASE_URL / NATS_URL / BREAKOUT_BUS_PREFIX, feeds from the variables
listed in `settings`.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import httpx
import msgspec
import typer

from breakout.common.bus.nats import NatsBus
from breakout.common.clock import LiveClock
from breakout.common.config import InfraSettings
from breakout.common.logging import configure_logging
from breakout.common.runtime.application import ProcessApplication
from breakout.common.runtime.bootstrap import run_process_application
from breakout.common.runtime.service import Component, run_until_signalled
from breakout.common.store.port import EventStore
from breakout.common.store.postgres import PostgresEventStore
from breakout.regime.core import RegimeCore
from breakout.regime.http_coingecko import CoinGeckoFeed
from breakout.regime.http_newsapi import NewsApiFeed
from breakout.regime.http_twelvedata import TwelveDataFeed
from breakout.regime.poller import FeedPoller, PollerConfig
from breakout.regime.settings import (
    FeedKeys,
    FeedSettings,
    feeds_from_env,
    regime_config_from_env,
)

CONSUMER = "regime"
cli = typer.Typer(name="breakout-regime", no_args_is_help=True, add_completion=False)


def build_pollers(
    store: EventStore, client: httpx.AsyncClient, settings: FeedSettings, keys: FeedKeys
) -> list[FeedPoller]:
    """The three pollers: hourly macro, news every `news_interval_s`."""
    clock = LiveClock()
    macro = PollerConfig(interval_s=settings.macro_interval_s, min_interval_s=8.0)
    news = PollerConfig(interval_s=settings.news_interval_s, min_interval_s=2.0)
    return [
        FeedPoller(
            TwelveDataFeed(settings.twelvedata_url, keys.twelvedata), store, client, clock, macro
        ),
        FeedPoller(
            CoinGeckoFeed(settings.coingecko_url, keys.coingecko, plan=settings.coingecko_plan),
            store,
            client,
            clock,
            macro,
        ),
        FeedPoller(
            NewsApiFeed(settings.newsapi_url, keys.newsapi, query=settings.news_query),
            store,
            client,
            clock,
            news,
        ),
    ]


async def serve(*, pollers: bool, core: bool, health_port: int | None) -> None:
    """Run the chosen components until SIGTERM/SIGINT."""
    infra = InfraSettings.from_env()
    regime_core = RegimeCore(regime_config_from_env())
    if core and not pollers:
        await run_process_application(CONSUMER, regime_core, infra, health_port=health_port)
        return
    configure_logging(CONSUMER)
    settings, keys = feeds_from_env()
    store = await PostgresEventStore.connect(infra.database_url)
    bus = (
        await NatsBus.connect(
            infra.nats_url,
            prefix=infra.bus_prefix,
            user=infra.nats_user,
            password=infra.nats_password,
        )
        if core
        else None
    )
    try:
        async with httpx.AsyncClient(timeout=settings.http_timeout_s) as client:
            feeds = build_pollers(store, client, settings, keys)
            components: list[Component] = list(feeds)
            checks = {f"feed.{p.feed.source}": p.health for p in feeds}
            if bus is not None:
                await bus.ensure_stream()
                app = ProcessApplication(CONSUMER, regime_core, store, bus)
                components.append(app)
                checks["consumer"] = app.health
            await run_until_signalled(CONSUMER, components, checks, health_port=health_port)
    finally:
        if bus is not None:
            await bus.close()
        await store.close()


@cli.command()
def run(
    pollers: Annotated[bool, typer.Option(help="Poll Twelve Data, CoinGecko, NewsAPI.")] = True,
    core: Annotated[bool, typer.Option(help="Run the regime process application.")] = True,
    health_port: Annotated[int | None, typer.Option(help="Serve /health and /metrics.")] = None,
) -> None:
    """Run the regime service until SIGTERM / Ctrl-C."""
    if not (pollers or core):
        raise typer.BadParameter("nothing to run: keep --pollers or --core")
    asyncio.run(serve(pollers=pollers, core=core, health_port=health_port))


@cli.command("show-config")
def show_config() -> None:
    """Print the effective regime config (JSON) and its id."""
    config = regime_config_from_env()
    typer.echo(msgspec.json.format(msgspec.json.encode(config), indent=2))
    typer.echo(f"config_id: {config.config_id}")


if __name__ == "__main__":
    cli()
