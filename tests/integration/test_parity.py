"""Live / replay / backtest parity (issue 9, "Must show").

A scripted session (exchange_sim: a compression then a breakout on ETHUSDT, a fake-out on
SOLUSDT) runs live over NATS + Postgres: ccxt -> ingest -> relay -> features -> signals -> risk ->
execution with the paper broker. Then (a) `replay` re-runs every core over the store: zero
divergences; (b) a backtest with that store as its data source (the recorded md.* events) runs
the same cores in market time: its signals, order intents and fills are compared with the live
run's by id and by field (see docs/backtest.md, "Parity", for what is identical and why).
"""

from __future__ import annotations

from typing import Any

import pytest

from breakout.backtest.auditlog import PostgresAuditLog
from breakout.backtest.inputs import from_store
from breakout.backtest.replay import replay
from breakout.backtest.run import RunOptions, run_backtest
from breakout.common.config import InfraSettings
from breakout.common.events import (
    OrderDenied,
    OrderFillReceived,
    OrderIntentApproved,
    OrderSubmitted,
    RecordedEvent,
    SignalGenerated,
)
from breakout.common.store.postgres import PostgresEventStore
from tests.chaos.session import load_recording
from tests.integration.parity_support import (
    LATENCY_MS,
    LiveSession,
    consumers,
    market_entries,
    run_live,
)
from tests.integration.stacks import open_stack

pytestmark = [pytest.mark.integration, pytest.mark.slow]
COMPARED = (SignalGenerated, OrderIntentApproved, OrderDenied, OrderSubmitted, OrderFillReceived)


def _by_id(events: list[RecordedEvent]) -> dict[str, dict[Any, Any]]:
    out: dict[str, dict[Any, Any]] = {cls.__name__: {} for cls in COMPARED}
    for event in events:
        if isinstance(event.data, COMPARED):
            out[type(event.data).__name__][event.event_id] = event.data
    return out


def _diff(live: dict[Any, Any], test: dict[Any, Any]) -> list[str]:
    lines = []
    for event_id in sorted(set(live) | set(test), key=str):
        a, b = live.get(event_id), test.get(event_id)
        if a is None or b is None:
            lines.append(f"  {event_id}: only in {'backtest' if a is None else 'live'}: {a or b}")
        elif a != b:
            fields = [f for f in a.__struct_fields__ if getattr(a, f) != getattr(b, f)]
            for f in fields:
                lines.append(f"  {event_id}.{f}: live {getattr(a, f)!r} / bt {getattr(b, f)!r}")
    return lines


@pytest.mark.timeout(900)
async def test_live_run_replays_and_backtests_to_the_same_decisions(
    infra: InfraSettings, bus_prefix: str
) -> None:
    recording = load_recording()
    preset, features = market_entries(recording.preset), recording.features
    async with open_stack("real", infra, bus_prefix) as stack:
        live: LiveSession = await run_live(stack, preset, recording)
        store = await PostgresEventStore.connect(live.dsn)
        reads = await PostgresAuditLog.connect(live.dsn)
        try:
            cores = consumers(preset, features, live.venue)
            replayed = await replay(store, reads, cores)
        finally:
            await reads.close()
            await store.close()
        data = await from_store(live.dsn, live.start_ms, live.end_ms)
    for consumer in replayed.consumers:
        assert consumer.inputs > 0, consumer.consumer
    assert replayed.divergences == 0, replayed.consumers

    options = RunOptions(
        data=live.dsn, start_ms=live.start_ms, end_ms=live.end_ms, latency_ms=LATENCY_MS
    )
    output = await run_backtest(preset, data, options, features=features)
    assert output.preset.ref() == preset.ref(), output.adaptations
    recorded, tested = _by_id(live.events), _by_id(output.events)
    problems = []
    for name in recorded:
        problems += [f"{name}:", *_diff(recorded[name], tested[name])]
    counts = {name: (len(found), len(tested[name])) for name, found in recorded.items()}
    print("live / backtest:", counts)
    assert all(not line.startswith("  ") for line in problems), "\n".join(problems)
    for name in ("SignalGenerated", "OrderIntentApproved", "OrderSubmitted", "OrderFillReceived"):
        assert recorded[name], f"the session must go as far as {name}"
