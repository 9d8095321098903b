"""Everything ingested for one symbol: trades, book, and candles (built, fetched, checked)."""

from __future__ import annotations

import asyncio

import structlog

from breakout.common.events import Candle, CandleMismatch
from breakout.common.events.md import TIMEFRAME_MS, Timeframe
from breakout.ingest.book_feed import BookFeed
from breakout.ingest.context import IngestContext
from breakout.ingest.ratelimit import Priority
from breakout.ingest.trades_feed import TradesFeed, candle_key, fetch_klines

log = structlog.get_logger(__name__)

# Relative tolerance when checking a built candle against the exchange's kline.
CHECK_TOLERANCE = 1e-6
CHECK_TIMEOUT_S = 60.0


class SymbolFeed:
    """Runs the trade, book and candle tasks of one symbol until cancelled."""

    def __init__(
        self,
        ctx: IngestContext,
        symbol: str,
        market_id: str,
        *,
        last_trade_id: int | None,
        last_candle_open_ms: dict[Timeframe, int],
    ) -> None:
        self.ctx = ctx
        self.symbol = symbol
        self.market_id = market_id
        self.trades = TradesFeed(ctx, symbol, market_id, last_trade_id)
        self.book = BookFeed(ctx, symbol, market_id)
        self.last_candle_open_ms = dict(last_candle_open_ms)
        self._checks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        """All tasks of the symbol; if one fails, the others are cancelled and it raises."""
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._candles(), name=f"candles:{self.market_id}")
            tasks.create_task(self.trades.run(), name=f"trades:{self.market_id}")
            tasks.create_task(self.book.run(), name=f"book:{self.market_id}")
            tasks.create_task(self._clock(), name=f"clock:{self.market_id}")

    async def _clock(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.trades.close_due()

    async def _candles(self) -> None:
        """History first, then the builder's closed buckets, in order, per timeframe."""
        async with self.ctx.history.slot():
            # The longest timeframe first: its last candle tells a reader how recent the
            # history is before the many short candles arrive (features skip the levels of a
            # fetched candle long superseded, docs/features.md).
            for tf in sorted(self.ctx.config.timeframes, key=lambda t: -TIMEFRAME_MS[t]):
                await self._history(tf)
        while True:
            closed = await self.trades.closed.get()
            for tf, open_ms in closed.partial:
                # A bucket we did not see whole: record the exchange's kline instead.
                fetched = await fetch_klines(
                    self.ctx, self.symbol, self.market_id, tf, since_ms=open_ms, limit=1
                )
                self._record([c for c in fetched if c.open_ts_ms == open_ms])
            self._record(closed.candles)
            if self.ctx.config.check_candles:
                for candle in closed.candles:
                    if candle.timeframe == "1m":
                        task = asyncio.create_task(self._check(candle))
                        self._checks.add(task)
                        task.add_done_callback(self._checks.discard)

    async def _history(self, tf: Timeframe) -> None:
        width = TIMEFRAME_MS[tf]
        last = self.last_candle_open_ms.get(tf)
        since = (
            last + width
            if last is not None
            else self.ctx.exchange_now_ms() - width * self.ctx.config.candle_history_bars
        )
        candles = await fetch_klines(
            self.ctx, self.symbol, self.market_id, tf, since_ms=since, limit=1000
        )
        self._record(candles)

    def _record(self, candles: list[Candle]) -> None:
        fresh = []
        for candle in candles:
            last = self.last_candle_open_ms.get(candle.timeframe)
            if last is not None and candle.open_ts_ms <= last:
                continue  # keep each timeframe's stream in time order
            self.last_candle_open_ms[candle.timeframe] = candle.open_ts_ms
            fresh.append(candle)
        for tf in {c.timeframe for c in fresh}:
            self.ctx.record(
                f"candle.{tf}",
                self.market_id,
                [(candle_key(c), c) for c in fresh if c.timeframe == tf],
            )

    async def _check(self, built: Candle) -> None:
        """Compare a built candle with the exchange's kline; record any disagreement."""
        await asyncio.sleep(self.ctx.config.candle_grace_ms / 1000)
        try:
            fetched = await asyncio.wait_for(
                fetch_klines(
                    self.ctx,
                    self.symbol,
                    self.market_id,
                    built.timeframe,
                    since_ms=built.open_ts_ms,
                    limit=1,
                    priority=Priority.BACKGROUND,
                ),
                timeout=CHECK_TIMEOUT_S,
            )
        except TimeoutError:
            # A check is advisory: one the exchange cannot serve in time is skipped, not fatal.
            log.warning("candle check skipped", symbol=self.market_id, open_ms=built.open_ts_ms)
            return
        for kline in fetched:
            if kline.open_ts_ms == built.open_ts_ms:
                self._compare(built, kline)

    def _compare(self, built: Candle, kline: Candle) -> None:
        for name in ("open", "high", "low", "close", "volume"):
            ours, theirs = getattr(built, name), getattr(kline, name)
            if abs(ours - theirs) > CHECK_TOLERANCE * max(abs(ours), abs(theirs), 1e-12):
                mismatch = CandleMismatch(
                    exchange=built.exchange,
                    symbol=built.symbol,
                    timeframe=built.timeframe,
                    open_ts_ms=built.open_ts_ms,
                    field=name,
                    built=ours,
                    fetched=theirs,
                )
                log.warning("candle mismatch", symbol=built.symbol, field=name)
                self.ctx.record(
                    "candle_mismatch",
                    self.market_id,
                    [((built.timeframe, built.open_ts_ms, name), mismatch)],
                )
