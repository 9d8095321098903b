"""`breakout-reconcile`: compares the exchange with the log and records corrections.

    breakout-reconcile run --symbols BTCUSDT,ETHUSDT [--interval-s 30]
    breakout-reconcile once --symbols BTCUSDT          # one pass, print what it recorded

Infrastructure from DATABASE_URL; the exchange and keys from EXCHANGE_BASE_URL,
EXCHANGE_API_KEY, EXCHANGE_API_SECRET (see docs/execution.md).
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from breakout.common.config import InfraSettings
from breakout.common.exchange import ccxt_config, pro_exchange
from breakout.common.logging import configure_logging
from breakout.common.runtime.service import run_until_signalled
from breakout.common.store.postgres import PostgresEventStore
from breakout.execution.ccxt_broker import CcxtBroker
from breakout.reconcile.config import ReconcileSettings, settings_from_env
from breakout.reconcile.service import Reconciler

NAME = "reconcile"
cli = typer.Typer(name="breakout-reconcile", no_args_is_help=True, add_completion=False)


def build_broker(settings: ReconcileSettings) -> CcxtBroker:
    """A rate-limited ccxt broker (reconcile never places orders)."""
    config = ccxt_config(
        settings.exchange_id,
        settings.base_url,
        api_key=settings.api_key,
        secret=settings.api_secret,
    )
    return CcxtBroker(pro_exchange(settings.exchange_id, config), exchange=settings.venue)


async def _serve(settings: ReconcileSettings, once: bool, health_port: int | None) -> int:
    configure_logging(NAME)
    store = await PostgresEventStore.connect(InfraSettings.from_env().database_url)
    broker = build_broker(settings)
    try:
        reconciler = Reconciler(store, broker, settings.symbols, settings.interval_s)
        if once:
            return await reconciler.run_once()
        await run_until_signalled(
            NAME, [reconciler], {"reconcile": reconciler.health}, health_port=health_port
        )
        return 0
    finally:
        await broker.close()
        await store.close()


def _symbols(raw: str) -> tuple[str, ...]:
    return tuple(s.strip().upper() for s in raw.split(",") if s.strip())


@cli.command()
def run(
    symbols: Annotated[str, typer.Option(help="Comma-separated exchange symbols.")] = "BTCUSDT",
    interval_s: Annotated[float | None, typer.Option(help="Seconds between passes.")] = None,
    health_port: Annotated[int | None, typer.Option(help="Serve /health and /metrics.")] = None,
) -> None:
    """Reconcile at start and then periodically, until SIGTERM / Ctrl-C."""
    asyncio.run(_serve(settings_from_env(_symbols(symbols), interval_s), False, health_port))


@cli.command()
def once(
    symbols: Annotated[str, typer.Option(help="Comma-separated symbols.")] = "BTCUSDT",
) -> None:
    """One pass; prints how many events it recorded."""
    written = asyncio.run(_serve(settings_from_env(_symbols(symbols)), True, None))
    typer.echo(f"recorded {written} events")


if __name__ == "__main__":
    cli()
