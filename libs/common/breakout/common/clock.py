"""Injected clocks: cores never read time; shells and tests pick a live or a simulated clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Source of the current time for a service shell."""

    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        ...


class LiveClock:
    """The wall clock."""

    def now(self) -> datetime:
        """Current wall-clock time in UTC."""
        return datetime.now(UTC)


class SimulatedClock:
    """A clock that moves only when told to (backtests, replays, tests)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2024, 1, 1, tzinfo=UTC)
        if self._now.tzinfo is None:
            raise ValueError("SimulatedClock needs a timezone-aware start")

    def now(self) -> datetime:
        """The simulated current time."""
        return self._now

    def advance(self, seconds: float) -> datetime:
        """Move time forward by `seconds` and return the new time."""
        if seconds < 0:
            raise ValueError("time does not go backwards")
        self._now += timedelta(seconds=seconds)
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to `when` (never backwards)."""
        if when < self._now:
            raise ValueError(f"time does not go backwards: {when} < {self._now}")
        self._now = when
