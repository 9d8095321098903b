"""The process-application shell over the in-memory store (the backtest/replay path)."""

from __future__ import annotations

import pytest

from breakout.common.clock import SimulatedClock
from breakout.common.events import MessageDeadLettered, dead_letter_stream
from breakout.common.runtime.application import ConsumerFenced, ProcessApplication, RuntimeConfig
from breakout.common.store import InMemoryEventStore
from tests.support.sample import RunningTotal, TotalUpdated, tick


async def _seeded(n: int, keys: str = "AB") -> InMemoryEventStore:
    store = InMemoryEventStore(SimulatedClock())
    for seq in range(n):
        key = keys[seq % len(keys)]
        await store.append(f"tick-{key}", [tick(key, seq, amount=seq)])
    return store


async def test_catch_up_processes_every_event_once_with_derived_ids() -> None:
    store = await _seeded(20)
    app = ProcessApplication("totals", RunningTotal(), store, None)
    await app.start()
    outputs = await store.read_stream("total-A")
    assert [e.data.total for e in outputs if isinstance(e.data, TotalUpdated)][-1] == sum(
        range(0, 20, 2)
    )
    assert await store.checkpoint("totals") == 20
    first = outputs[0]
    assert first.producer == "totals"
    assert first.causation_id is not None
    assert first.correlation_id is not None

    # A second instance starting from the same store does nothing again.
    again = ProcessApplication("totals", RunningTotal(), store, None)
    await again.start()
    assert await store.head_position() == 40
    assert again.core.state.totals == app.core.state.totals  # type: ignore[attr-defined]


async def test_restart_rebuilds_state_from_snapshot_plus_events() -> None:
    store = await _seeded(30)
    config = RuntimeConfig(snapshot_every=7, commit_batch=4)  # snapshots fall mid-log
    await ProcessApplication("totals", RunningTotal(), store, None, config=config).start()
    snapshot = await store.load_snapshot("totals")
    assert snapshot is not None
    assert 0 < snapshot.position < 30

    for seq in range(30, 36):
        await store.append("tick-A", [tick("A", seq, amount=1)])
    restarted = ProcessApplication("totals", RunningTotal(), store, None, config=config)
    await restarted.start()
    totals = await store.read_stream("total-A")
    assert isinstance(totals[-1].data, TotalUpdated)
    assert totals[-1].data.total == sum(range(0, 30, 2)) + 6
    assert totals[-1].data.count == 21
    assert [e.version for e in totals] == list(range(1, 22))


async def test_failing_handler_is_dead_lettered_and_consumer_moves_on() -> None:
    store = InMemoryEventStore(SimulatedClock())
    await store.append("tick-A", [tick("A", 0), tick("A", 1, poison=True), tick("A", 2)])
    app = ProcessApplication("totals", RunningTotal(), store, None)
    await app.start()
    letters = await store.read_stream(dead_letter_stream("totals"))
    assert len(letters) == 1
    letter = letters[0].data
    assert isinstance(letter, MessageDeadLettered)
    assert "poisoned tick 1" in letter.reason
    assert letter.input_position == 2
    assert letters[0].data.subject() == "dlq.totals"
    assert [e.data.input_seq for e in await store.read_stream("total-A")] == [0, 2]  # type: ignore[attr-defined]
    assert await store.checkpoint("totals") == 3


async def test_consumer_reads_only_its_subjects() -> None:
    store = await _seeded(4)
    app = ProcessApplication("totals", RunningTotal(), store, None)
    await app.start()
    # Its own outputs (category "total") are in the store but never fed back to it.
    assert app.checkpoint == 4
    assert await store.stream_version("total-A") == 2


async def test_a_second_instance_of_a_consumer_is_fenced_not_duplicated() -> None:
    store = await _seeded(6)
    stale = ProcessApplication("totals", RunningTotal(), store, None)
    await ProcessApplication("totals", RunningTotal(), store, None).start()
    outputs_before = await store.head_position()
    with pytest.raises(ConsumerFenced, match="committed up to 6"):
        await stale.catch_up()  # never recovered: thinks it is at 0
    assert await store.head_position() == outputs_before
