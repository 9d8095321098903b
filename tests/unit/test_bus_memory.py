"""What only the in-memory bus can show quickly: retention, the dedup window, subject matching."""

from __future__ import annotations

import asyncio

import pytest

from breakout.common.bus import BusError, ConsumerConfig, InMemoryBus, OutgoingMessage
from breakout.common.bus.matching import subject_matches

BTC = "md.trade.sim.BTCUSDT"


@pytest.mark.parametrize(
    ("pattern", "subject", "matches"),
    [
        ("md.trade.sim.BTCUSDT", "md.trade.sim.BTCUSDT", True),
        ("md.trade.*.BTCUSDT", "md.trade.sim.BTCUSDT", True),
        ("md.*", "md.trade.sim.BTCUSDT", False),
        ("md.>", "md.trade.sim.BTCUSDT", True),
        ("md.>", "md", False),
        ("md.trade", "md.trade.sim", False),
        ("md.trade.sim.>", "md.trade.sim", False),
    ],
)
def test_subject_matching(pattern: str, subject: str, matches: bool) -> None:
    assert subject_matches(pattern, subject) is matches


async def test_retention_moves_first_sequence_and_shows_the_gap() -> None:
    bus = InMemoryBus("t", max_msgs=3)
    pull = await bus.pull_consumer(ConsumerConfig(durable="slow", filter_subjects=(BTC,)))
    await bus.publish(OutgoingMessage(subject=BTC, payload=b"0"))
    [first] = await pull.fetch(1, timeout_s=0.1)
    await first.ack()
    for i in range(1, 6):
        await bus.publish(OutgoingMessage(subject=BTC, payload=str(i).encode()))
    assert (await bus.first_sequence(), await bus.last_sequence()) == (4, 6)
    assert await bus.get(3) is None
    # The consumer would read 2 next, but 2 and 3 are gone: the runtime sees the gap here.
    assert await pull.next_sequence() == 2 < await bus.first_sequence()
    assert [m.sequence for m in await pull.fetch(10, timeout_s=0.1)] == [4, 5, 6]


async def test_empty_after_retention_reports_last_plus_one() -> None:
    bus = InMemoryBus("t", max_msgs=0)
    assert await bus.first_sequence() == 0
    await bus.publish(OutgoingMessage(subject=BTC, payload=b"x"))
    assert (await bus.first_sequence(), await bus.last_sequence()) == (2, 1)


async def test_dedup_only_within_the_window() -> None:
    bus = InMemoryBus("t", duplicate_window_s=0.05)
    message = OutgoingMessage(subject=BTC, payload=b"x", msg_id="e-1")
    assert (await bus.publish(message)).sequence == 1
    assert (await bus.publish(message)).duplicate
    await asyncio.sleep(0.06)
    again = await bus.publish(message)
    assert (again.sequence, again.duplicate) == (2, False)


async def test_unprefixed_bus_captures_domain_roots_only() -> None:
    bus = InMemoryBus()
    await bus.publish(OutgoingMessage(subject=BTC, payload=b"x"))
    with pytest.raises(BusError):
        await bus.publish(OutgoingMessage(subject="elsewhere.x", payload=b"x"))


async def test_fetch_waits_for_a_publish() -> None:
    bus = InMemoryBus("t")
    pull = await bus.pull_consumer(ConsumerConfig(durable="w", filter_subjects=(BTC,)))
    waiting = asyncio.create_task(pull.fetch(1, timeout_s=2))
    await asyncio.sleep(0.05)
    await bus.publish(OutgoingMessage(subject=BTC, payload=b"late"))
    assert [m.data for m in await asyncio.wait_for(waiting, 1)] == [b"late"]
