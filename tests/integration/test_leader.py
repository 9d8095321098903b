"""The Postgres leader lock's watchdog against the real server: a connection that is gone, or
silent for several pings, is a lost lock, and the leader steps down; a slow answer is not."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
import zlib
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from breakout.common.leader import Leadership, LeadershipLost, PostgresLeaderLock
from tests.integration.store_support import store_dsn  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration


async def terminate_holder(dsn: str, name: str) -> None:
    """End the server session that holds leader lock `name` (as a crash or a partition would)."""
    key = zlib.crc32(f"breakout-leader/{name}".encode())
    conn = await asyncpg.connect(dsn)
    try:
        pids = await conn.fetch(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = 0 AND objid = $1::bigint::oid",
            key,
        )
        assert len(pids) == 1, pids
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", pids[0]["pid"])
    finally:
        await conn.close()


async def test_a_lock_whose_connection_dies_is_lost_and_leadership_ends(
    store_dsn: str,  # noqa: F811
) -> None:
    name = f"test-{uuid.uuid4().hex[:8]}"
    lock = PostgresLeaderLock(store_dsn, name, watchdog_s=0.2)
    await lock.acquire()
    leading = asyncio.create_task(Leadership(lock, name).run())
    try:
        await asyncio.sleep(0.5)
        assert not lock.lost.is_set() and not leading.done()
        await terminate_holder(store_dsn, name)
        with pytest.raises(LeadershipLost, match="leader lock lost"):
            await asyncio.wait_for(leading, 5)
        assert lock.lost.is_set()
        # The server released it: a standby takes it at once.
        standby = PostgresLeaderLock(store_dsn, name, watchdog_s=0.2)
        await asyncio.wait_for(standby.acquire(), 5)
        await standby.release()
    finally:
        leading.cancel()
        await lock.release()


class Stallable:
    """A TCP proxy to Postgres whose forwarding can be held up (a slow or partitioned server)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def __aexit__(self, *_: object) -> None:
        assert self.server is not None
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(self.host, self.port)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await src.read(65536):
                    await self.flowing.wait()
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@pytest.mark.parametrize(("stall_s", "lost"), [(0.5, False), (3.0, True)])
async def test_a_slow_answer_is_not_a_lost_lock_but_no_answer_is(
    store_dsn: str,  # noqa: F811
    stall_s: float,
    lost: bool,
) -> None:
    # Pings every 0.2 s, each given 0.2 s: a server that answers 0.5 s late (two pings
    # unanswered) is slow; one silent for 3 s (eight in a row) is a partition.
    name = f"test-{uuid.uuid4().hex[:8]}"
    url = urlsplit(store_dsn)
    proxy = Stallable(url.hostname or "127.0.0.1", url.port or 5432)
    async with proxy as port:
        dsn = urlunsplit(url._replace(netloc=f"{url.username}@127.0.0.1:{port}"))
        lock = PostgresLeaderLock(dsn, name, watchdog_s=0.2, misses=3)
        await lock.acquire()
        try:
            await asyncio.sleep(0.5)
            proxy.flowing.clear()
            await asyncio.sleep(stall_s)
            proxy.flowing.set()
            await asyncio.sleep(1.0)
            assert lock.lost.is_set() == lost
        finally:
            await lock.release()
