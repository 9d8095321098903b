"""`breakout replay` and `breakout audit` on a scripted session recorded in real Postgres: the
replay recomputes every decision identically; a decision doctored in a copy of the log, and a
forged one, are reported with the input where the outputs first differ; a position is walked
back through its fill, order, intent and signal to the market data."""

from __future__ import annotations

import asyncio
import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import typer
from typer.testing import CliRunner

from breakout.backtest.audit_cli import run_replay
from breakout.common.cli import mount_plugins
from breakout.common.config import InfraSettings
from breakout.common.events import OrderIntentApproved, SignalGenerated
from breakout.common.store.port import EventFilter
from breakout.common.store.postgres import PostgresEventStore
from tests.integration.replay_support import SIGNALS, Session, clone_database, record_session
from tests.integration.stacks import fresh_database

pytestmark = pytest.mark.integration


def _cli() -> typer.Typer:
    app = typer.Typer()

    @app.command("noop")
    def noop() -> None:
        """A command so the app is a group."""

    assert mount_plugins(app) == []
    return app


async def invoke(*args: str) -> tuple[int, str]:
    """Run `breakout ARGS` (in a thread: the commands run their own event loop)."""
    result = await asyncio.to_thread(CliRunner().invoke, _cli(), list(args))
    return result.exit_code, result.stdout


async def _record(dsn: str, folder: Path) -> Session:
    store = await PostgresEventStore.connect(dsn)
    try:
        return await record_session(store, folder)
    finally:
        await store.close()


async def _event_position(dsn: str, tag: str) -> tuple[int, uuid.UUID]:
    store = await PostgresEventStore.connect(dsn)
    try:
        (found,) = await store.read_all(filter=EventFilter(types=(tag,)))
        return found.position, found.event_id
    finally:
        await store.close()


def _chain(step: dict[str, Any]) -> list[str]:
    """The types from a step back along its first causes."""
    types = [step["type"]]
    while step.get("causes"):
        step = step["causes"][0]
        types.append(step["type"])
    return types


async def test_a_recorded_session_replays_without_divergence_and_audits_to_market_data(
    infra: InfraSettings, tmp_path: Path
) -> None:
    async with fresh_database(infra) as dsn:
        session = await _record(dsn, tmp_path)
        preset = str(session.preset_path)
        code, out = await invoke("replay", "--database-url", dsn, "--preset", preset, "--json")
        assert code == 0, out
        report = json.loads(out)
        assert report["divergences"] == 0 and report["skipped"] == {}
        consumers = {c["consumer"]: c for c in report["consumers"]}
        assert set(consumers) == {SIGNALS, "risk", "execution"}
        for consumer in consumers.values():
            assert consumer["started_from"] == "start of log" and consumer["inputs"] > 0
            for counts in consumer["counts"].values():
                assert counts["recorded"] == counts["recomputed"] == counts["matched"] > 0
        assert consumers[SIGNALS]["counts"]["sig.signal_generated.v1"]["matched"] == 1
        assert consumers["risk"]["counts"]["risk.intent_approved.v1"]["matched"] == 1
        assert consumers["execution"]["counts"]["exec.order_submitted.v1"]["matched"] == 1
        assert consumers["execution"]["counts"]["pos.opened.v1"]["matched"] == 1

        # A window that starts at the execution core's snapshot rebuilds its state from it.
        store = await PostgresEventStore.connect(dsn)
        snapshot = await store.load_snapshot("execution")
        await store.close()
        assert snapshot is not None
        windowed = await run_replay(dsn, ["execution"], [preset], str(snapshot.position), None)
        (execution,) = windowed.consumers
        assert execution.started_from == f"snapshot at {snapshot.position}"
        assert windowed.divergences == 0

        code, out = await invoke(
            "audit", "position", session.opened.position_id, "--database-url", dsn, "--json"
        )
        assert code == 0, out
        trail = json.loads(out)
        opened = trail["events"][0]
        assert opened["type"] == "pos.opened.v1"
        chain = _chain(opened)
        assert chain[1] in ("exec.order_fill.v1", "exec.order_filled.v1")
        assert chain[2:] == [
            "exec.order_submitted.v1",
            "risk.intent_approved.v1",
            "sig.signal_generated.v1",
            "feat.indicators.v1",
            "md.candle.v1",
        ]
        steps = {}
        step = opened
        while step.get("causes"):
            step = step["causes"][0]
            steps[step["type"]] = step
        assert steps["risk.intent_approved.v1"]["reasons"]["sizing"]["capped_by"]
        assert steps["sig.signal_generated.v1"]["reasons"]["checks"]
        assert steps["exec.order_submitted.v1"]["reasons"]["purpose"] == "entry"
        assert steps["md.candle.v1"]["producer"] == "ingest"

        code, out = await invoke(
            "audit", "position", session.opened.position_id, "--database-url", dsn
        )
        assert code == 0 and "md.candle.v1" in out and "sizing" in out
        code, out = await invoke(
            "audit", "signal", session.signal.signal_id, "--database-url", dsn, "--json"
        )
        effects = json.dumps(json.loads(out)["effects"])
        assert code == 0 and "risk.intent_approved.v1" in effects and "pos.opened.v1" in effects
        code, out = await invoke("audit", "order", session.entry.order_id, "--database-url", dsn)
        assert code == 0 and "exec.order_submitted.v1" in out
        code, _ = await invoke("audit", "order", "no-such-order", "--database-url", dsn)
        assert code == 1


def _doubled_qty(row: dict[str, Any]) -> dict[str, Any]:
    if row["type"] != OrderIntentApproved.type_tag():
        return row
    data = json.loads(row["data"])
    data["qty"] = str(Decimal(data["qty"]) * 2)
    return {**row, "data": json.dumps(data)}


async def _forge_denial(dsn: str, signal_id: uuid.UUID) -> uuid.UUID:
    """Insert a denial the risk core never made, as if it had, for the recorded signal."""
    forged = uuid.uuid4()
    conn = await asyncpg.connect(dsn)
    try:
        intent = await conn.fetchrow(
            "SELECT stream, data FROM events WHERE type = $1", OrderIntentApproved.type_tag()
        )
        assert intent is not None
        data = json.loads(intent["data"])
        denial = {
            k: data[k]
            for k in (
                "signal_id",
                "preset",
                "preset_ref",
                "exchange",
                "symbol",
                "side",
                "checks",
                "ts_ms",
            )
        }
        denial |= {
            "type": "risk.order_denied.v1",
            "limit": "operator",
            "value": None,
            "threshold": None,
            "reason": "forged",
        }
        version = await conn.fetchval(
            "SELECT max(version) FROM events WHERE stream = $1", intent["stream"]
        )
        await conn.execute(
            "INSERT INTO events (stream, version, event_id, type, category, data, occurred_at,"
            " producer, causation_id, correlation_id, market_data)"
            " VALUES ($1, $2, $3, $4, 'risk', $5, now(), 'risk', $6, $6, false)",
            intent["stream"],
            version + 1,
            forged,
            "risk.order_denied.v1",
            json.dumps(denial),
            signal_id,
        )
    finally:
        await conn.close()
    return forged


async def test_a_tampered_and_a_forged_decision_are_reported_with_their_first_input(
    infra: InfraSettings, tmp_path: Path
) -> None:
    async with fresh_database(infra) as dsn, fresh_database(infra) as tampered:
        session = await _record(dsn, tmp_path)
        await clone_database(dsn, tampered, _doubled_qty)
        signal_at, signal_id = await _event_position(tampered, SignalGenerated.type_tag())
        intent_at, intent_id = await _event_position(tampered, OrderIntentApproved.type_tag())
        forged = await _forge_denial(tampered, signal_id)
        preset = str(session.preset_path)

        code, out = await invoke("replay", "--database-url", tampered, "--preset", preset, "--json")
        assert code == 1, out
        report = json.loads(out)
        consumers = {c["consumer"]: c for c in report["consumers"]}
        assert consumers[SIGNALS]["divergences"] == []

        risk = consumers["risk"]
        kinds = {(d["kind"], d["type"]): d for d in risk["divergences"]}
        assert set(kinds) == {
            ("changed", "risk.intent_approved.v1"),
            ("extra", "risk.order_denied.v1"),
        }
        changed = kinds["changed", "risk.intent_approved.v1"]
        assert changed["event_id"] == str(intent_id)
        (qty,) = [d for d in changed["diffs"] if d["path"] == "qty"]
        assert Decimal(qty["recorded"]) == 2 * Decimal(qty["recomputed"])
        assert kinds["extra", "risk.order_denied.v1"]["event_id"] == str(forged)
        assert risk["first_divergent_input"]["position"] == signal_at
        assert risk["first_divergent_input"]["event_id"] == str(signal_id)

        # Execution acted on the doctored intent: its entry differs from what it would decide
        # now, and the replay points at the intent as the input where that starts.
        execution = consumers["execution"]
        assert execution["divergences"]
        assert execution["first_divergent_input"]["position"] == intent_at

        code, out = await invoke(
            "replay", "--database-url", tampered, "--preset", preset, "--service", "risk"
        )
        assert code == 1
        assert "first differing input" in out and str(signal_id) in out and "qty" in out
        # The untouched original still replays clean.
        code, _ = await invoke("replay", "--database-url", dsn, "--preset", preset)
        assert code == 0
