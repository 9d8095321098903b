"""Read models folded from the log through the runtime's store-only path (the replay path)."""

from __future__ import annotations

from breakout.common.clock import SimulatedClock
from breakout.common.events import feat_stream
from breakout.common.events.ctl_ops import (
    KillRequested,
    KillResetRequested,
    PauseRequested,
    ctl_stream,
)
from breakout.common.runtime.application import ProcessApplication
from breakout.common.store import InMemoryEventStore
from breakout.gateway.readmodels.control import ControlBoard
from breakout.gateway.readmodels.density import DensityWalls
from breakout.gateway.readmodels.features import FeatureBoard
from breakout.gateway.readmodels.recent import RecentEvents
from tests.unit.gateway import factories as f

T0 = f.BASE_MS


async def _store() -> InMemoryEventStore:
    store = InMemoryEventStore(SimulatedClock())
    density = feat_stream("density", "binance", "BTCUSDT")
    await store.append(density, [f.new(f.wall("BTCUSDT", "w1", T0, 100.0), T0, "w1")])
    await store.append(density, [f.new(f.wall("BTCUSDT", "w2", T0 + 1, 90.0), T0 + 1, "w2")])
    await store.append(density, [f.new(f.eaten("BTCUSDT", "w1", T0 + 2, 100.0, 0.5), T0 + 2)])
    await store.append(density, [f.new(f.removed("BTCUSDT", "w2", T0 + 3, 90.0), T0 + 3)])
    await store.append(
        feat_stream("activity", "binance", "BTCUSDT"),
        [f.new(f.activity("BTCUSDT", T0 + 4, 101.0), T0 + 4)],
    )
    await store.append(
        feat_stream("levels", "binance", "ETHUSDT"),
        [f.new(f.levels("ETHUSDT", T0 + 5, 2100.0, 1900.0), T0 + 5)],
    )
    await store.append(
        "position-p1", [f.new(f.opened("p1", "BTCUSDT", T0 + 6, 100.0, 95.0), T0 + 6)]
    )
    await store.append(
        "position-p2", [f.new(f.opened("p2", "ETHUSDT", T0 + 7, 2000.0, 1950.0), T0 + 7)]
    )
    await store.append("position-p2", [f.new(f.closed("p2", "ETHUSDT", T0 + 8, 2050.0), T0 + 8)])
    return store


async def test_density_walls_follow_detect_eat_remove() -> None:
    store = await _store()
    walls = DensityWalls()
    await ProcessApplication("gw.density", walls, store, None).start()
    [standing] = walls.active("BTCUSDT")
    assert standing.wall_id == "w1"
    assert standing.eaten_ratio == 0.5
    assert standing.remaining_qty == 20.0
    [gone] = walls.removed("BTCUSDT")
    assert (gone.wall_id, gone.removed_cause) == ("w2", "eaten")
    assert walls.active("ETHUSDT") == []
    assert await store.checkpoint("gw.density") == 4  # its own checkpoint, at its last event


async def test_feature_board_keeps_the_latest_of_each_kind_per_symbol() -> None:
    store = await _store()
    board = FeatureBoard()
    await ProcessApplication("gw.features", board, store, None).start()
    assert board.symbols() == ["BTCUSDT", "ETHUSDT"]
    latest = board.get("BTCUSDT", "activity")
    assert latest is not None
    assert latest.data.last_price == 101.0  # type: ignore[attr-defined]
    assert board.get("BTCUSDT", "levels") is None
    assert set(board.all_of("ETHUSDT")) == {"levels"}


async def test_a_read_model_is_rebuilt_from_the_log_on_restart() -> None:
    store = await _store()
    await ProcessApplication("gw.density", DensityWalls(), store, None).start()
    rebuilt = DensityWalls()
    await ProcessApplication("gw.density", rebuilt, store, None).start()  # replay to checkpoint
    assert [w.wall_id for w in rebuilt.active("BTCUSDT")] == ["w1"]
    assert rebuilt.position == 4


async def test_generic_trading_model_merges_streams_and_drops_closed_ones() -> None:
    store = await _store()
    trading = RecentEvents("trading", ("pos",))
    await ProcessApplication("gw.trading", trading, store, None).start()
    open_ = trading.streams("position", exclude_types=("pos.e2e_closed.",))
    assert [v.stream for v in open_] == ["position-p1"]
    assert open_[0].fields["entry_price"] == "100.0"
    everything = trading.streams("position")
    p2 = next(v for v in everything if v.stream == "position-p2")
    assert p2.fields["exit_price"] == "2050.0"  # merged across the stream's events
    assert p2.fields["entry_price"] == "2000.0"
    assert p2.events == 2
    assert [e.stream for e in trading.recent("pos.closed.>")] == ["position-p2"]
    assert set(trading.latest_by_subject("pos.>")) == {
        "pos.opened.BTCUSDT",
        "pos.opened.ETHUSDT",
        "pos.closed.ETHUSDT",
    }


async def test_control_board_folds_kill_reset_and_pause() -> None:
    store = InMemoryEventStore(SimulatedClock())
    kill = KillRequested(level="flatten", requested_by="alice", reason="drawdown")
    await store.append(ctl_stream("kill"), [f.new(kill, T0, "k")])
    await store.append(
        ctl_stream("pause"),
        [f.new(PauseRequested(paused=True, preset="p1", requested_by="bob", reason="x"), T0 + 1)],
    )
    board = ControlBoard()
    await ProcessApplication("gw.control", board, store, None).start()
    assert board.kill.tripped
    assert (board.kill.level, board.kill.requested_by) == ("flatten", "alice")
    assert [p.preset for p in board.paused()] == ["p1"]
    await store.append(
        ctl_stream("kill_reset"),
        [f.new(KillResetRequested(requested_by="alice", reason="ok"), T0 + 2)],
    )
    await ProcessApplication("gw.control", board2 := ControlBoard(), store, None).start()
    assert not board2.kill.tripped
    assert len(board2.commands) == 3
