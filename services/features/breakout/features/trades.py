"""Rolling trade windows (10 s / 60 s / 300 s): TPM, TPS, buy/sell, volume delta, notional.

One log holds the trades of the longest window, oldest first; each window keeps the index of
its oldest trade and running sums, so a trade costs O(1) amortised: it is added once and
evicted once per window. The sums are exact (`exact.py`): a window's figures equal a
recomputation over the trades it holds, bit for bit, however long the symbol has traded.

A window ending at `now` holds the trades with `now - window < ts <= now`. Time is exchange
time and never goes back: a trade stamped earlier than one already seen counts at the later
time (exchanges stamp trades in id order, so this only absorbs clock jitter between feeds).
"""

from __future__ import annotations

import msgspec

from breakout.common.events import MarketTrade
from breakout.common.events.feat import WindowStats
from breakout.features.config import TradeWindowsConfig
from breakout.features.exact import from_fixed, to_fixed

# (exchange ts ms, price, qty, taker is buyer, latency ms)
LoggedTrade = tuple[int, float, float, bool, int]
# (taker is buyer, latency ms, qty fixed-point, notional fixed-point)
_Amounts = tuple[bool, int, int, int]

# The log is cut in front of the longest window once this many trades, or an eighth of the
# log, lie before it: the dead entries stay under an eighth of the log (plus this floor) for a
# busy symbol and a quiet one alike, and each cut moves at most 8 pointers per evicted trade.
_COMPACT_AT = 64


class WindowSums:
    """Exact running sums of one window over the shared trade log."""

    __slots__ = (
        "buy_notional",
        "buy_qty",
        "latency_ms",
        "sell_notional",
        "sell_qty",
        "start",
        "trades",
        "window_ms",
    )

    def __init__(self, window_ms: int, start: int = 0) -> None:
        self.window_ms = window_ms
        self.start = start
        self.trades = 0
        self.latency_ms = 0
        self.buy_qty = 0
        self.sell_qty = 0
        self.buy_notional = 0
        self.sell_notional = 0

    def add(self, amounts: _Amounts, sign: int) -> None:
        """Add (`sign` = 1) or remove (`sign` = -1) one trade's amounts."""
        is_buy, latency, qty, notional = amounts
        self.trades += sign
        self.latency_ms += sign * latency
        if is_buy:
            self.buy_qty += sign * qty
            self.buy_notional += sign * notional
        else:
            self.sell_qty += sign * qty
            self.sell_notional += sign * notional

    def stats(self) -> WindowStats:
        """The window's figures as an event part."""
        window_s = self.window_ms // 1000
        buy_qty, sell_qty = from_fixed(self.buy_qty), from_fixed(self.sell_qty)
        buy_notional, sell_notional = from_fixed(self.buy_notional), from_fixed(self.sell_notional)
        return WindowStats(
            window_s=window_s,
            trades=self.trades,
            tpm=self.trades * 60.0 / window_s,
            tps=self.trades / window_s,
            buy_qty=buy_qty,
            sell_qty=sell_qty,
            volume_delta=from_fixed(self.buy_qty - self.sell_qty),
            notional=from_fixed(self.buy_notional + self.sell_notional),
            buy_notional=buy_notional,
            sell_notional=sell_notional,
            buy_sell_ratio=buy_qty / sell_qty if self.sell_qty > 0 else None,
            mean_latency_ms=self.latency_ms / self.trades if self.trades else None,
        )

    @property
    def abs_volume_delta(self) -> float:
        """|taker buy - taker sell| quantity."""
        return abs(from_fixed(self.buy_qty - self.sell_qty))


class TradeAggregatorState(msgspec.Struct, kw_only=True):
    """What a snapshot keeps: the log and where each window starts (sums are rebuilt)."""

    log: list[LoggedTrade]
    starts: list[int]
    clock_ms: int
    last_price: float | None
    last_latency_ms: int | None


def _amounts(trade: LoggedTrade) -> _Amounts:
    _, price, qty, is_buy, latency = trade
    return (is_buy, latency, to_fixed(qty), to_fixed(price * qty))


class TradeAggregator:
    """Rolling trade statistics of one symbol over every configured window."""

    def __init__(self, config: TradeWindowsConfig) -> None:
        self.config = config
        self.windows = [WindowSums(w * 1000) for w in config.windows_s]
        self.log: list[LoggedTrade] = []
        self._amounts: list[_Amounts] = []
        self.clock_ms = 0
        self.last_price: float | None = None
        self.last_latency_ms: int | None = None

    def add(self, trade: MarketTrade) -> None:
        """Fold one trade into every window."""
        if not (trade.price > 0 and trade.qty > 0):
            raise ValueError(f"trade {trade.trade_id}: price and qty must be > 0")
        ts_ms = max(trade.exchange_ts_ms, self.clock_ms)
        latency = trade.received_ts_ms - trade.exchange_ts_ms
        logged: LoggedTrade = (ts_ms, trade.price, trade.qty, trade.side == "buy", latency)
        amounts = _amounts(logged)
        self.log.append(logged)
        self._amounts.append(amounts)
        for window in self.windows:
            window.add(amounts, 1)
        self.last_price = trade.price
        self.last_latency_ms = latency
        self.advance(ts_ms)

    def advance(self, now_ms: int) -> None:
        """Move the windows' end to `now_ms` (no-op if time has already passed it)."""
        if now_ms < self.clock_ms:
            return
        self.clock_ms = now_ms
        log, amounts = self.log, self._amounts
        end = len(log)
        for window in self.windows:
            cutoff = now_ms - window.window_ms
            start = window.start
            while start < end and log[start][0] <= cutoff:
                window.add(amounts[start], -1)
                start += 1
            window.start = start
        self._compact()

    def _compact(self) -> None:
        # The longest window starts earliest; what lies before it is no longer needed. (A floor
        # of 4,096 with a half-log rule once let a quiet symbol keep hours of dead trades: at
        # 0.2 trades/s, 4,096 trades outside a window holding 60, ~2.5 MB a symbol.)
        drop = self.windows[-1].start
        if drop >= _COMPACT_AT and drop * 8 >= len(self.log):
            del self.log[:drop]
            del self._amounts[:drop]
            for window in self.windows:
                window.start -= drop

    def stats(self) -> list[WindowStats]:
        """Every window's statistics as of `clock_ms`."""
        return [window.stats() for window in self.windows]

    def window(self, window_s: int) -> WindowSums:
        """The sums of the window of `window_s` seconds (it must be configured)."""
        for window in self.windows:
            if window.window_ms == window_s * 1000:
                return window
        raise KeyError(f"no {window_s} s trade window (configured: {self.config.windows_s})")

    # -- snapshots ------------------------------------------------------------------------

    def save(self) -> TradeAggregatorState:
        """The state to snapshot."""
        return TradeAggregatorState(
            log=list(self.log),
            starts=[w.start for w in self.windows],
            clock_ms=self.clock_ms,
            last_price=self.last_price,
            last_latency_ms=self.last_latency_ms,
        )

    @classmethod
    def load(cls, config: TradeWindowsConfig, state: TradeAggregatorState) -> TradeAggregator:
        """An aggregator holding a snapshot's trades (sums recomputed exactly)."""
        if len(state.starts) != len(config.windows_s):
            raise ValueError("snapshot windows do not match the configured windows")
        agg = cls(config)
        agg.log = list(state.log)
        agg._amounts = [_amounts(t) for t in agg.log]
        agg.clock_ms, agg.last_price = state.clock_ms, state.last_price
        agg.last_latency_ms = state.last_latency_ms
        for window, start in zip(agg.windows, state.starts, strict=True):
            window.start = start
            for amounts in agg._amounts[start:]:
                window.add(amounts, 1)
        return agg
