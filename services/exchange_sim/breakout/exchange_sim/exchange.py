"""The simulated exchange: symbol feeds (simulated or replayed) plus the matching engine.

Pure: it holds the simulated time and moves only when `advance_to` is called, in fixed steps,
so the same seed and the same calls give the same market. The server is its only clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from breakout.exchange_sim import errors
from breakout.exchange_sim.accounts import Accounts
from breakout.exchange_sim.book import DepthDiff, OrderBook
from breakout.exchange_sim.klines import KlineSeries
from breakout.exchange_sim.market import MarketConfig, SymbolMarket
from breakout.exchange_sim.matching import MatchingEngine
from breakout.exchange_sim.specs import SymbolSpec, make_spec
from breakout.exchange_sim.tape import Print, TradeTape


class SymbolFeed(Protocol):
    """What drives one symbol: the market simulator or a replay of recorded data."""

    spec: SymbolSpec
    book: OrderBook
    tape: TradeTape
    klines: KlineSeries
    now_ms: int
    step_stride: int  # the feed moves every this many exchange steps (by as many steps)

    def step(self, dt_ms: int) -> list[Print]:
        """Advance by `dt_ms` and return the public trades printed."""
        ...

    def execute_taker(
        self, taker_buys: bool, lots: int, limit: int | None, ts_ms: int, taker_owner: int = 0
    ) -> list[Print]:
        """Walk the book with an aggressive order and print its fills."""
        ...


@dataclass(slots=True)
class SymbolUpdate:
    """What one step changed for one symbol: new trades and the book diff."""

    symbol: str
    ts_ms: int
    prints: list[Print] = field(default_factory=list)
    diff: DepthDiff | None = None


class SimExchange:
    """Feeds, accounts and matching under one simulated clock."""

    def __init__(
        self,
        feeds: dict[str, SymbolFeed],
        *,
        start_ms: int,
        step_ms: int = 100,
        accounts: Accounts | None = None,
    ) -> None:
        if step_ms <= 0:
            raise ValueError("step_ms must be positive")
        self.feeds = feeds
        self.now_ms = start_ms
        self.step_ms = step_ms
        self.matching = MatchingEngine(self, accounts or Accounts())
        self._pending: dict[str, list[Print]] = {symbol: [] for symbol in feeds}
        self.steps = 0

    @classmethod
    def simulated(
        cls,
        symbols: list[str],
        *,
        start_ms: int,
        config: MarketConfig | None = None,
        step_ms: int = 100,
        accounts: Accounts | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> SimExchange:
        """An exchange whose symbols are driven by the market simulator.

        `progress` is told how many symbols are built after each one (a start with hundreds
        of symbols and days of history takes minutes on a small machine).
        """
        config = config or MarketConfig()
        feeds: dict[str, SymbolFeed] = {}
        for symbol in symbols:
            spec = make_spec(symbol)
            feeds[spec.symbol] = SymbolMarket(spec, config, start_ms)
            if progress is not None:
                progress(len(feeds))
        return cls(feeds, start_ms=start_ms, step_ms=step_ms, accounts=accounts)

    def feed(self, symbol: str | None) -> SymbolFeed:
        """The feed of a listed symbol, or Binance's -1121."""
        found = self.feeds.get((symbol or "").upper())
        if found is None:
            raise errors.invalid_symbol()
        return found

    def specs(self) -> list[SymbolSpec]:
        """Every listed symbol."""
        return [feed.spec for feed in self.feeds.values()]

    def record_prints(self, symbol: str, prints: list[Print]) -> None:
        """Trades made between steps (our orders): published with the next step."""
        self._pending[symbol].extend(prints)

    def step(self) -> list[SymbolUpdate]:
        """Advance every feed by one step (a quiet one every few); our resting orders fill from
        the flow."""
        self.now_ms += self.step_ms
        self.steps += 1
        updates: list[SymbolUpdate] = []
        for symbol, feed in self.feeds.items():
            prints = self._pending[symbol]
            self._pending[symbol] = []
            stride = feed.step_stride
            stepped = feed.step(self.step_ms * stride) if self.steps % stride == 0 else []
            self.matching.on_prints(symbol, stepped)
            prints.extend(stepped)
            prints.extend(self._pending[symbol])  # stop orders triggered by this step's trades
            self._pending[symbol] = []
            updates.append(SymbolUpdate(symbol, self.now_ms, prints, feed.book.drain_diff()))
        return updates

    def advance_to(self, target_ms: int, max_steps: int | None = None) -> list[SymbolUpdate]:
        """Run whole steps until simulated time reaches `target_ms` (or `max_steps` ran)."""
        updates: list[SymbolUpdate] = []
        steps = 0
        while self.now_ms + self.step_ms <= target_ms and (max_steps is None or steps < max_steps):
            updates.extend(self.step())
            steps += 1
        return updates
