"""Labels: did a signal reach +1 R before its stop, on the market data recorded after it?

R is the signal's own risk, `|entry_price - stop_price|`. From the first trade after the
signal's time (`ts_ms`, exclusive) the prints of its symbol are walked in exchange-time order:
the first print at or beyond `entry + R` (long; `entry - R` for a short) labels it 1, the first
print at or beyond the stop labels it 0. A print that reaches both cannot happen (R > 0). A
signal that reaches neither within `horizon_ms` (or before the data ends) is left unlabelled
(None) and is not trained on: it says nothing about which came first.
"""

from __future__ import annotations

from collections.abc import Iterable

from breakout.common.events.sig import TradeSide

DEFAULT_HORIZON_MS = 3_600_000


class LabelError(ValueError):
    """A signal that cannot be labelled (no risk: the stop is at the entry)."""


def label_path(
    side: TradeSide,
    entry: float,
    stop: float,
    ts_ms: int,
    path: Iterable[tuple[int, float]],
    *,
    horizon_ms: int = DEFAULT_HORIZON_MS,
) -> int | None:
    """1 if `path` ((exchange ms, price), in time order) reaches +1 R first, 0 if the stop, else
    None (neither within `horizon_ms` after `ts_ms`)."""
    risk = abs(entry - stop)
    if risk <= 0:
        raise LabelError(f"stop {stop} equals entry {entry}: R is zero")
    if (side == "long" and stop > entry) or (side == "short" and stop < entry):
        raise LabelError(f"{side} stop {stop} is on the wrong side of entry {entry}")
    target = entry + risk if side == "long" else entry - risk
    end_ms = ts_ms + horizon_ms
    for at_ms, price in path:
        if at_ms <= ts_ms:
            continue
        if at_ms > end_ms:
            return None
        if side == "long":
            if price >= target:
                return 1
            if price <= stop:
                return 0
        else:
            if price <= target:
                return 1
            if price >= stop:
                return 0
    return None
