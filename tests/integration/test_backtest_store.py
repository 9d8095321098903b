"""A backtest's store source (`--data postgresql://…`) and `--record DSN`, on real Postgres.

The store holds the chaos session's market data (recorded through ccxt and ingest from the
scripted exchange_sim), a regime and the markets' rules, as a live run leaves them.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import msgspec
import pytest
import typer
from typer.testing import CliRunner

from breakout.backtest.cli import record_run
from breakout.backtest.feed import market_time_ms
from breakout.backtest.inputs import from_store
from breakout.backtest.run import RunOptions, run_backtest
from breakout.common.cli import mount_plugins
from breakout.common.config import InfraSettings
from breakout.common.events import NewEvent, PositionOpened, market_stream
from breakout.common.store.postgres import PostgresEventStore
from tests.chaos.session import RECORDED_VENUE, Recording, load_recording
from tests.integration.parity_support import market_entries
from tests.integration.stacks import fresh_database
from tests.support.trading import rules

pytestmark = pytest.mark.integration


@pytest.fixture
async def recorded(infra: InfraSettings) -> AsyncIterator[tuple[str, Recording]]:
    """A store with the session's rules, regime and market data."""
    recording = load_recording()
    async with fresh_database(infra) as dsn:
        store = await PostgresEventStore.connect(dsn)
        try:
            for symbol in ("ETHUSDT", "SOLUSDT"):
                observed = msgspec.structs.replace(rules(symbol), exchange=RECORDED_VENUE)
                new = NewEvent(
                    event_id=uuid.uuid4(),
                    data=observed,
                    occurred_at=datetime.now(UTC),
                    producer="execution-router",
                )
                await store.append(market_stream(RECORDED_VENUE, symbol), [new])
            await store.append_bulk([recording.regime()])
            for appends in recording.slices():
                await store.append_bulk(appends)
        finally:
            await store.close()
        yield dsn, recording


async def test_the_store_source_gives_the_market_events_of_the_window_with_their_ids(
    recorded: tuple[str, Recording],
) -> None:
    dsn, recording = recorded
    times = sorted(market_time_ms(e.data) for e in recording.events)
    start, end = times[len(times) // 4], times[3 * len(times) // 4]
    expected = [
        (e.event_id, e.stream)
        for e in recording.events
        if start <= market_time_ms(e.data) < end  # half-open: the event at `end` is not in
    ]
    data = await from_store(dsn, start, end)
    assert [(i.event.event_id, i.stream) for i in data.inputs] == expected  # store order
    assert [i.ts_ms for i in data.inputs] == [
        market_time_ms(e.data) for e in recording.events if start <= market_time_ms(e.data) < end
    ]
    assert any(market_time_ms(e.data) == end for e in recording.events)
    assert data.symbols == ("ETHUSDT", "SOLUSDT")
    assert data.kinds >= {"trades", "book", "candles", "ticker"}
    assert "regime" not in data.kinds  # recorded before the window
    assert {r.symbol for r in data.rules} == {"ETHUSDT", "SOLUSDT"}
    assert {r.exchange for r in data.rules} == {RECORDED_VENUE}

    everything = await from_store(dsn, times[0], times[-1] + 1)
    assert len(everything.inputs) == len(recording.events) + 1  # and the regime
    assert "regime" in everything.kinds


async def test_a_recorded_backtest_lands_under_its_run_streams_and_audits_to_market_data(
    recorded: tuple[str, Recording], infra: InfraSettings
) -> None:
    dsn, recording = recorded
    preset = market_entries(recording.preset)
    times = [market_time_ms(e.data) for e in recording.events]
    data = await from_store(dsn, min(times), max(times) + 1)
    options = RunOptions(data=dsn, start_ms=min(times), end_ms=max(times) + 1)
    output = await run_backtest(preset, data, options, features=recording.features)
    opened = [e for e in output.events if isinstance(e.data, PositionOpened)]
    assert opened, "the session's breakout opens a position"

    async with fresh_database(infra) as target:
        await record_run(target, output)
        store = await PostgresEventStore.connect(target)
        try:
            stored = await store.read_all(limit=1_000_000)
        finally:
            await store.close()
        prefix = f"bt{output.run_id}."
        assert [e.event_id for e in stored] == [e.event_id for e in output.events]
        assert all(
            e.stream == prefix + o.stream for e, o in zip(stored, output.events, strict=True)
        )
        assert all(e.producer.startswith(f"backtest-{output.run_id}/") for e in stored)
        assert [e.data for e in stored] == [e.data for e in output.events]

        position_id = opened[0].data.position_id  # type: ignore[attr-defined]
        code, out = await _invoke("audit", "position", position_id, "--database-url", target)
        assert code == 0, out
        trail = json.loads(
            (await _invoke("audit", "position", position_id, "--database-url", target, "--json"))[1]
        )
    chain = [trail["events"][0]["type"]]
    step = trail["events"][0]
    while step.get("causes"):
        step = step["causes"][0]
        chain.append(step["type"])
    assert chain[0] == "pos.opened.v1"
    assert chain[1] in ("exec.order_fill.v1", "exec.order_filled.v1")
    assert chain[2:5] == [
        "exec.order_submitted.v1",
        "risk.intent_approved.v1",
        "sig.signal_generated.v1",
    ]
    assert chain[-1].startswith("md.") and step["stream"].startswith(prefix + "md.")


async def _invoke(*args: str) -> tuple[int, str]:
    """Run `breakout ARGS` (in a thread: the commands run their own event loop)."""
    app = typer.Typer()

    @app.command("noop")
    def noop() -> None:
        """A command so the app is a group."""

    mount_plugins(app)
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args))
    return result.exit_code, result.stdout
