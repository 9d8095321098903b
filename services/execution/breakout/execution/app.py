"""`breakout-execution`: the execution core (a process application) and the order router.

    breakout-execution run --preset breakout_v1 --symbols BTCUSDT,ETHUSDT            # paper
    breakout-execution run --preset breakout_v1 --symbols BTCUSDT --broker live \
        --i-understand-this-trades-real-money                                          # live

Infrastructure from DATABASE_URL / NATS_URL / BREAKOUT_BUS_PREFIX; the exchange and keys from
the variables in `config`. Live refuses to start without keys and the confirmation flag.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import msgspec
import typer

from breakout.common.bus.nats import NatsBus
from breakout.common.bus.port import Bus
from breakout.common.config import InfraSettings
from breakout.common.exchange import ccxt_config, pro_exchange
from breakout.common.leader import Leadership, PostgresLeaderLock
from breakout.common.logging import configure_logging
from breakout.common.presets import load_preset
from breakout.common.runtime.application import ProcessApplication, RuntimeConfig
from breakout.common.runtime.service import Component, run_until_signalled
from breakout.common.store.port import EventStore
from breakout.common.store.postgres import PostgresEventStore
from breakout.execution.broker import Broker
from breakout.execution.ccxt_broker import CcxtBroker
from breakout.execution.config import ExecutionSettings, live_refusal, settings_from_env
from breakout.execution.core import ExecutionCore
from breakout.execution.paper import PaperBroker
from breakout.execution.router import OrderRouter

CONSUMER = "execution"
cli = typer.Typer(name="breakout-execution", no_args_is_help=True, add_completion=False)


def build_broker(settings: ExecutionSettings, store: EventStore, bus: Bus) -> Broker:
    """The broker the settings ask for: live through ccxt, or paper against the bus's books."""
    config = ccxt_config(
        settings.exchange_id,
        settings.base_url,
        api_key=settings.api_key,
        secret=settings.api_secret,
    )
    config.setdefault("options", {})["recvWindow"] = int(settings.recv_window_s * 1000)
    if settings.broker == "paper":
        # Paper reads the real market's rules (public data: no keys are sent).
        public = ccxt_config(settings.exchange_id, settings.base_url)
        rules = CcxtBroker(pro_exchange(settings.exchange_id, public), exchange=settings.venue)
        return PaperBroker(
            rules,
            store,
            bus,
            settings.symbols,
            exchange=settings.venue,
            balances=settings.paper_balances,
            latency_ms=settings.paper_latency_ms,
        )
    return CcxtBroker(pro_exchange(settings.exchange_id, config), exchange=settings.venue)


def build_components(
    settings: ExecutionSettings,
    store: EventStore,
    bus: Bus,
    broker: Broker,
    *,
    runtime: RuntimeConfig | None = None,
) -> tuple[ProcessApplication, OrderRouter]:
    """The execution core as a process application, and the router that talks to `broker`."""
    core = ExecutionCore([load_preset(name) for name in settings.presets])
    app = ProcessApplication(CONSUMER, core, store, bus, config=runtime)
    router = OrderRouter(
        store,
        broker,
        settings.symbols,
        poll_s=settings.poll_s,
        balance_every_s=settings.balance_every_s,
        recv_window_s=settings.recv_window_s,
    )
    return app, router


async def serve(settings: ExecutionSettings, health_port: int | None) -> None:
    """Run the core and the router until SIGTERM / SIGINT."""
    configure_logging(CONSUMER)
    infra = InfraSettings.from_env()
    # One router per venue: a second process waits here as a hot standby (find-before-place
    # already prevents double orders across restarts; the lock keeps two live routers apart).
    lock = PostgresLeaderLock(infra.database_url, f"execution:{settings.venue}")
    await lock.acquire()
    store = await PostgresEventStore.connect(infra.database_url)
    bus = await NatsBus.connect(
        infra.nats_url, prefix=infra.bus_prefix, user=infra.nats_user, password=infra.nats_password
    )
    broker = build_broker(settings, store, bus)
    try:
        await bus.ensure_stream()
        # It reads every symbol's trades (exits, TWAP steps): fetched and committed 1,024 at a
        # time, as features and signals are, so a busy market costs fewer commits. A fetch
        # returns what has arrived, so caught up this adds no latency to an order.
        runtime = RuntimeConfig(fetch_batch=1024, commit_batch=1024)
        app, router = build_components(settings, store, bus, broker, runtime=runtime)
        components: list[Component] = [app, router, Leadership(lock, CONSUMER)]
        if isinstance(broker, PaperBroker):
            components.insert(0, broker)  # follows the books the paper fills walk
        checks = {"consumer": app.health, "router": router.health}
        await run_until_signalled(CONSUMER, components, checks, health_port=health_port)
    finally:
        await broker.close()
        await bus.close()
        await store.close()
        await lock.release()


@cli.command()
def run(
    preset: Annotated[list[str], typer.Option(help="Preset(s) to trade.")],
    symbols: Annotated[str, typer.Option(help="Comma-separated exchange symbols.")] = "BTCUSDT",
    broker: Annotated[str, typer.Option(help="paper (default) or live.")] = "paper",
    i_understand_this_trades_real_money: Annotated[
        bool, typer.Option("--i-understand-this-trades-real-money", help="Required for live.")
    ] = False,
    health_port: Annotated[int | None, typer.Option(help="Serve /health and /metrics.")] = None,
) -> None:
    """Run the execution service until SIGTERM / Ctrl-C."""
    if broker not in ("paper", "live"):
        raise typer.BadParameter("--broker is paper or live")
    names = tuple(s.strip().upper() for s in symbols.split(",") if s.strip())
    settings = settings_from_env(tuple(preset), names, broker)  # type: ignore[arg-type]
    refusal = live_refusal(settings, i_understand_this_trades_real_money)
    if refusal:
        typer.echo(f"refusing to start: {refusal}", err=True)
        raise typer.Exit(2)
    asyncio.run(serve(settings, health_port))


@cli.command("show-config")
def show_config(
    preset: Annotated[list[str], typer.Option(help="Preset(s) to trade.")],
    symbols: Annotated[str, typer.Option(help="Comma-separated exchange symbols.")] = "BTCUSDT",
) -> None:
    """Print the effective settings (keys masked) and the presets' refs."""
    names = tuple(s.strip().upper() for s in symbols.split(",") if s.strip())
    settings = settings_from_env(tuple(preset), names, "paper")
    masked = msgspec.structs.replace(
        settings,
        api_key="***" if settings.api_key else None,
        api_secret="***" if settings.api_secret else None,
    )
    typer.echo(msgspec.json.format(msgspec.json.encode(masked), indent=2))
    for name in preset:
        typer.echo(load_preset(name).ref())


if __name__ == "__main__":
    cli()
