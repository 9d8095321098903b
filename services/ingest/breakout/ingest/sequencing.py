"""Trade-id continuity: tell new trades from repeats and find the ids a feed skipped.

Binance aggregate trade ids rise by exactly one per symbol, so a hole in the ids is a hole in
the data. The websocket never re-sends what it missed during an outage; the shell fills a
reported hole from REST (`aggTrades?fromId=`) before it records the live trades after it.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from breakout.common.events import MarketTrade


class TradeHole(msgspec.Struct, frozen=True):
    """Trade ids `first_id`..`last_id` (inclusive) are missing."""

    first_id: int
    last_id: int

    @property
    def size(self) -> int:
        """How many trades are missing."""
        return self.last_id - self.first_id + 1


class Accepted(msgspec.Struct, frozen=True):
    """Trades to record now, in id order, and the hole (if any) that precedes them."""

    trades: list[MarketTrade]
    hole: TradeHole | None = None


class TradeSequencer:
    """Per-symbol cursor over trade ids; `last_id` is the last id recorded (None: none yet)."""

    def __init__(self, last_id: int | None = None) -> None:
        self.last_id = last_id

    def accept(self, batch: Sequence[MarketTrade]) -> Accepted:
        """Drop repeats, sort, and report a hole between `last_id` and the batch's first id.

        Holes *inside* a batch are reported too: the batch is cut at the first one, and the
        rest comes back on the next call after the shell filled the hole.
        """
        fresh = sorted(
            (t for t in batch if self.last_id is None or t.trade_id > self.last_id),
            key=lambda t: t.trade_id,
        )
        out: list[MarketTrade] = []
        expected = None if self.last_id is None else self.last_id + 1
        for trade in fresh:
            if out and trade.trade_id == out[-1].trade_id:
                continue  # the same trade twice in one batch
            if expected is not None and trade.trade_id > expected:
                if not out:
                    return Accepted([], TradeHole(expected, trade.trade_id - 1))
                break
            out.append(trade)
            expected = trade.trade_id + 1
        if out:
            self.last_id = out[-1].trade_id
        return Accepted(out)

    def pending_after(self, batch: Sequence[MarketTrade]) -> list[MarketTrade]:
        """The trades of `batch` not yet recorded (to re-offer after filling a hole)."""
        if self.last_id is None:
            return list(batch)
        return [t for t in batch if t.trade_id > self.last_id]
