"""Faults on demand: what the control endpoint accepts and the state of those that last.

A fault request is a JSON object with an `action`; those with a duration last for a number of
requests (`requests` / `count`) or of seconds, whichever ends first; with neither, one request.
Times are wall-clock milliseconds passed in by the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import msgspec


class _Fault(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, tag_field="action"):
    """Base of fault requests: tagged by `action`."""


class DropWs(_Fault, tag="drop_ws"):
    """Close every websocket connection now."""


class StallWs(_Fault, tag="stall_ws"):
    """Send nothing on any websocket for `seconds` (connections stay open; data is lost)."""

    seconds: float


class SkipDepth(_Fault, tag="skip_depth"):
    """Make the next diff-depth update ids jump by `count` (one symbol, or all)."""

    symbol: str | None = None
    count: int = 10


class RateLimit(_Fault, tag="rate_limit"):
    """Answer REST calls with 429 (or 418) and Retry-After."""

    status: Literal[429, 418] = 429
    requests: int | None = None
    seconds: float | None = None
    retry_after_s: int = 1


class RejectOrders(_Fault, tag="reject_orders"):
    """Refuse new orders with a Binance error."""

    count: int | None = None
    seconds: float | None = None
    code: int = -2010
    msg: str = "This action is disabled on this account."


class DelayOrders(_Fault, tag="delay_orders"):
    """Hold new orders for `delay_s` before matching them."""

    delay_s: float
    count: int | None = None
    seconds: float | None = None


class Restart(_Fault, tag="restart"):
    """Forget connections and faults, keep the market and accounts."""


class Clear(_Fault, tag="clear"):
    """End every lasting fault."""


Fault = DropWs | StallWs | SkipDepth | RateLimit | RejectOrders | DelayOrders | Restart | Clear
_decoder = msgspec.json.Decoder(Fault)


def decode_fault(body: bytes) -> Fault:
    """Parse a fault request; raises `msgspec.ValidationError`/`DecodeError` with the reason."""
    fault: Fault = _decoder.decode(body)
    return fault


@dataclass(slots=True)
class Window:
    """A fault that lasts for a number of uses or until a time."""

    remaining: int | None
    until_ms: int | None

    @classmethod
    def of(cls, count: int | None, seconds: float | None, now_ms: int) -> Window:
        """A window from a request's count/seconds (one use when neither is given)."""
        if count is None and seconds is None:
            count = 1
        until = now_ms + round(seconds * 1000) if seconds is not None else None
        return cls(remaining=count, until_ms=until)

    def use(self, now_ms: int) -> bool:
        """Whether the fault applies now; consumes one use if so."""
        if self.until_ms is not None and now_ms >= self.until_ms:
            return False
        if self.remaining is not None:
            if self.remaining <= 0:
                return False
            self.remaining -= 1
        return True


@dataclass(slots=True)
class FaultState:
    """Lasting faults in force."""

    rate_limit: tuple[Window, RateLimit] | None = None
    reject: tuple[Window, RejectOrders] | None = None
    delay: tuple[Window, DelayOrders] | None = None
    stall_until_ms: int = 0

    def clear(self) -> None:
        """End every lasting fault."""
        self.rate_limit = self.reject = self.delay = None
        self.stall_until_ms = 0

    def rate_limited(self, now_ms: int) -> RateLimit | None:
        """The rate-limit answer due to this request, if any."""
        if self.rate_limit is not None and self.rate_limit[0].use(now_ms):
            return self.rate_limit[1]
        return None

    def order_rejection(self, now_ms: int) -> RejectOrders | None:
        """The rejection due to this order, if any."""
        if self.reject is not None and self.reject[0].use(now_ms):
            return self.reject[1]
        return None

    def order_delay_s(self, now_ms: int) -> float:
        """How long to hold this order."""
        if self.delay is not None and self.delay[0].use(now_ms):
            return self.delay[1].delay_s
        return 0.0

    def stalled(self, now_ms: int) -> bool:
        """Whether websockets are stalled now."""
        return now_ms < self.stall_until_ms

    def describe(self, now_ms: int) -> dict[str, object]:
        """The faults in force, for `GET /_sim/state`."""
        return {
            "rate_limit": msgspec.to_builtins(self.rate_limit[1]) if self.rate_limit else None,
            "reject_orders": msgspec.to_builtins(self.reject[1]) if self.reject else None,
            "delay_orders": msgspec.to_builtins(self.delay[1]) if self.delay else None,
            "ws_stalled_ms": max(0, self.stall_until_ms - now_ms),
        }
