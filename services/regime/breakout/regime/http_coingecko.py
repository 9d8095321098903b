"""CoinGecko `/api/v3/global`: BTC dominance -> `macro.observed.BTCD`.

The source time is CoinGecko's `updated_at` (it refreshes every 10 minutes); the id is derived
from it, so polling twice between two updates records the value once. A demo or pro key, if
given, goes in the matching header.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import httpx
import msgspec

from breakout.common.events import NewEvent
from breakout.common.events.regime import FeedSource, MacroObserved, macro_stream
from breakout.common.ids import external_event_id
from breakout.regime.http_common import FeedError, Observation, decode, get, raise_for_status

# A source's clock may run ahead of ours by a little, never by this much.
MAX_CLOCK_AHEAD_MS = 300_000


class _Global(msgspec.Struct, frozen=True):
    market_cap_percentage: dict[str, float]
    updated_at: int


class _Answer(msgspec.Struct, frozen=True):
    data: _Global


class _Status(msgspec.Struct, frozen=True):
    error_code: int | None = None
    error_message: str | None = None


class _Error(msgspec.Struct, frozen=True):
    status: _Status | None = None
    error: str | None = None


def _message(body: bytes) -> str:
    try:
        error = msgspec.json.decode(body, type=_Error)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return body[:200].decode(errors="replace")
    if error.status is not None:
        return f"{error.status.error_code}: {error.status.error_message}"
    return error.error or "error"


class CoinGeckoFeed:
    """BTC dominance (percent of total crypto market cap) from CoinGecko."""

    def __init__(
        self, base_url: str, api_key: str | None, *, plan: Literal["demo", "pro"] = "demo"
    ) -> None:
        self._url = base_url.rstrip("/") + "/global"
        self._headers = {f"x-cg-{plan}-api-key": api_key} if api_key else {}

    @property
    def source(self) -> FeedSource:
        """`coingecko`."""
        return "coingecko"

    async def fetch(self, client: httpx.AsyncClient, now_ms: int) -> list[Observation]:
        """The current BTC dominance."""
        response = await get(client, self._url, params={}, headers=self._headers)
        raise_for_status(response, datetime.fromtimestamp(now_ms / 1000, UTC), _message)
        answer = decode(response.content, _Answer, "global")
        btc = answer.data.market_cap_percentage.get("btc")
        if btc is None or not 0.0 < btc < 100.0:
            raise FeedError("malformed", f"global: market_cap_percentage.btc is {btc!r}")
        source_ms = answer.data.updated_at * 1000
        if not 0 < source_ms <= now_ms + MAX_CLOCK_AHEAD_MS:
            # Not a time this answer can have been made at (or a clock far ahead of ours).
            raise FeedError("malformed", f"global: updated_at {answer.data.updated_at!r}")
        observed = MacroObserved(
            series="BTCD",
            value=btc,
            source="coingecko",
            source_ts_ms=source_ms,
            received_ts_ms=now_ms,
        )
        event = NewEvent(
            event_id=external_event_id("coingecko", "BTCD", answer.data.updated_at),
            data=observed,
            occurred_at=datetime.fromtimestamp(source_ms / 1000, UTC),
            producer="regime.coingecko",
        )
        return [Observation(stream=macro_stream("BTCD"), event=event)]
