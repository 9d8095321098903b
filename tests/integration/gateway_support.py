"""A gateway over the real stack (fresh Postgres database, NATS prefix), with the relay running."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from breakout.common.config import InfraSettings
from breakout.common.events import Event
from breakout.common.relay import Relay
from breakout.common.runtime.application import RuntimeConfig
from breakout.gateway.app import RunningGateway, build, running
from breakout.gateway.config import GatewaySettings
from tests.integration.stacks import Stack, open_stack
from tests.unit.gateway import factories as f

TOKEN = "test-token-0123456789abcdef"
FAST = RuntimeConfig(fetch_timeout_s=0.1, ack_wait_s=5.0)
VENDOR_DIR = Path(__file__).resolve().parents[2] / ".dev" / "ui-vendor"


@dataclass
class GatewayStack:
    """The stack, the relay publishing it, and a gateway serving it."""

    stack: Stack
    relay: Relay
    gateway: RunningGateway

    @property
    def url(self) -> str:
        """The gateway's base URL."""
        return self.gateway.url

    async def append(self, stream: str, event: Event, ts_ms: int, *key: object) -> int:
        """Record one event as a producer would; return its stream version."""
        return await self.stack.store.append(stream, [f.new(event, ts_ms, *key)])

    async def settled(self) -> None:
        """Wait until the relay and every read model have reached the store's head."""
        head = await self.stack.store.head_position()
        await until(lambda: self.relay.cursor >= head)
        for app in self.gateway.apps:
            # A read model's checkpoint moves only on the events it selects: it is done with
            # the head once it passed the last of those at or below it.
            pending = await self.stack.store.read_all(
                after=app.checkpoint, limit=100_000, filter=app.core.store_filter
            )
            mine = [e.position for e in pending if e.position <= head]
            if mine:
                await until(lambda app=app, last=mine[-1]: app.checkpoint >= last)  # type: ignore[misc]


async def until(predicate: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Wait for `predicate` (a deadline only against a hang, not a speed assertion)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@asynccontextmanager
async def gateway_stack(
    infra: InfraSettings, prefix: str, **settings: object
) -> AsyncIterator[GatewayStack]:
    """Relay + gateway (port chosen by the OS) over a fresh real stack."""
    config = GatewaySettings(**{"api_token": TOKEN, "vendor_dir": VENDOR_DIR, **settings})  # type: ignore[arg-type]
    async with open_stack("real", infra, prefix) as stack:
        relay = Relay(stack.store, stack.bus, stack.leader("relay"), batch_size=500)
        relay_task = asyncio.create_task(relay.run())
        gateway = build(config, stack.store, stack.bus, infra.nats_url, port=0, runtime=FAST)
        try:
            async with running(gateway):
                yield GatewayStack(stack=stack, relay=relay, gateway=gateway)
        finally:
            relay.stop()
            await relay_task
