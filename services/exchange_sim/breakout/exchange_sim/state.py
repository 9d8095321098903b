"""State shared by the server's handlers (apart, so handler modules need not import the server)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from breakout.exchange_sim.exchange import SimExchange
from breakout.exchange_sim.faults import FaultState
from breakout.exchange_sim.protocol import ExchangeInfoCache
from breakout.exchange_sim.streams import StreamPublisher
from breakout.exchange_sim.weights import WeightMeter
from breakout.exchange_sim.ws import UserStreams, WsHub


def wall_clock_ms() -> int:
    """Wall-clock time in milliseconds."""
    return time.time_ns() // 1_000_000


@dataclass(slots=True)
class SimState:
    """Everything the handlers share."""

    exchange: SimExchange
    speed: float
    wall_ms: Callable[[], int]
    wall_start_ms: int
    sim_start_ms: int
    hub: WsHub = field(default_factory=WsHub)
    faults: FaultState = field(default_factory=FaultState)
    publisher: StreamPublisher | None = None
    user_streams: UserStreams = field(default_factory=UserStreams)
    weights: WeightMeter = field(default_factory=lambda: WeightMeter(limit_per_minute=None))
    steps_run: int = 0
    exchange_info: ExchangeInfoCache | None = None
    clock_task: asyncio.Task[None] | None = None

    def stall_remaining_ms(self) -> int:
        """How long a websocket stall fault still holds (0 when none)."""
        return max(0, self.faults.stall_until_ms - self.wall_ms())

    def sim_target_ms(self) -> int:
        """Where simulated time should be now."""
        return self.sim_start_ms + round((self.wall_ms() - self.wall_start_ms) * self.speed)


STATE = web.AppKey("state", SimState)


def state_of(request: web.Request) -> SimState:
    """The shared state of the app serving `request`."""
    return request.app[STATE]
