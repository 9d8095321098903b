"""Shared fixtures: each test run gets its own Postgres database and its own bus subject prefix.

Where NATS or Postgres is not reachable the local stack starts its own (see
`breakout.common.devstack`); the fixtures only ever see URLs.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from breakout.common.config import InfraSettings
from breakout.common.devstack import ensure_stack

RUN_ID = uuid.uuid4().hex[:10]
TEST_STACK_DIR = Path(__file__).resolve().parent.parent / ".dev" / "test-stack"


@pytest.fixture(scope="session")
def infra() -> Iterator[InfraSettings]:
    """URLs of a reachable Postgres server and NATS server for this test session."""
    with ensure_stack(InfraSettings.from_env(), TEST_STACK_DIR) as settings:
        yield settings


def _with_database(url: str, database: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{database}"


@pytest.fixture(scope="session")
async def pg_dsn(infra: InfraSettings) -> AsyncIterator[str]:
    """DSN of a fresh database for this test run (dropped at the end)."""
    name = f"bk_test_{RUN_ID}"
    admin = await asyncpg.connect(_with_database(infra.database_url, "postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield _with_database(infra.database_url, name)
    if os.environ.get("BREAKOUT_KEEP_TEST_DB"):
        return
    admin = await asyncpg.connect(_with_database(infra.database_url, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def bus_prefix() -> str:
    """A subject prefix no other test (or run) uses."""
    return f"t{RUN_ID}{uuid.uuid4().hex[:6]}"
