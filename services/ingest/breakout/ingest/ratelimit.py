"""One rate limiter for all of a process's REST calls: sliding window, priorities, breaker.

Binance counts request *weight* per minute per IP; going over earns 429s and then 418 bans.
Every REST call of the process takes weight from one `RateLimiter` before it is sent, so a
burst of backfills cannot starve the calls that matter (an order-book resync outranks a
candle check), and a 429 or 418 opens a circuit breaker that holds every caller until the
exchange's `Retry-After` has passed, then lets one probe through before reopening the gate.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections import deque
from collections.abc import Awaitable, Callable
from enum import IntEnum
from typing import TypeVar

T = TypeVar("T")


class Priority(IntEnum):
    """Lower value is served first."""

    RESYNC = 0  # order-book snapshots and trade backfill: data is missing without them
    LIVE = 1  # tickers and candle backfill that the scanner waits on
    BACKGROUND = 2  # candle checks, history


class RateLimited(Exception):
    """The exchange refused a call for rate reasons (HTTP 429 or 418)."""

    def __init__(self, message: str, retry_after_s: float | None = None, banned: bool = False):
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.banned = banned


class SlidingWindow:
    """Weight spent in the last `window_s` seconds, against a `capacity`."""

    def __init__(self, capacity: float, window_s: float) -> None:
        self.capacity = capacity
        self.window_s = window_s
        self._spent: deque[tuple[float, float]] = deque()
        self._total = 0.0

    def _expire(self, now: float) -> None:
        while self._spent and self._spent[0][0] <= now - self.window_s:
            self._total -= self._spent.popleft()[1]

    def wait_s(self, weight: float, now: float) -> float:
        """0 if `weight` fits now, else how long until enough of the window expires."""
        self._expire(now)
        excess = self._total + weight - self.capacity
        if excess <= 0 or not self._spent:
            return 0.0
        freed = 0.0
        for at, w in self._spent:
            freed += w
            if freed >= excess:
                return at + self.window_s - now
        return self._spent[-1][0] + self.window_s - now

    def spend(self, weight: float, now: float) -> None:
        """Record `weight` spent at `now`."""
        self._spent.append((now, weight))
        self._total += weight

    @property
    def spent(self) -> float:
        """Weight currently counted in the window."""
        return self._total


class CircuitBreaker:
    """Closed -> open (for the exchange's retry-after, or a growing pause) -> half-open probe."""

    def __init__(self, base_pause_s: float = 1.0, max_pause_s: float = 300.0) -> None:
        self.base_pause_s = base_pause_s
        self.max_pause_s = max_pause_s
        self.open_until = 0.0
        self.trips = 0
        self.probing = False

    def trip(self, now: float, retry_after_s: float | None, banned: bool) -> None:
        """A 429/418 arrived: hold every caller until the pause is over."""
        growing = self.base_pause_s * 2**self.trips * (4 if banned else 1)
        pause = max(retry_after_s or 0.0, min(self.max_pause_s, growing))
        self.open_until = max(self.open_until, now + pause)
        self.trips += 1
        self.probing = False

    def succeed(self) -> None:
        """A call went through: the breaker closes fully."""
        self.trips = 0
        self.probing = False

    def is_open(self, now: float) -> bool:
        """Whether callers must wait (a probe may pass once the pause is over)."""
        return now < self.open_until

    def state(self, now: float) -> str:
        """`closed`, `open` or `half_open` (for metrics and health)."""
        if self.trips == 0:
            return "closed"
        return "open" if now < self.open_until else "half_open"


class RateLimiter:
    """Grants REST calls in priority order within the window and while the breaker is closed."""

    def __init__(
        self,
        capacity: float = 6000.0,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.window = SlidingWindow(capacity, window_s)
        self.breaker = breaker or CircuitBreaker()
        self._clock = clock
        self._queue: list[tuple[int, int, float, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._pump_task: asyncio.Task[None] | None = None

    async def call(
        self, weight: float, priority: Priority, request: Callable[[], Awaitable[T]]
    ) -> T:
        """Wait for a grant, run `request`; trip the breaker if it raises `RateLimited`."""
        await self._acquire(weight, priority)
        try:
            result = await request()
        except RateLimited as refused:
            self.breaker.trip(self._clock(), refused.retry_after_s, refused.banned)
            self._wake.set()
            raise
        except BaseException:
            # Not a verdict on the rate: let another caller probe.
            self.breaker.probing = False
            self._wake.set()
            raise
        self.breaker.succeed()
        self._wake.set()
        return result

    async def _acquire(self, weight: float, priority: Priority) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._queue, (int(priority), next(self._seq), weight, future))
        if self._pump_task is None or self._pump_task.done():
            self._pump_task = asyncio.create_task(self._pump(), name="rate-limiter")
        self._wake.set()
        await future

    async def _pump(self) -> None:
        # One task hands out grants so the order is strictly by priority, then arrival.
        while self._queue:
            now = self._clock()
            if self._queue[0][3].cancelled():
                heapq.heappop(self._queue)
                continue
            if self.breaker.is_open(now):
                delay = self.breaker.open_until - now
            elif self.breaker.trips and self.breaker.probing:
                delay = 1.0  # a probe is in flight: wait for its verdict (woken early)
            else:
                _, _, weight, future = self._queue[0]
                delay = self.window.wait_s(weight, now)
                if delay <= 0:
                    heapq.heappop(self._queue)
                    self.window.spend(weight, now)
                    self.breaker.probing = self.breaker.trips > 0
                    future.set_result(None)
                    continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    def now(self) -> float:
        """The limiter's clock."""
        return self._clock()

    @property
    def waiting(self) -> int:
        """Callers queued for a grant."""
        return len(self._queue)
