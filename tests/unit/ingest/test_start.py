"""Ingest's start at hundreds of symbols: history fetched a few symbols at a time, with progress."""

from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs

from breakout.ingest.config import IngestConfig
from breakout.ingest.context import HistoryGate


async def test_history_is_fetched_a_bounded_number_of_symbols_at_a_time() -> None:
    gate = HistoryGate(3)
    running, most = 0, 0

    async def fetch() -> None:
        nonlocal running, most
        async with gate.slot():
            running += 1
            most = max(most, running)
            await asyncio.sleep(0.001)
            running -= 1

    with capture_logs() as logs:
        await asyncio.gather(*(fetch() for _ in range(20)))
    assert most == 3
    assert (gate.loaded, gate.wanted) == (20, 20)
    done = [e for e in logs if e["event"] == "candle history loaded"]
    assert len(done) == 1 and done[0]["symbols"] == 20 and done[0]["of"] == 20


async def test_a_slow_history_says_how_far_it_has_come() -> None:
    now = [0.0]
    gate = HistoryGate(1, clock=lambda: now[0])

    async def fetch() -> None:
        async with gate.slot():
            now[0] += 4.0  # each symbol's history takes four (fake) seconds
            await asyncio.sleep(0)

    with capture_logs() as logs:
        await asyncio.gather(*(fetch() for _ in range(6)))
    progress = [(e["symbols"], e["elapsed_s"]) for e in logs if e["event"].startswith("candle")]
    assert progress == [(3, 12.0), (6, 24.0)]  # every ten seconds or more, and at the end


def config(**changes: object) -> IngestConfig:
    return IngestConfig(groups={"a": ("BTCUSDT",)}, group="a", **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"history_concurrency": 0}, "history_concurrency must be at least 1"),
        ({"rest_weight_per_min": 0.0}, "rest_weight_per_min must be positive"),
        ({"book_snapshot_limit": 30}, "book_snapshot_limit must be one Binance serves"),
        ({"book_snapshot_limit": 10}, "book_snapshot_limit must cover book_depth"),
    ],
)
def test_bad_start_settings_are_refused_clearly(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        config(**changes)
