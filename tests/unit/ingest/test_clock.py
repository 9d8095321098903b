"""Ingest's view of the exchange's clock, which decides when a candle is over."""

from __future__ import annotations

from typing import Any

from breakout.ingest.config import IngestConfig
from breakout.ingest.context import IngestContext
from breakout.ingest.ratelimit import RateLimiter


def context(now: list[int]) -> IngestContext:
    config = IngestConfig(groups={"a": ("BTCUSDT",)}, group="a")
    unused: Any = None  # neither the exchange client nor the writer is touched here
    return IngestContext(config, unused, RateLimiter(100.0, 60.0), unused, now_ms=lambda: now[0])


def test_before_any_print_it_is_our_clock_corrected_by_the_servers() -> None:
    now = [1_000_000]
    ctx = context(now)
    assert ctx.exchange_now_ms() == 1_000_000
    ctx.clock_offset_ms = -40_000
    assert ctx.exchange_now_ms() == 960_000


def test_a_backlog_keeps_it_at_the_prints_not_at_our_clock() -> None:
    now = [1_000_000]
    ctx = context(now)
    # Prints arriving 30 s late (ingest works through a backlog): the minute they belong to
    # is not over just because our clock says so.
    for _ in range(10):
        now[0] += 100
        ctx.saw_exchange_time(now[0] - 30_000)
        assert ctx.exchange_now_ms() == now[0] - 30_000
    # An older print (another symbol's, out of order) does not move it back.
    ctx.saw_exchange_time(now[0] - 45_000)
    assert ctx.exchange_now_ms() == now[0] - 30_000


def test_with_no_new_print_it_advances_with_our_clock() -> None:
    now = [1_000_000]
    ctx = context(now)
    ctx.saw_exchange_time(1_020_000)  # an exchange clock 20 s ahead of ours
    now[0] += 90_000  # a quiet minute and a half
    assert ctx.exchange_now_ms() == 1_110_000
