"""Composition root shared by every service: builds the real adapters and runs components."""

from __future__ import annotations

from breakout.common.bus.nats import NatsBus
from breakout.common.config import InfraSettings
from breakout.common.leader import PostgresLeaderLock
from breakout.common.logging import configure_logging
from breakout.common.relay import Relay
from breakout.common.runtime.application import ProcessApplication, RuntimeConfig
from breakout.common.runtime.core import Core
from breakout.common.runtime.service import run_until_signalled
from breakout.common.store.postgres import PostgresEventStore


async def run_process_application(
    name: str,
    core: Core,
    settings: InfraSettings,
    *,
    config: RuntimeConfig | None = None,
    health_port: int | None = None,
) -> None:
    """Run `core` as the durable consumer `name` over Postgres and NATS until signalled."""
    configure_logging(name)
    store = await PostgresEventStore.connect(settings.database_url)
    bus = await NatsBus.connect(
        settings.nats_url,
        prefix=settings.bus_prefix,
        user=settings.nats_user,
        password=settings.nats_password,
    )
    try:
        await bus.ensure_stream()
        app = ProcessApplication(name, core, store, bus, config=config)
        await run_until_signalled(name, [app], {"consumer": app.health}, health_port=health_port)
    finally:
        await bus.close()
        await store.close()


async def run_relay(
    settings: InfraSettings, *, batch_size: int = 1000, health_port: int | None = None
) -> None:
    """Run the relay (leader-elected through Postgres) until signalled."""
    configure_logging("relay")
    store = await PostgresEventStore.connect(settings.database_url)
    bus = await NatsBus.connect(
        settings.nats_url,
        prefix=settings.bus_prefix,
        user=settings.nats_user,
        password=settings.nats_password,
        replicas=settings.bus_replicas,  # the relay manages the stream
    )
    leader_name = f"relay:{settings.bus_prefix}"
    leader = PostgresLeaderLock(settings.database_url, leader_name)
    try:
        relay = Relay(store, bus, leader, batch_size=batch_size)
        await run_until_signalled(
            "relay", [relay], {"relay": relay.health}, health_port=health_port
        )
    finally:
        await leader.release()
        await bus.close()
        await store.close()
