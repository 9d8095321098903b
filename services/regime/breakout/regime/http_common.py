"""What the three HTTP feeds share: the feed port, typed failures, throttling, one GET.

A feed turns one HTTP answer into events (observations with deterministic ids, so a re-poll
never duplicates anything); anything that goes wrong is a `FeedError` with a reason the poller
records as `macro.feed_failed`. Secrets travel in headers only, so no URL that httpx logs ever
holds a key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Protocol, TypeVar

import httpx
import msgspec

from breakout.common.clock import Clock
from breakout.common.events import NewEvent
from breakout.common.events.regime import FeedFailure, FeedSource

MAX_DETAIL_CHARS = 300
T = TypeVar("T")


class FeedError(Exception):
    """A failed poll: why, and what the source said."""

    def __init__(
        self,
        reason: FeedFailure,
        detail: str,
        *,
        http_status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: FeedFailure = reason
        self.detail = detail[:MAX_DETAIL_CHARS]
        self.http_status = http_status
        self.retry_after_s = retry_after_s


class Observation(msgspec.Struct, frozen=True, kw_only=True):
    """An event a feed observed, and the stream it belongs to."""

    stream: str
    event: NewEvent


class Feed(Protocol):
    """One source: fetches and parses; knows nothing of the store or of scheduling."""

    @property
    def source(self) -> FeedSource:
        """Which source this is."""
        ...

    async def fetch(self, client: httpx.AsyncClient, now_ms: int) -> list[Observation]:
        """Poll once; raise `FeedError` on any failure."""
        ...


def retry_after_s(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta seconds or an HTTP date)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


async def get(
    client: httpx.AsyncClient,
    url: str,
    *,
    params: Mapping[str, str | int],
    headers: Mapping[str, str],
) -> httpx.Response:
    """One GET; transport failures become `FeedError` (timeout / network)."""
    try:
        return await client.get(url, params=dict(params), headers=dict(headers))
    except httpx.TimeoutException as exc:
        raise FeedError("timeout", f"{type(exc).__name__}: no answer in time") from exc
    except httpx.TransportError as exc:
        raise FeedError("network", f"{type(exc).__name__}: {exc}") from exc


def raise_for_status(
    response: httpx.Response, now: datetime, message: Callable[[bytes], str]
) -> None:
    """Turn a non-2xx answer into a `FeedError` carrying the source's own error message."""
    status = response.status_code
    if 200 <= status < 300:
        return
    said = message(response.content)
    if status == 429:
        wait = retry_after_s(response.headers.get("Retry-After"), now)
        raise FeedError("rate_limited", said, http_status=status, retry_after_s=wait)
    if status in (401, 403):
        raise FeedError("auth", said, http_status=status)
    raise FeedError("http_status", said, http_status=status)


def decode(data: bytes, kind: type[T], what: str) -> T:
    """Decode JSON into `kind`, or fail as `malformed`."""
    try:
        return msgspec.json.decode(data, type=kind)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise FeedError("malformed", f"{what}: {exc}") from exc


class Throttle:
    """Keeps a source's minimum interval between requests and honours its `Retry-After`."""

    def __init__(self, clock: Clock, min_interval_s: float) -> None:
        self.clock = clock
        self.min_interval_s = min_interval_s
        self._last_request: datetime | None = None
        self._blocked_until: datetime | None = None

    def blocked_for_s(self) -> float:
        """Seconds the source asked us to stay away (0 when free)."""
        if self._blocked_until is None:
            return 0.0
        return max(0.0, (self._blocked_until - self.clock.now()).total_seconds())

    def spacing_s(self) -> float:
        """Seconds to wait before the next request keeps the minimum interval."""
        if self._last_request is None:
            return 0.0
        since = (self.clock.now() - self._last_request).total_seconds()
        return max(0.0, self.min_interval_s - since)

    def requested(self) -> None:
        """Note that a request goes out now."""
        self._last_request = self.clock.now()

    def back_off(self, seconds: float) -> None:
        """Stay away for `seconds` (a 429's Retry-After)."""
        self._blocked_until = self.clock.now() + timedelta(seconds=seconds)
