"""Does a configured Postgres / NATS answer? Blocking probes for the (sync) stack code."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import nats
from nats.errors import Error as NatsError

PROBE_TIMEOUT_S = 2.0

T = TypeVar("T")


def host_port(url: str, default_port: int) -> tuple[str, int]:
    """Host and port a URL points at (`default_port` when it names none)."""
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def with_database(url: str, database: str) -> str:
    """The same server URL naming another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))


def database_name(url: str, default: str = "breakout") -> str:
    """The database a Postgres URL names, or `default` when it names none."""
    return urlsplit(url).path.lstrip("/") or default


def redact(url: str) -> str:
    """The URL without its password, fit for a log line."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def tcp_open(host: str, port: int, timeout_s: float = 1.0) -> bool:
    """True when something accepts a TCP connection at host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def run_async(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, even if this thread has a running loop."""
    # A worker thread gets its own event loop, so callers inside pytest-asyncio or an
    # async CLI command can use the sync stack without nesting loops.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


async def _postgres_select_1(url: str) -> None:
    conn = await asyncpg.connect(url, timeout=PROBE_TIMEOUT_S)
    try:
        await conn.fetchval("SELECT 1")
    finally:
        await conn.close()


async def _ensure_database(url: str) -> None:
    try:
        await _postgres_select_1(url)
    except asyncpg.InvalidCatalogNameError:
        admin = await asyncpg.connect(with_database(url, "postgres"), timeout=PROBE_TIMEOUT_S)
        try:
            name = database_name(url).replace('"', '""')
            await admin.execute(f'CREATE DATABASE "{name}"')
        except asyncpg.DuplicateDatabaseError:
            pass  # another process created it between our two connections
        finally:
            await admin.close()
        await _postgres_select_1(url)


def postgres_answers(url: str) -> bool:
    """True when `url` reaches a Postgres server (TCP, then `SELECT 1`); creates its database."""
    if not tcp_open(*host_port(url, 5432)):
        return False
    try:
        run_async(lambda: _ensure_database(url))
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False
    return True


async def _quiet(_error: Exception) -> None:
    """nats-py prints every connection error with a traceback; a probe reports it as False."""


async def _nats_jetstream_info(url: str) -> None:
    nc = await nats.connect(
        url,
        connect_timeout=PROBE_TIMEOUT_S,
        allow_reconnect=False,
        max_reconnect_attempts=0,
        error_cb=_quiet,
    )
    try:
        await nc.jetstream().account_info()
    finally:
        await nc.close()


def nats_answers(url: str) -> bool:
    """True when `url` reaches a NATS server with JetStream enabled."""
    if not tcp_open(*host_port(url, 4222)):
        return False
    try:
        run_async(lambda: _nats_jetstream_info(url))
    except (OSError, TimeoutError, NatsError):
        return False
    return True


def wait_until(
    answers: Callable[[], bool], timeout_s: float, still_alive: Callable[[], bool]
) -> bool:
    """Poll `answers` until it is true, the deadline passes, or the server has died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if answers():
            return True
        if not still_alive():
            return False
        time.sleep(0.2)
    return answers()
