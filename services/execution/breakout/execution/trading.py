"""`breakout trade`: the risk and execution services in one process, paper by default.

Live refuses to start without EXCHANGE_API_KEY / EXCHANGE_API_SECRET in the environment AND
the explicit confirmation flag. Reconciliation runs as its own service (`breakout-reconcile`).
"""

from __future__ import annotations

import asyncio

import typer

from breakout.common.bus.nats import NatsBus
from breakout.common.config import InfraSettings
from breakout.common.logging import configure_logging
from breakout.common.presets import load_preset
from breakout.common.runtime.application import ProcessApplication
from breakout.common.runtime.service import Component, run_until_signalled
from breakout.common.store.postgres import PostgresEventStore
from breakout.execution.app import build_broker, build_components
from breakout.execution.config import ExecutionSettings, live_refusal, settings_from_env
from breakout.execution.paper import PaperBroker
from breakout.risk.core import RiskCore


def run_trading(
    presets: tuple[str, ...], symbols: tuple[str, ...], *, live: bool, confirmed: bool
) -> int:
    """Run until Ctrl-C; the exit code (2 when live trading is refused)."""
    settings = settings_from_env(presets, symbols, "live" if live else "paper")
    refusal = live_refusal(settings, confirmed)
    if refusal:
        typer.echo(f"refusing to start: {refusal}", err=True)
        return 2
    for name in presets:
        load_preset(name)  # a bad preset stops here, before anything trades
    asyncio.run(_serve(settings))
    return 0


async def _serve(settings: ExecutionSettings) -> None:
    configure_logging("trade")
    infra = InfraSettings.from_env()
    store = await PostgresEventStore.connect(infra.database_url)
    bus = await NatsBus.connect(
        infra.nats_url, prefix=infra.bus_prefix, user=infra.nats_user, password=infra.nats_password
    )
    broker = build_broker(settings, store, bus)
    try:
        await bus.ensure_stream()
        risk = ProcessApplication(
            "risk", RiskCore([load_preset(n) for n in settings.presets]), store, bus
        )
        execution, router = build_components(settings, store, bus, broker)
        components: list[Component] = [risk, execution, router]
        if isinstance(broker, PaperBroker):
            components.insert(0, broker)
        checks = {"risk": risk.health, "execution": execution.health, "router": router.health}
        await run_until_signalled("trade", components, checks)
    finally:
        await broker.close()
        await bus.close()
        await store.close()
