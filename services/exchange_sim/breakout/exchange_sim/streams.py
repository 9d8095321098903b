"""Websocket stream names and the messages each step publishes on them.

Streams: `<sym>@trade`, `<sym>@aggTrade`, `<sym>@depth` (1 s) and `<sym>@depth@100ms`,
`<sym>@bookTicker`, `<sym>@ticker` and `<sym>@miniTicker` (1 s), `<sym>@kline_<interval>`
(1 s). Depth diffs keep
Binance's continuity rule: each message's `U` is the previous `u` + 1, and the 1-second stream
merges the 100 ms diffs between two whole seconds (a gap in the ids is never merged over).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import msgspec

from breakout.exchange_sim import protocol
from breakout.exchange_sim.book import DepthDiff
from breakout.exchange_sim.exchange import SimExchange, SymbolUpdate
from breakout.exchange_sim.klines import bucket_open, is_interval
from breakout.exchange_sim.tape import aggregate
from breakout.exchange_sim.ticker import ticker_stats

_STREAM_RE = re.compile(
    r"^(?P<symbol>[a-z0-9]+)@(?P<kind>trade|aggTrade|depth(?:@100ms|@1000ms)?|bookTicker|ticker|miniTicker|kline_\w+)$"
)
_encoder = msgspec.json.Encoder()


def parse_stream(name: str, listed: set[str]) -> str | None:
    """The canonical stream name, or None if it names no stream of a listed symbol."""
    match = _STREAM_RE.match(name)
    if match is None or match["symbol"].upper() not in listed:
        return None
    kind = match["kind"]
    if kind.startswith("kline_") and not is_interval(kind[6:]):
        return None
    if kind == "depth@1000ms":
        kind = "depth"
    return f"{match['symbol']}@{kind}"


@dataclass(slots=True)
class _DepthWindow:
    first_id: int
    last_id: int
    bids: dict[int, int] = field(default_factory=dict)
    asks: dict[int, int] = field(default_factory=dict)

    def add(self, diff: DepthDiff) -> None:
        self.last_id = diff.last_id
        self.bids.update(diff.bids)
        self.asks.update(diff.asks)

    def diff(self) -> DepthDiff:
        return DepthDiff(
            self.first_id, self.last_id, list(self.bids.items()), list(self.asks.items())
        )


class StreamPublisher:
    """Turns each step's updates into (stream, JSON text) messages for the wanted streams."""

    def __init__(self, exchange: SimExchange) -> None:
        self.exchange = exchange
        self._depth_1s: dict[str, _DepthWindow] = {}
        self._tops: dict[str, tuple[int | None, int, int | None, int]] = {}

    def messages(self, updates: list[SymbolUpdate], wanted: set[str]) -> list[tuple[str, str]]:
        """Messages of these updates on the streams someone listens to (in order)."""
        out: list[tuple[str, str]] = []
        for update in updates:
            self._symbol_messages(update, wanted, out)
        return out

    def _new_second(self, ts_ms: int) -> bool:
        """Whether the step ending at `ts_ms` crossed a whole second (1 s streams publish)."""
        return ts_ms // 1000 != (ts_ms - self.exchange.step_ms) // 1000

    def _emit(self, out: list[tuple[str, str]], stream: str, payload: protocol.JsonDict) -> None:
        out.append((stream, _encoder.encode(payload).decode()))

    def _symbol_messages(
        self, update: SymbolUpdate, wanted: set[str], out: list[tuple[str, str]]
    ) -> None:
        feed = self.exchange.feeds[update.symbol]
        spec = feed.spec
        low = update.symbol.lower()
        event_ms = update.ts_ms
        if f"{low}@trade" in wanted:
            for printed in update.prints:
                self._emit(out, f"{low}@trade", protocol.trade_ws(spec, printed, event_ms))
        if f"{low}@aggTrade" in wanted:
            for agg in aggregate(update.prints):
                self._emit(out, f"{low}@aggTrade", protocol.agg_trade_ws(spec, agg, event_ms))
        if update.diff is not None and f"{low}@depth@100ms" in wanted:
            self._emit(out, f"{low}@depth@100ms", protocol.depth_ws(spec, update.diff, event_ms))
        self._depth_second(update, f"{low}@depth" in wanted, out)
        if f"{low}@bookTicker" in wanted:
            bid, ask = feed.book.best_bid(), feed.book.best_ask()
            top = (bid, feed.book.total(True, bid or 0), ask, feed.book.total(False, ask or 0))

            if self._tops.get(low) != top:
                self._tops[low] = top
                self._emit(out, f"{low}@bookTicker", protocol.book_ticker(spec, feed.book))
        if self._new_second(event_ms):
            for kind, render in (
                ("ticker", protocol.ticker_ws),
                ("miniTicker", protocol.mini_ticker_ws),
            ):
                if f"{low}@{kind}" in wanted:
                    stats = ticker_stats(feed.klines, feed.tape, feed.book, event_ms)
                    self._emit(out, f"{low}@{kind}", render(spec, stats, event_ms))
            for interval in _kline_intervals(wanted, low):
                bar = feed.klines.query(
                    interval, start_ms=None, end_ms=event_ms, limit=1, now_ms=event_ms
                )[-1]
                closed = bucket_open(interval, event_ms + 1) != bar.open_ms
                payload = protocol.kline_ws(spec, interval, bar, event_ms, closed)
                self._emit(out, f"{low}@kline_{interval}", payload)

    def _depth_second(self, update: SymbolUpdate, wanted: bool, out: list[tuple[str, str]]) -> None:
        """Merge 100 ms diffs into the 1 s stream; flush early on an id gap."""
        low = update.symbol.lower()
        window = self._depth_1s.get(low)
        spec = self.exchange.feeds[update.symbol].spec
        diff = update.diff
        if diff is not None:
            if window is not None and diff.first_id != window.last_id + 1:
                if wanted:
                    self._emit(
                        out, f"{low}@depth", protocol.depth_ws(spec, window.diff(), update.ts_ms)
                    )
                window = None
            if window is None:
                window = self._depth_1s[low] = _DepthWindow(diff.first_id, diff.last_id)
            window.add(diff)
        if window is not None and self._new_second(update.ts_ms):
            if wanted:
                self._emit(
                    out, f"{low}@depth", protocol.depth_ws(spec, window.diff(), update.ts_ms)
                )
            del self._depth_1s[low]


def _kline_intervals(wanted: set[str], low: str) -> list[str]:
    prefix = f"{low}@kline_"
    return [name[len(prefix) :] for name in wanted if name.startswith(prefix)]
