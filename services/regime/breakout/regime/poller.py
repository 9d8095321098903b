"""The poller: asks one feed on a schedule and records what it saw, or that it failed.

    poll -> feed.fetch -> store.append(observations)        (ids make a re-poll a no-op)
         -> on FeedError: store.append(macro.feed_failed)  (and keep going)
         -> first success after failures: macro.feed_recovered

A source's `Retry-After` is honoured: until it has passed the poller does not call the source at
all. Requests to one source keep a minimum interval, and a failed request is retried `retries`
times within the poll (after `retry_backoff_s`, doubling) before the failure is recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime

import httpx
import msgspec
import structlog

from breakout.common.clock import Clock
from breakout.common.events import NewEvent
from breakout.common.events.regime import MacroFeedFailed, MacroFeedRecovered, feed_stream
from breakout.common.ids import external_event_id
from breakout.common.store.port import EventStore
from breakout.regime.http_common import Feed, FeedError, Observation, Throttle

log = structlog.get_logger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class PollerConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Schedule and politeness of one poller."""

    interval_s: float
    min_interval_s: float = 1.0
    retries: int = 1
    retry_backoff_s: float = 5.0


class PollResult(msgspec.Struct, frozen=True, kw_only=True):
    """What one poll did: `observed` events seen (new or not), or the failure, or a skip."""

    observed: int = 0
    failure: MacroFeedFailed | None = None
    skipped_for_s: float = 0.0


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


class FeedPoller:
    """Polls one feed into the store until stopped."""

    def __init__(
        self,
        feed: Feed,
        store: EventStore,
        client: httpx.AsyncClient,
        clock: Clock,
        config: PollerConfig,
        *,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.feed = feed
        self.store = store
        self.client = client
        self.clock = clock
        self.config = config
        self.throttle = Throttle(clock, config.min_interval_s)
        self._sleep = sleep
        self.last_success_ms: int | None = None
        self.consecutive_failures = 0
        self._stopping = asyncio.Event()
        self._log = log.bind(source=feed.source)

    async def run(self) -> None:
        """Poll now, then every `interval_s`, until `stop()`."""
        while not self._stopping.is_set():
            await self.poll_once()
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=self.config.interval_s)
            except TimeoutError:
                continue

    def stop(self) -> None:
        """Finish the poll in hand, then leave `run()`."""
        self._stopping.set()

    def health(self) -> dict[str, object]:
        """Liveness for `/health`: a failing source is reported, not fatal."""
        return {
            "ok": True,
            "source": self.feed.source,
            "consecutive_failures": self.consecutive_failures,
            "last_success_ms": self.last_success_ms,
        }

    async def poll_once(self) -> PollResult:
        """One poll: fetch (with retries) and record observations or the failure."""
        blocked = self.throttle.blocked_for_s()
        if blocked > 0:
            self._log.info("skipping poll: source asked us to wait", wait_s=round(blocked, 1))
            return PollResult(skipped_for_s=blocked)
        attempts = 0
        while True:
            attempts += 1
            try:
                observations = await self._fetch()
            except FeedError as error:
                if error.reason == "rate_limited" or attempts > self.config.retries:
                    return PollResult(failure=await self._record_failure(error, attempts))
                await self._sleep(self.config.retry_backoff_s * 2 ** (attempts - 1))
                continue
            await self._record(observations)
            return PollResult(observed=len(observations))

    async def _fetch(self) -> list[Observation]:
        spacing = self.throttle.spacing_s()
        if spacing > 0:
            await self._sleep(spacing)
        self.throttle.requested()
        return await self.feed.fetch(self.client, _ms(self.clock.now()))

    async def _record(self, observations: list[Observation]) -> None:
        now = self.clock.now()
        if self.consecutive_failures:
            recovered = MacroFeedRecovered(
                source=self.feed.source,
                failed_polls=self.consecutive_failures,
                recovered_ts_ms=_ms(now),
            )
            await self._append(feed_stream(self.feed.source), recovered, now, "recovered")
            self._log.info("source recovered", failed_polls=self.consecutive_failures)
        by_stream: dict[str, list[NewEvent]] = {}
        for observation in observations:
            by_stream.setdefault(observation.stream, []).append(observation.event)
        for stream, events in by_stream.items():
            await self.store.append(stream, events)
        self.last_success_ms = _ms(now)
        self.consecutive_failures = 0

    async def _record_failure(self, error: FeedError, attempts: int) -> MacroFeedFailed:
        now = self.clock.now()
        self.consecutive_failures += 1
        if error.retry_after_s is not None:
            self.throttle.back_off(error.retry_after_s)
        failed = MacroFeedFailed(
            source=self.feed.source,
            reason=error.reason,
            detail=error.detail,
            http_status=error.http_status,
            retry_after_s=error.retry_after_s,
            attempts=attempts,
            consecutive_failures=self.consecutive_failures,
            last_success_ts_ms=self.last_success_ms,
            failed_ts_ms=_ms(now),
        )
        await self._append(feed_stream(self.feed.source), failed, now, "failed")
        self._log.warning("poll failed", reason=error.reason, detail=error.detail)
        return failed

    async def _append(
        self, stream: str, data: MacroFeedFailed | MacroFeedRecovered, now: datetime, kind: str
    ) -> None:
        event = NewEvent(
            # Keyed by the failure count too: two polls within one clock tick are two events.
            event_id=external_event_id(self.feed.source, kind, _ms(now), self.consecutive_failures),
            data=data,
            occurred_at=now,
            producer=f"regime.{self.feed.source}",
        )
        await self.store.append(stream, [event])
