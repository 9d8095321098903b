"""One symbol's trades: websocket prints, REST backfill of every hole, and candles from them.

Trades are recorded strictly in id order with no id skipped: a hole (an outage, a dropped
connection, a restart) is filled from `aggTrades?fromId=` before any later trade is recorded,
and ids derive from the exchange's trade id, so a trade seen twice is stored once.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from breakout.common.backoff import Backoff
from breakout.common.events import Candle, MarketTrade
from breakout.common.events.md import TIMEFRAME_MS, Timeframe
from breakout.ingest.candles import CandleBuilder, Closed
from breakout.ingest.ccxt_adapter import MalformedPayload, to_candle, to_trade
from breakout.ingest.context import LATENCY, STREAM_LOST, IngestContext
from breakout.ingest.ratelimit import Priority
from breakout.ingest.sequencing import TradeHole, TradeSequencer

log = structlog.get_logger(__name__)

BACKFILL_PAGE = 1000


class TradesFeed:
    """Trades and candles of one symbol."""

    def __init__(
        self, ctx: IngestContext, symbol: str, market_id: str, last_trade_id: int | None
    ) -> None:
        self.ctx = ctx
        self.symbol = symbol  # ccxt's unified symbol, e.g. BTC/USDT
        self.market_id = market_id  # the exchange's id, used in our events: BTCUSDT
        self.sequencer = TradeSequencer(last_trade_id)
        self.candles = CandleBuilder(ctx.config.venue, market_id, ctx.config.timeframes)
        self.closed: asyncio.Queue[Closed] = asyncio.Queue()
        self.live = False  # the feed is continuous up to now: time may close candles

    async def run(self) -> None:
        """Backfill from the last recorded id, then follow the websocket until cancelled."""
        backoff = Backoff()
        if self.sequencer.last_id is not None:
            await self._fill(TradeHole(self.sequencer.last_id + 1, -1), "restart")
        self.live = True
        while True:
            try:
                batch = await self.ctx.client.watch_trades(self.symbol, params={"name": "aggTrade"})
            except STREAM_LOST as lost:
                self.live = False
                self._gap(f"trade stream lost: {type(lost).__name__}: {str(lost)[:120]}")
                await asyncio.sleep(backoff.next_delay_s())
                if self.sequencer.last_id is not None:
                    await self._fill(TradeHole(self.sequencer.last_id + 1, -1), "reconnect")
                self.live = True
                continue
            backoff.reset()
            await self._take(batch)

    async def _take(self, raw: list[dict[str, Any]]) -> None:
        pending = self._parse(raw)
        while pending:
            accepted = self.sequencer.accept(pending)
            if accepted.hole is not None:
                hole = accepted.hole
                self._gap(f"trade ids {hole.first_id}..{hole.last_id} missing from the stream")
                await self._fill(hole, "hole")
                if self.sequencer.last_id is not None and self.sequencer.last_id < hole.last_id:
                    # The exchange cannot serve these ids: the gap event says so; move on.
                    self.sequencer.last_id = hole.last_id
                    self.candles.mark_partial()
            self._record(accepted.trades)
            pending = self.sequencer.pending_after(pending)
            if not accepted.trades and accepted.hole is None:
                break

    def _parse(self, raw: list[dict[str, Any]]) -> list[MarketTrade]:
        # A trade ccxt could not give us whole is left out and said so: its id becomes a hole
        # in the sequence, which is backfilled from REST like any other missing id.
        received, venue = self.ctx.now_ms(), self.ctx.config.venue
        trades = []
        for item in raw:
            try:
                trades.append(to_trade(venue, self.market_id, item, received))
            except MalformedPayload as refused:
                self._gap(str(refused))
        return trades

    def _record(self, trades: list[MarketTrade]) -> None:
        if not trades:
            return
        self.ctx.saw_exchange_time(trades[-1].exchange_ts_ms)
        for trade in trades:
            lag_ms = max(0, trade.received_ts_ms - trade.exchange_ts_ms)
            LATENCY.labels("trades").observe(lag_ms / 1e3)
            self.closed.put_nowait(self.candles.on_trade(trade))
        self.ctx.record("trade", self.market_id, [((t.trade_id,), t) for t in trades])

    async def _fill(self, hole: TradeHole, why: str) -> None:
        """Record trades `hole.first_id`.. (to `last_id`, or to the newest when it is -1)."""
        recovered, cursor = 0, hole.first_id
        limit = self.ctx.config.max_backfill_trades
        while hole.last_id < 0 or cursor <= hole.last_id:
            page = await self._fetch_page(cursor)
            trades = self._parse(page)
            accepted = self.sequencer.accept(trades)
            self._record(accepted.trades)
            recovered += len(accepted.trades)
            if accepted.hole is not None or len(page) < BACKFILL_PAGE or not accepted.trades:
                break  # the exchange has nothing more (or lost these ids itself)
            cursor = accepted.trades[-1].trade_id + 1
            if recovered >= limit:
                # An outage too long to backfill: start afresh and say the candles are thin.
                self._gap(f"backfill stopped at {limit} trades ({why})")
                self.sequencer.last_id = None
                self.candles.mark_partial()
                break
        self._resynced(recovered, hole.first_id, self.sequencer.last_id)

    async def _fetch_page(self, from_id: int) -> list[dict[str, Any]]:
        client = self.ctx.client
        page: list[dict[str, Any]] = await self.ctx.rest_retrying(
            4,
            Priority.RESYNC,
            lambda: client.fetch_trades(
                self.symbol, limit=BACKFILL_PAGE, params={"fromId": from_id}
            ),
        )
        return page

    def _gap(self, reason: str) -> None:
        self.ctx.record_gap(self.market_id, "trades", reason, self.sequencer.last_id)

    def _resynced(self, recovered: int, from_id: int, to_id: int | None) -> None:
        self.ctx.record_resynced(self.market_id, "trades", recovered, from_id, to_id)

    def close_due(self) -> None:
        """Close candles whose end has passed (only while the trade feed is continuous)."""
        if self.live:
            self.closed.put_nowait(
                self.candles.close_due(self.ctx.exchange_now_ms() - self.ctx.config.candle_grace_ms)
            )


def candle_key(candle: Candle) -> tuple[str, int]:
    """What identifies a candle: its timeframe and open time."""
    return (candle.timeframe, candle.open_ts_ms)


async def fetch_klines(
    ctx: IngestContext,
    symbol: str,
    market_id: str,
    tf: Timeframe,
    *,
    since_ms: int,
    limit: int,
    priority: Priority = Priority.LIVE,
) -> list[Candle]:
    """Closed exchange klines of `tf` from `since_ms` (at most `limit`), retried until served."""
    rows: list[list[Any]] = await ctx.rest_retrying(
        2,
        priority,
        lambda: ctx.client.fetch_ohlcv(symbol, tf, since=since_ms, limit=limit),
    )
    now = ctx.exchange_now_ms()
    candles = []
    for row in rows:
        try:
            candle = to_candle(ctx.config.venue, market_id, tf, row)
        except MalformedPayload as refused:
            ctx.record_gap(market_id, "candles", str(refused), None)
            continue
        if candle.open_ts_ms + TIMEFRAME_MS[tf] <= now:
            candles.append(candle)
    return candles
