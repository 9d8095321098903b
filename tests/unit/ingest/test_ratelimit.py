"""The shared REST rate limiter: window, priorities and the 429/418 breaker."""

from __future__ import annotations

import asyncio

import pytest

from breakout.ingest.ratelimit import (
    CircuitBreaker,
    Priority,
    RateLimited,
    RateLimiter,
    SlidingWindow,
)


def test_window_waits_until_enough_weight_expires() -> None:
    window = SlidingWindow(capacity=10, window_s=60)
    window.spend(6, now=0)
    window.spend(4, now=10)
    assert window.wait_s(1, now=20) == 40  # the first spend frees at t=60
    assert window.wait_s(5, now=20) == 40
    assert window.wait_s(7, now=20) == 50  # needs both spends gone
    assert window.wait_s(1, now=60) == 0


def test_breaker_honours_retry_after_and_grows_without_it() -> None:
    breaker = CircuitBreaker(base_pause_s=1, max_pause_s=100)
    breaker.trip(now=0, retry_after_s=30, banned=False)
    assert breaker.is_open(29.9)
    assert not breaker.is_open(30)
    assert breaker.state(31) == "half_open"
    breaker.trip(now=31, retry_after_s=None, banned=True)  # second trip, banned: 1*2*4 s
    assert breaker.open_until == 39
    breaker.succeed()
    assert breaker.state(40) == "closed"


class FakeTime:
    """A monotonic clock the test moves by hand (time is an input of the limiter)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_grants_follow_priority_when_the_window_is_full() -> None:
    clock = FakeTime()
    limiter = RateLimiter(capacity=1, window_s=0.05, clock=clock)
    order: list[str] = []

    async def request(name: str) -> str:
        order.append(name)
        return name

    await limiter.call(1, Priority.LIVE, lambda: request("first"))
    background = asyncio.create_task(
        limiter.call(1, Priority.BACKGROUND, lambda: request("background"))
    )
    await asyncio.sleep(0)
    resync = asyncio.create_task(limiter.call(1, Priority.RESYNC, lambda: request("resync")))
    await asyncio.sleep(0.01)
    assert order == ["first"]  # window full: both wait
    clock.now = 0.06
    await asyncio.wait_for(resync, 2)
    clock.now = 0.12
    await asyncio.wait_for(background, 2)
    assert order == ["first", "resync", "background"]


async def test_a_429_holds_every_caller_until_retry_after() -> None:
    clock = FakeTime()
    limiter = RateLimiter(capacity=100, window_s=60, clock=clock)

    async def refused() -> None:
        raise RateLimited("429", retry_after_s=5)

    with pytest.raises(RateLimited):
        await limiter.call(1, Priority.LIVE, refused)
    assert limiter.breaker.state(clock.now) == "open"

    async def ok() -> str:
        return "ok"

    waiting = asyncio.create_task(limiter.call(1, Priority.RESYNC, ok))
    await asyncio.sleep(0.02)
    assert not waiting.done()
    clock.now = 5.0
    limiter._wake.set()  # the pump sleeps on the real clock; nudge it to re-read the fake one
    assert await asyncio.wait_for(waiting, 2) == "ok"
    assert limiter.breaker.state(clock.now) == "closed"
