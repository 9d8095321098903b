"""`breakout ml drift` against signals recorded in a real Postgres store."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
from typer.testing import CliRunner

from breakout.common.events import NewEvent
from breakout.common.events.sig import SignalGenerated
from breakout.common.store import PostgresEventStore
from breakout.ml.artifact import save_artifact
from breakout.ml.cli import app
from breakout.ml.drift import stored_signals
from breakout.ml.models import ModelSize, fit_ensemble
from tests.integration.store_support import store_dsn  # noqa: F401  (fixture)
from tests.unit.ml.factories import T0, samples

pytestmark = pytest.mark.integration
TINY = ModelSize(trees=5, boosting_rounds=5, hidden=(4,), mlp_iterations=50)


async def record(dsn: str, preset: str, signals: list[SignalGenerated]) -> None:
    store = await PostgresEventStore.connect(dsn)
    try:
        events = [
            NewEvent(
                event_id=uuid.uuid4(),
                data=msgspec.structs.replace(s, preset=preset, signal_id=str(uuid.uuid4())),
                occurred_at=datetime.fromtimestamp(s.ts_ms / 1000, tz=UTC),
                producer="test",
            )
            for s in signals
        ]
        await store.append(f"signal-{preset}.ETHUSDT", events)
    finally:
        await store.close()


def test_drift_reads_the_window_and_exits_1_when_a_feature_moved(
    store_dsn: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    data = samples(80)
    model = fit_ensemble(data, size=TINY)
    folder = save_artifact(
        model,
        data,
        out=tmp_path,
        name="drift_test",
        version=1,
        created_at=datetime(2026, 1, 2, tzinfo=UTC),
        evaluation={},
        training={},
    )
    same, moved = f"ml_same_{uuid.uuid4().hex[:6]}", f"ml_moved_{uuid.uuid4().hex[:6]}"
    asyncio.run(record(store_dsn, same, [s.signal for s in data]))
    shifted = [msgspec.structs.replace(s.signal, confidence=0.99) for s in data]
    asyncio.run(record(store_dsn, moved, shifted))

    window = asyncio.run(stored_signals(store_dsn, T0 + 40 * 60_000, preset=same))
    assert len(window) == 40 and all(s.ts_ms >= T0 + 40 * 60_000 for s in window)

    runner = CliRunner()
    args = ["drift", str(folder), "--dsn", store_dsn, "--since", str(T0)]
    stable = runner.invoke(app, [*args, "--preset", same])
    assert stable.exit_code == 0, stable.output
    assert "confidence" in stable.output and "ALERT" not in stable.output
    drifted = runner.invoke(app, [*args, "--preset", moved])
    assert drifted.exit_code == 1, drifted.output
    assert "drifted" in drifted.output and "confidence" in drifted.output
    empty = runner.invoke(app, [*args, "--preset", "ml_nothing"])
    assert empty.exit_code == 2 and "no live signals" in empty.output
