"""Read-model snapshots: restored state equals folded state, and a restart uses them."""

from __future__ import annotations

import msgspec
import pytest

from breakout.common.clock import SimulatedClock
from breakout.common.events import feat_stream
from breakout.common.events.ctl_ops import KillRequested, PauseRequested, ctl_stream
from breakout.common.events.regime import NEWS_CLASSIFIED_STREAM, REGIME_STREAM
from breakout.common.events.sig import scan_stream, signal_stream
from breakout.common.runtime.application import ProcessApplication, RuntimeConfig
from breakout.common.store import InMemoryEventStore
from breakout.gateway.readmodels.base import ReadModel
from breakout.gateway.readmodels.registry import ReadModels
from tests.unit.gateway import factories as f

T0 = f.BASE_MS


async def _store() -> InMemoryEventStore:
    store = InMemoryEventStore(SimulatedClock())
    density = feat_stream("density", "binance", "BTCUSDT")
    activity = feat_stream("activity", "binance", "BTCUSDT")
    for i in range(4):
        await store.append(density, [f.new(f.wall("BTCUSDT", f"w{i}", T0 + i, 100.0 + i), T0 + i)])
        await store.append(activity, [f.new(f.activity("BTCUSDT", T0 + i, 100.0 + i), T0 + i)])
    await store.append(density, [f.new(f.eaten("BTCUSDT", "w1", T0 + 5, 101.0, 0.5), T0 + 5)])
    await store.append(density, [f.new(f.removed("BTCUSDT", "w2", T0 + 6, 102.0), T0 + 6)])
    await store.append(REGIME_STREAM, [f.new(f.regime_changed(T0 + 7), T0 + 7)])
    await store.append(NEWS_CLASSIFIED_STREAM, [f.new(f.classified(T0 + 7, "a"), T0 + 7)])
    await store.append(scan_stream("p"), [f.new(f.scan("p", T0 + 8, ["BTCUSDT"]), T0 + 8)])
    await store.append(signal_stream("p", "BTCUSDT"), [f.new(f.rejection("p", "BTCUSDT", T0), T0)])
    kill = KillRequested(level="entries", requested_by="a", reason="r")
    await store.append(ctl_stream("kill"), [f.new(kill, T0 + 9)])
    pause = PauseRequested(paused=True, requested_by="a", reason="r")
    await store.append(ctl_stream("pause"), [f.new(pause, T0 + 10)])
    await store.append("position-p1", [f.new(f.opened("p1", "BTCUSDT", T0, 100, 95), T0 + 11)])
    await store.append("position-p1", [f.new(f.closed("p1", "BTCUSDT", T0, 101), T0 + 12)])
    return store


def _state(model: ReadModel) -> bytes:
    return msgspec.json.encode(model.save())


@pytest.mark.parametrize("index", range(len(ReadModels().all())))
async def test_snapshot_restores_the_same_state(index: int) -> None:
    store = await _store()
    model = ReadModels().all()[index]
    await ProcessApplication(f"gw-{model.name}", model, store, None).start()
    assert model.position > 0, model.name
    fresh = ReadModels().all()[index]
    fresh.restore(model.snapshot())
    assert fresh.position == model.position
    assert _state(fresh) == _state(model)


async def test_restart_restores_the_snapshot_then_replays_the_rest() -> None:
    store = await _store()
    config = RuntimeConfig(snapshot_every=4, commit_batch=2)  # 6 events: snapshot after the 4th
    first = ReadModels().density
    await ProcessApplication("gw-density", first, store, None, config=config).start()
    snapshot = await store.load_snapshot("gw-density")
    assert snapshot is not None
    assert 0 < snapshot.position < first.position  # the tail comes from the log
    again = ReadModels().density
    await ProcessApplication("gw-density", again, store, None, config=config).start()
    assert _state(again) == _state(first)
    assert [w.wall_id for w in again.active("BTCUSDT")] == ["w0", "w1", "w3"]
