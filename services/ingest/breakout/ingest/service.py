"""The ingest process: one symbol group's feeds, its tickers, and run-time subscriptions."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import ccxt
import structlog

from breakout.common.events import SubscriptionRequested, md_stream
from breakout.common.events.md import Timeframe
from breakout.common.groups import owner_of
from breakout.common.store.port import EventFilter, EventStore, follow
from breakout.ingest.ccxt_adapter import MalformedPayload, to_ticker
from breakout.ingest.context import IngestContext
from breakout.ingest.ratelimit import Priority, RateLimited
from breakout.ingest.symbol_feed import SymbolFeed

log = structlog.get_logger(__name__)

STOP_STEP_S = 10.0  # the longest one stop step may take before it is reported and skipped

SUBSCRIPTIONS = EventFilter(types=(SubscriptionRequested.type_tag(),))


class IngestService:
    """Owns the feeds of every symbol its group ingests; a runtime `Component`."""

    def __init__(self, ctx: IngestContext, store: EventStore) -> None:
        self.ctx = ctx
        self.store = store
        self.feeds: dict[str, asyncio.Task[None]] = {}
        self.dynamic: set[str] = set()
        self.failure: BaseException | None = None
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Load markets, start the group's feeds, follow subscription requests, until stopped."""
        client = self.ctx.client
        # Retried, not fatal: an exchange still starting (the simulator builds hundreds of
        # markets first) or busy would otherwise put the whole process into a restart loop.
        await self.ctx.rest_retrying(20, Priority.LIVE, client.load_markets)
        log.info("markets loaded", markets=len(client.markets or {}))
        await self.ctx.sync_clock()  # where candles start and end before the first print
        writer = asyncio.create_task(self.ctx.writer.run(), name="md-writer")
        helpers = [
            asyncio.create_task(self._tickers(), name="tickers"),
            asyncio.create_task(self._watchdog(), name="watchdog"),
            asyncio.create_task(self._subscriptions(), name="subscriptions"),
        ]
        try:
            await self._apply()
            stop = asyncio.create_task(self._stopping.wait())
            await asyncio.wait([stop, writer, *helpers], return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            for task in (writer, *helpers):
                if task.done() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            if self.failure is not None:
                raise self.failure
        finally:
            await self._cancel([*helpers, *self.feeds.values()])
            self.ctx.writer.stop()
            await writer  # what the feeds queued is recorded: never cut short
            try:
                await asyncio.wait_for(client.close(), STOP_STEP_S)
            except TimeoutError:
                log.warning("exchange client did not close in time", timeout_s=STOP_STEP_S)

    async def _cancel(self, tasks: list[asyncio.Task[None]]) -> None:
        # A feed parked in a library call that defers its cancellation (a websocket close
        # handshake, a REST call finishing its timeout) must not hold the whole stop: wait a
        # bounded time, then name what is still running and go on to flush what was queued.
        for task in tasks:
            task.cancel()
        if not tasks:
            return
        _, hung = await asyncio.wait(tasks, timeout=STOP_STEP_S)
        if hung:
            log.warning("tasks still cancelling at stop", tasks=sorted(t.get_name() for t in hung))
        for task in tasks:
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: a feed's failure was reported when it happened

    def stop(self) -> None:
        """Stop the feeds; what they queued is flushed before `run` returns."""
        self._stopping.set()

    def health(self) -> dict[str, Any]:
        """Feeds, write backlog and the REST breaker, for `/health`."""
        ctx = self.ctx
        return {
            "ok": self.failure is None and ctx.writer.buffered < ctx.writer.max_buffered // 2,
            "group": ctx.config.group,
            "feeds": sorted(self.feeds),
            "buffered": ctx.writer.buffered,
            "written": ctx.writer.written,
            "rest_breaker": ctx.limiter.breaker.state(ctx.limiter.now()),
        }

    def wanted(self) -> list[str]:
        """Market ids this process should ingest now: its group's plus owned run-time requests."""
        config = self.ctx.config
        symbols = list(config.symbols)
        for symbol in sorted(self.dynamic):
            if symbol not in symbols and owner_of(symbol, config.groups) == config.group:
                symbols.append(symbol)
        return symbols

    async def _apply(self) -> None:
        wanted = self.wanted()
        for market_id in list(self.feeds):
            if market_id not in wanted:
                self.feeds.pop(market_id).cancel()
                log.info("unsubscribed", symbol=market_id)
        for market_id in wanted:
            if market_id not in self.feeds:
                await self._start(market_id)

    async def _start(self, market_id: str) -> None:
        market = (
            self.ctx.client.markets_by_id.get(market_id) if self.ctx.client.markets_by_id else None
        )
        if not market:
            log.warning("unknown symbol ignored", symbol=market_id)
            return
        symbol = market[0]["symbol"] if isinstance(market, list) else market["symbol"]
        feed = SymbolFeed(
            self.ctx,
            symbol,
            market_id,
            last_trade_id=await self._last_trade_id(market_id),
            last_candle_open_ms=await self._last_candles(market_id),
        )
        task = asyncio.create_task(feed.run(), name=f"feed:{market_id}")
        task.add_done_callback(self._feed_done)
        self.feeds[market_id] = task
        log.info("subscribed", symbol=market_id)

    def _unified(self, market_id: str) -> str | None:
        """ccxt's unified symbol (BTC/USDT) of a spot market id (BTCUSDT), if it is listed."""
        for market in (self.ctx.client.markets_by_id or {}).get(market_id) or []:
            if market.get("spot", True):
                return str(market["symbol"])
        return None

    def _feed_done(self, task: asyncio.Task[None]) -> None:
        # A feed ends only when cancelled; anything else is a bug or a fault worth a restart.
        if not task.cancelled() and task.exception() is not None:
            self.failure = task.exception()
            self._stopping.set()

    async def _last_event(self, stream: str) -> Any:
        version = await self.store.stream_version(stream)
        if version == 0:
            return None
        events = await self.store.read_stream(stream, after_version=version - 1, limit=1)
        return events[-1].data if events else None

    async def _last_trade_id(self, market_id: str) -> int | None:
        last = await self._last_event(md_stream("trade", self.ctx.config.venue, market_id))
        return None if last is None else int(last.trade_id)

    async def _last_candles(self, market_id: str) -> dict[Timeframe, int]:
        found: dict[Timeframe, int] = {}
        for tf in self.ctx.config.timeframes:
            stream = md_stream(f"candle.{tf}", self.ctx.config.venue, market_id)
            last = await self._last_event(stream)
            if last is not None:
                found[tf] = int(last.open_ts_ms)
        return found

    async def _subscriptions(self) -> None:
        """Fold every `ctl.subscribe` in the log (from the start), then follow new ones."""
        venue = self.ctx.config.venue
        async for recorded in follow(self.store, 0, SUBSCRIPTIONS, idle_wait_s=1.0):
            request = recorded.data
            if not isinstance(request, SubscriptionRequested) or request.exchange != venue:
                continue
            asked = {s.upper() for s in request.symbols}
            if request.action == "add":
                self.dynamic |= asked
            elif request.action == "remove":
                self.dynamic -= asked
            else:
                self.dynamic = asked
            await self._apply()

    async def _tickers(self) -> None:
        """24 h tickers of the group's symbols (or of every market) at a cadence."""
        client = self.ctx.client
        config = self.ctx.config
        while True:
            ids = None if config.tickers == "all" else self.wanted()
            symbols = None if ids is None else [s for s in map(self._unified, ids) if s]
            try:
                tickers: dict[str, Any] = await self.ctx.rest(
                    40 if symbols is None else 2 * len(symbols),
                    Priority.LIVE,
                    functools.partial(client.fetch_tickers, symbols),
                )
            except (ccxt.BaseError, RateLimited) as failed:
                # The next round retries; the breaker (on a 429) already slows everyone down.
                log.warning("ticker fetch failed", error=repr(failed)[:200])
            else:
                self._record_tickers(tickers)
            await asyncio.sleep(config.ticker_interval_s)

    def _record_tickers(self, tickers: dict[str, Any]) -> None:
        received = self.ctx.now_ms()
        for symbol, raw in tickers.items():
            market = self.ctx.client.markets.get(symbol)
            if market is None or market.get("type", "spot") != "spot":
                continue
            try:
                ticker = to_ticker(self.ctx.config.venue, market["id"], raw, received)
            except MalformedPayload as refused:
                self.ctx.record_gap(market["id"], "tickers", str(refused), None)
                continue
            self.ctx.record("ticker", market["id"], [((ticker.exchange_ts_ms,), ticker)])

    async def _watchdog(self) -> None:
        """Close a websocket that has been silent for `stale_after_s`, so ccxt reconnects.

        A stalled connection (open, but the server sends nothing) answers pings and never
        errors by itself; the feeds on it would wait forever without this.
        """
        stale_ms = self.ctx.config.stale_after_s * 1000
        while True:
            await asyncio.sleep(min(1.0, self.ctx.config.stale_after_s / 4))
            now = self.ctx.now_ms()
            for client in list(self.ctx.client.clients.values()):
                last = getattr(client, "last_message_at", None) or getattr(
                    client, "connectionEstablished", None
                )
                if last is None or client.closed() or now - last < stale_ms:
                    continue
                log.warning("websocket stale: reconnecting", url=client.url)
                client.on_error(ccxt.RequestTimeout(f"no message for {now - last} ms"))
