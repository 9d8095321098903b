"""Request weights as Binance counts them, per client IP and per wall-clock minute.

Every REST answer carries `X-MBX-USED-WEIGHT-1M`; past the limit (Binance: 6,000 a minute)
requests get HTTP 429 `{"code": -1003, ...}` with `Retry-After` until the minute ends. Weights
follow Binance's spot documentation for the endpoints served here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

MINUTE_MS = 60_000
BINANCE_LIMIT_PER_MINUTE = 6_000

_FIXED: dict[tuple[str, str], int] = {
    ("GET", "ping"): 1,
    ("GET", "time"): 1,
    ("GET", "exchangeInfo"): 20,
    ("GET", "trades"): 25,
    ("GET", "historicalTrades"): 25,
    ("GET", "aggTrades"): 4,
    ("GET", "klines"): 2,
    ("GET", "uiKlines"): 2,
    ("GET", "avgPrice"): 2,
    ("POST", "order"): 1,
    ("POST", "order/test"): 1,
    ("DELETE", "order"): 1,
    ("GET", "order"): 4,
    ("DELETE", "openOrders"): 1,
    ("GET", "allOrders"): 20,
    ("GET", "myTrades"): 20,
    ("GET", "account"): 20,
}


def _depth_weight(limit: int) -> int:
    for upper, weight in ((100, 5), (500, 25), (1000, 50)):
        if limit <= upper:
            return weight
    return 250


def _symbol_count(params: Mapping[str, str]) -> int | None:
    """Symbols named by `symbol` / `symbols`, None when all are asked for."""
    if params.get("symbol"):
        return 1
    if params.get("symbols"):
        try:
            names = json.loads(params["symbols"])
        except json.JSONDecodeError:
            return 1
        return len(names) if isinstance(names, list) else 1
    return None


def request_weight(method: str, endpoint: str, params: Mapping[str, str]) -> int:
    """Weight of one request to `/api/v3/<endpoint>`."""
    fixed = _FIXED.get((method, endpoint))
    if fixed is not None:
        return fixed
    count = _symbol_count(params)
    if endpoint == "depth":
        limit = params.get("limit", "100")
        return _depth_weight(int(limit) if limit.isdigit() else 100)
    if endpoint == "ticker/24hr":
        if count is None:
            return 80
        return 2 if count <= 20 else 40 if count <= 100 else 80
    if endpoint in ("ticker/price", "ticker/bookTicker"):
        return 2 if count is not None else 4
    if endpoint == "openOrders":
        return 6 if params.get("symbol") else 80
    return 1


@dataclass(slots=True)
class WeightMeter:
    """Weight used per client in the current wall-clock minute."""

    limit_per_minute: int | None = BINANCE_LIMIT_PER_MINUTE
    _minute: int = -1
    _used: dict[str, int] = field(default_factory=dict)

    def charge(self, client: str, weight: int, wall_ms: int) -> tuple[int, int | None]:
        """Count a request; returns the weight used this minute and, when over the limit,
        the seconds until the minute ends (the request is then refused and not counted)."""
        minute = wall_ms // MINUTE_MS
        if minute != self._minute:
            self._minute = minute
            self._used.clear()
        used = self._used.get(client, 0)
        if self.limit_per_minute is not None and used + weight > self.limit_per_minute:
            retry_after_s = ((minute + 1) * MINUTE_MS - wall_ms + 999) // 1000
            return used, retry_after_s
        self._used[client] = used + weight
        return used + weight, None
