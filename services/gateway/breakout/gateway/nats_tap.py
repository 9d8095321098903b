"""The bridge's feed: plain NATS subscriptions on the allow-listed subjects, into the hub.

A dashboard reads the bus as any NATS client would (no durable consumer, nothing acked): the
tap has its own connection, one subscription per allow-list pattern, and hands each message to
the hub, which never blocks. It is ready once the server has confirmed every subscription (a
flush after subscribing), so nothing published after `ready` is missed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import nats
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg

from breakout.common.bus.nats import client_auth
from breakout.gateway.hub import Hub
from breakout.gateway.patterns import minimal

log = structlog.get_logger(__name__)

# The hub drains each message at once; these bound what a stalled event loop may buffer.
PENDING_MSGS = 200_000
PENDING_BYTES = 256 * 1024 * 1024


class NatsTap:
    """Subscribes to `patterns` (under the deployment prefix) and feeds `hub`."""

    def __init__(
        self,
        url: str,
        prefix: str,
        patterns: tuple[str, ...],
        hub: Hub,
        *,
        user: str | None = None,
        password: str | None = None,
    ) -> None:
        self.url = url
        # The gateway's NATS user may subscribe to events (read-only) and to its own inbox.
        self._auth = client_auth(user, password)
        self.prefix = prefix
        self.patterns = tuple(minimal(patterns))
        self.hub = hub
        self.ready = asyncio.Event()
        self._stopping = asyncio.Event()
        self._nc: Client | None = None

    def _wire(self, subject: str) -> str:
        return f"{self.prefix}.{subject}" if self.prefix else subject

    def _handler(self) -> Callable[[Msg], Awaitable[None]]:
        cut = len(self.prefix) + 1 if self.prefix else 0
        publish = self.hub.publish

        async def on_message(msg: Msg) -> None:
            publish(msg.subject[cut:], msg.data)

        return on_message

    async def start(self) -> None:
        """Connect, subscribe to every pattern, and wait until the server has them all."""
        self._nc = await nats.connect(
            self.url, name="breakout-gateway-tap", max_reconnect_attempts=-1, **self._auth
        )
        handler = self._handler()
        for pattern in self.patterns:
            await self._nc.subscribe(
                self._wire(pattern),
                cb=handler,
                pending_msgs_limit=PENDING_MSGS,
                pending_bytes_limit=PENDING_BYTES,
            )
        await self._nc.flush()
        self.ready.set()
        log.info("bridge subscribed", patterns=self.patterns)

    async def _reconnected(self) -> None:
        # Core NATS does not replay what was published while we were away: the subscriptions
        # are restored, but the pages must reload their state to be whole again.
        log.warning("bridge reconnected to NATS; clients told to resync")
        self.hub.resync("bus reconnected")

    async def run(self) -> None:
        """Start, then hold the subscriptions until `stop()`."""
        if self._nc is None:
            await self.start()
        await self._stopping.wait()
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.close()

    def stop(self) -> None:
        """Close the subscriptions."""
        self._stopping.set()

    def health(self) -> dict[str, object]:
        """Whether the subscriptions are in place on a connected client."""
        connected = self._nc is not None and self._nc.is_connected
        return {"ok": self.ready.is_set() and connected, "patterns": list(self.patterns)}
