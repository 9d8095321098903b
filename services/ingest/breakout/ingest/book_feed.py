"""One symbol's order book: ccxt.pro keeps it from diffs; we snapshot its top at a cadence.

ccxt.pro applies Binance's diff-depth protocol itself (REST snapshot, then diffs whose first id
must follow the last one) and raises when an update id is skipped. Each such break, a lost
connection, or a crossed book is recorded as `md.gap`; the next watch rebuilds the book from a
fresh snapshot, recorded as `md.resynced`. A crossed book is never recorded as a snapshot.
"""

from __future__ import annotations

import asyncio
from typing import Any

import ccxt
import structlog

from breakout.common.backoff import Backoff
from breakout.ingest.ccxt_adapter import MalformedPayload, is_crossed, to_book
from breakout.ingest.context import LATENCY, STREAM_LOST, IngestContext

log = structlog.get_logger(__name__)


class BookFeed:
    """The L2 book of one symbol, snapshotted every `book_interval_ms`."""

    def __init__(self, ctx: IngestContext, symbol: str, market_id: str) -> None:
        self.ctx = ctx
        self.symbol = symbol
        self.market_id = market_id
        self.last_sequence: int | None = None
        self._next_snapshot_ms = 0
        self._broken = False  # a gap was recorded; the next good book is a resync

    async def run(self) -> None:
        """Watch the book until cancelled, resyncing after every break."""
        backoff = Backoff()
        while True:
            try:
                book = await self.ctx.client.watch_order_book(
                    self.symbol, self.ctx.config.book_snapshot_limit
                )
            except (ccxt.ChecksumError, ccxt.InvalidNonce) as broken:
                # ccxt dropped its copy; the next watch subscribes again from a fresh snapshot.
                self._gap(f"depth update id gap: {str(broken)[:120]}")
                continue
            except STREAM_LOST as lost:
                self._gap(f"book stream lost: {type(lost).__name__}: {str(lost)[:120]}")
                await asyncio.sleep(backoff.next_delay_s())
                continue
            backoff.reset()
            try:
                if is_crossed(book):
                    self._gap("crossed book")
                    await self._drop_book()
                    continue
                self._on_book(book)
            except MalformedPayload as refused:
                self._gap(str(refused))
                await self._drop_book()

    def _on_book(self, book: Any) -> None:
        now = self.ctx.now_ms()
        if self._broken:
            self._resynced(book)
        if now < self._next_snapshot_ms:
            return
        self._next_snapshot_ms = now + self.ctx.config.book_interval_ms
        snapshot = to_book(
            self.ctx.config.venue, self.market_id, book, self.ctx.config.book_depth, now
        )
        if snapshot.sequence == self.last_sequence:
            return  # nothing changed since the last snapshot
        self.last_sequence = snapshot.sequence
        LATENCY.labels("book").observe(max(0, now - snapshot.exchange_ts_ms) / 1e3)
        self.ctx.record("book", self.market_id, [((snapshot.sequence,), snapshot)])

    async def _drop_book(self) -> None:
        # Unsubscribe so the next watch starts from a fresh REST snapshot.
        unwatch = getattr(self.ctx.client, "un_watch_order_book", None)
        try:
            if unwatch is not None:
                await unwatch(self.symbol)
        except ccxt.BaseError as failed:
            log.warning("unwatch failed", symbol=self.market_id, error=repr(failed))
        self.ctx.client.orderbooks.pop(self.symbol, None)

    def _gap(self, reason: str) -> None:
        self._broken = True
        self.ctx.record_gap(self.market_id, "book", reason, self.last_sequence)

    def _resynced(self, book: Any) -> None:
        self._broken = False
        self._next_snapshot_ms = 0  # record the rebuilt book at once
        sequence = int(book["nonce"] or 0)
        self.ctx.record_resynced(self.market_id, "book", 0, self.last_sequence, sequence)
