"""Run a service's components in one process until SIGTERM/SIGINT, then stop them gracefully."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Mapping, Sequence
from typing import Protocol

import structlog

from breakout.common.runtime.health import HealthCheck, health_app, serve_health

log = structlog.get_logger(__name__)


class Component(Protocol):
    """Anything with a long-running `run()` and a `stop()` that makes `run()` return."""

    async def run(self) -> None:
        """Work until stopped."""
        ...

    def stop(self) -> None:
        """Ask `run()` to finish what it holds and return."""
        ...


async def run_until_signalled(
    service: str,
    components: Sequence[Component],
    checks: Mapping[str, HealthCheck],
    *,
    health_port: int | None = None,
    health_host: str | None = None,
    stopping: asyncio.Event | None = None,
) -> None:
    """Run `components` (and the health endpoint) until a signal, or until one of them fails.

    `stopping` may be passed in so an embedding program can stop the service too. The health
    endpoint listens on `health_host`, else `BREAKOUT_HEALTH_HOST`, else loopback only (a
    container sets `0.0.0.0` so the orchestrator's probes and Prometheus reach it).
    """
    health_host = health_host or os.environ.get("BREAKOUT_HEALTH_HOST", "127.0.0.1")
    stopping = stopping or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    tasks = [asyncio.create_task(c.run(), name=type(c).__name__) for c in components]
    if health_port is not None:
        app = health_app(service, checks)
        tasks.append(asyncio.create_task(serve_health(app, health_host, health_port, stopping)))
    waiter = asyncio.create_task(stopping.wait())
    await asyncio.wait([*tasks, waiter], return_when=asyncio.FIRST_COMPLETED)
    log.info("stopping", service=service, signalled=stopping.is_set())
    stopping.set()
    for component in components:
        component.stop()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    waiter.cancel()
    failures = [r for r in results if isinstance(r, BaseException)]
    for failure in failures:
        log.error("component failed", service=service, error=repr(failure))
    if failures:
        raise failures[0]
