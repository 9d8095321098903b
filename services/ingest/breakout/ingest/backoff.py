"""Exponential backoff with full jitter, for reconnects and retried REST calls."""

from __future__ import annotations

import random


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
