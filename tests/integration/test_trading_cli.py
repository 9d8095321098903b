"""The trading commands of `breakout`: kill / reset-kill record operator commands; live trading
refuses to start without keys and the confirmation flag; positions and orders read the log."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from breakout.common.config import InfraSettings
from breakout.common.events import KillRequested, KillResetRequested
from breakout.common.store.postgres import PostgresEventStore
from tests.integration.stacks import fresh_database

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def breakout(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "breakout.common.cli", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_kill_and_reset_record_operator_commands(infra: InfraSettings) -> None:
    async with fresh_database(infra) as dsn:
        env = {**os.environ, "DATABASE_URL": dsn}
        assert breakout("kill", "--level", "flatten", "--reason", "drill", env=env).returncode == 0
        assert breakout("reset-kill", env=env).returncode == 0
        assert breakout("kill", "--level", "everything", env=env).returncode != 0
        store = await PostgresEventStore.connect(dsn)
        try:
            (kill,) = [e.data for e in await store.read_stream("ctl-kill")]
            (reset,) = [e.data for e in await store.read_stream("ctl-kill_reset")]
        finally:
            await store.close()
        assert (
            isinstance(kill, KillRequested) and kill.level == "flatten" and kill.reason == "drill"
        )
        assert kill.requested_by.startswith("cli")
        assert isinstance(reset, KillResetRequested)
        listed = breakout("positions", "--all", env=env)
        assert listed.returncode == 0 and "position" in listed.stdout
        assert breakout("orders", env=env).returncode == 0


def test_live_refuses_without_keys_or_confirmation() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXCHANGE_API")}
    no_keys = breakout(
        "trade",
        "--preset",
        "breakout_v1",
        "--live",
        "--i-understand-this-trades-real-money",
        env=env,
    )
    assert no_keys.returncode == 2 and "EXCHANGE_API_KEY" in no_keys.stderr
    keyed = {**env, "EXCHANGE_API_KEY": "k", "EXCHANGE_API_SECRET": "s"}
    unconfirmed = breakout("trade", "--preset", "breakout_v1", "--live", env=keyed)
    assert (
        unconfirmed.returncode == 2
        and "--i-understand-this-trades-real-money" in unconfirmed.stderr
    )
