"""Exponential backoff with full jitter, for reconnects and retried REST calls, and the retry
loop that start-ups share (an exchange still building its markets is not a reason to exit)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog

T = TypeVar("T")
log = structlog.get_logger(__name__)


class Backoff:
    """Delays grow `factor`× per failure up to `max_s`; each is drawn in [base, cap] at random.

    Jitter keeps many symbols (or many processes) that lost the same connection from
    reconnecting in lock-step and tripping the exchange's rate limits together.
    """

    def __init__(
        self,
        base_s: float = 0.5,
        max_s: float = 30.0,
        factor: float = 2.0,
        rng: random.Random | None = None,
    ) -> None:
        self.base_s = base_s
        self.max_s = max_s
        self.factor = factor
        self.failures = 0
        self._rng = rng or random.Random()

    def next_delay_s(self) -> float:
        """The delay before the next attempt; counts one more failure."""
        cap = min(self.max_s, self.base_s * self.factor**self.failures)
        self.failures += 1
        return self._rng.uniform(min(self.base_s, cap), cap)

    def reset(self) -> None:
        """A success: the next failure starts from the base delay again."""
        self.failures = 0


async def retrying(
    request: Callable[[], Awaitable[T]],
    retry_on: tuple[type[BaseException], ...],
    backoff: Backoff | None = None,
    *,
    what: str = "call",
    temporary: Callable[[BaseException], bool] | None = None,
) -> T:
    """`request()` until it returns, waiting `backoff` after each failure in `retry_on` (that
    `temporary` accepts, if given).

    For calls a process cannot start without and whose failure is temporary (an exchange
    still starting, a network fault, a rate limit): they wait it out rather than exit into a
    restart loop; any other error propagates, and cancelling the caller ends the wait.
    """
    backoff = backoff or Backoff(base_s=0.2, max_s=10.0)
    while True:
        try:
            return await request()
        except retry_on as failed:
            if temporary is not None and not temporary(failed):
                raise
            log.warning("call failed; retrying", what=what, error=repr(failed)[:200])
            await asyncio.sleep(backoff.next_delay_s())
