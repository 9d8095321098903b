"""Leader election: of several relays (or other singletons) exactly one works at a time."""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from typing import Protocol

import asyncpg
import structlog

log = structlog.get_logger(__name__)


class LeaderLock(Protocol):
    """A lock one process holds while it leads; `lost` is set if the hold may have ended."""

    lost: asyncio.Event

    async def acquire(self) -> None:
        """Wait until this process leads."""
        ...

    async def release(self) -> None:
        """Step down."""
        ...


class InMemoryLeaderLock:
    """Leader election between tasks of one process (tests, backtests)."""

    _held: dict[str, asyncio.Lock] = {}  # noqa: RUF012 - shared by design: one lock per name

    def __init__(self, name: str) -> None:
        self._lock = self._held.setdefault(name, asyncio.Lock())
        self._holding = False
        self.lost = asyncio.Event()

    async def acquire(self) -> None:
        """Wait for the named lock."""
        await self._lock.acquire()
        self._holding = True
        self.lost = asyncio.Event()

    async def release(self) -> None:
        """Release the named lock if this instance holds it."""
        if self._holding:
            self._holding = False
            self._lock.release()


class PostgresLeaderLock:
    """A session-level Postgres advisory lock on a dedicated connection.

    The lock lives as long as the connection: if the connection dies, Postgres releases it and
    another process may lead. A watchdog pings the connection every `watchdog_s` and sets
    `lost` when a ping fails (the connection is gone), or when `misses` pings in a row go
    unanswered for `watchdog_s` each (a partition); one slow answer, from a busy event loop or
    server, is not a lost lock. The leader then stops; the relay's expected-last-sequence
    fencing covers the moments between.
    """

    def __init__(
        self,
        dsn: str,
        name: str,
        poll_s: float = 1.0,
        watchdog_s: float = 2.0,
        misses: int = 3,
    ) -> None:
        self._dsn = dsn
        self._key = zlib.crc32(f"breakout-leader/{name}".encode())
        self._name = name
        self._poll_s = poll_s
        self._watchdog_s = watchdog_s
        self._misses = misses
        self._conn: asyncpg.Connection | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self.lost = asyncio.Event()

    async def acquire(self) -> None:
        """Poll for the advisory lock until this process holds it."""
        while True:
            if self._conn is None or self._conn.is_closed():
                self._conn = await asyncpg.connect(self._dsn)
            if await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", self._key):
                break
            await asyncio.sleep(self._poll_s)
        self.lost = asyncio.Event()
        self._watchdog = asyncio.create_task(self._watch())
        log.info("leading", lock=self._name)

    async def _watch(self) -> None:
        assert self._conn is not None
        ping: asyncio.Future[object] | None = None
        missed = 0
        try:
            while True:
                await asyncio.sleep(self._watchdog_s)
                # A ping still unanswered is waited on again, not cancelled: cancelling a query
                # leaves an asyncpg connection busy with the cancellation.
                ping = ping or asyncio.ensure_future(self._conn.fetchval("SELECT 1"))
                done, _ = await asyncio.wait({ping}, timeout=self._watchdog_s)
                if ping in done:
                    ping.result()  # raises if the connection is gone
                    ping, missed = None, 0
                    continue
                missed += 1
                if missed >= self._misses:
                    raise TimeoutError(f"no answer to {missed} pings in a row")
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("leader connection lost", lock=self._name, error=str(exc))
            self.lost.set()
        finally:
            if ping is not None and not ping.done():
                ping.cancel()

    async def release(self) -> None:
        """Stop leading and close the connection (which frees the lock in every case)."""
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None
        if self._conn is not None:
            with contextlib.suppress(OSError, asyncpg.InterfaceError):
                await self._conn.close()
            self._conn = None


class LeadershipLost(RuntimeError):
    """The leader lock may have been released: another process may lead now."""


class Leadership:
    """A component that ends its process when `lock` is lost (run it beside the work).

    A singleton that only leads while it holds its lock (one ingest per group, one execution
    router per venue) must stop when the hold may have ended, since a standby may take over:
    `run()` raises `LeadershipLost`, so the process exits and its restart waits for the lock.
    """

    def __init__(self, lock: LeaderLock, name: str) -> None:
        self.lock, self.name = lock, name
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Return on `stop()`; raise `LeadershipLost` if the lock is lost first."""
        waits = [asyncio.ensure_future(e.wait()) for e in (self.lock.lost, self._stopping)]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        if self.lock.lost.is_set() and not self._stopping.is_set():
            raise LeadershipLost(f"{self.name}: leader lock lost; a standby may lead now")

    def stop(self) -> None:
        """Return from `run()`."""
        self._stopping.set()
