"""Twelve Data `/time_series`: hourly DXY candles -> `macro.observed.DXY` (closed candles only).

A candle still running would change after we read it, so only candles whose hour has ended by
the poll are observed; the observation's source time is the candle's close and its id is
derived from (symbol, interval, open time), so the backfill of every poll is a no-op for
candles already recorded. Datetimes are requested in UTC (`timezone=UTC`).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import httpx
import msgspec

from breakout.common.events import NewEvent
from breakout.common.events.regime import FeedFailure, FeedSource, MacroObserved, macro_stream
from breakout.common.ids import external_event_id
from breakout.regime.http_common import FeedError, Observation, decode, get, raise_for_status

INTERVAL_MS = {"1h": 3_600_000}
_BODY_CODES: dict[int, FeedFailure] = {401: "auth", 403: "auth", 429: "rate_limited"}


class _Value(msgspec.Struct, frozen=True):
    datetime: str
    close: str


class _Answer(msgspec.Struct, frozen=True):
    status: str
    values: list[_Value] | None = None
    code: int | None = None
    message: str | None = None


def _message(body: bytes) -> str:
    try:
        answer = msgspec.json.decode(body, type=_Answer)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return body[:200].decode(errors="replace")
    return answer.message or answer.status


class TwelveDataFeed:
    """DXY (or another index) hourly closes from Twelve Data."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        symbol: str = "DXY",
        interval: str = "1h",
        outputsize: int = 30,
    ) -> None:
        if interval not in INTERVAL_MS:
            raise ValueError(f"unsupported interval {interval!r}")
        self._url = base_url.rstrip("/") + "/time_series"
        self._key = api_key
        self.symbol = symbol
        self.interval = interval
        self.outputsize = outputsize

    @property
    def source(self) -> FeedSource:
        """`twelvedata`."""
        return "twelvedata"

    async def fetch(self, client: httpx.AsyncClient, now_ms: int) -> list[Observation]:
        """Closed candles of the last `outputsize` intervals, oldest first."""
        if not self._key:
            raise FeedError("auth", "TWELVEDATA_API_KEY is not set")
        response = await get(
            client,
            self._url,
            params={
                "symbol": self.symbol,
                "interval": self.interval,
                "outputsize": self.outputsize,
                "timezone": "UTC",
            },
            headers={"Authorization": f"apikey {self._key}"},
        )
        now = datetime.fromtimestamp(now_ms / 1000, UTC)
        raise_for_status(response, now, _message)
        answer = decode(response.content, _Answer, "time_series")
        if answer.status != "ok":
            # Twelve Data may also answer 200 with an error body.
            raise FeedError(
                _BODY_CODES.get(answer.code or 0, "api_error"),
                f"{answer.code}: {answer.message}",
                http_status=answer.code,
            )
        return sorted(
            (o for v in answer.values or [] if (o := self._observe(v, now_ms)) is not None),
            key=lambda o: o.event.occurred_at,
        )

    def _observe(self, value: _Value, now_ms: int) -> Observation | None:
        try:
            opened = datetime.strptime(value.datetime, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
            close = float(value.close)
        except ValueError as exc:
            raise FeedError("malformed", f"time_series value {value!r}: {exc}") from exc
        if not (math.isfinite(close) and close > 0):
            # An index level is a positive number; "nan" parses as a float but is not one.
            raise FeedError("malformed", f"time_series close {value.close!r} is not a level")
        open_ms = int(opened.timestamp() * 1000)
        close_ms = open_ms + INTERVAL_MS[self.interval]
        if close_ms > now_ms:
            return None  # still running
        observed = MacroObserved(
            series="DXY",
            value=close,
            source="twelvedata",
            source_ts_ms=close_ms,
            received_ts_ms=now_ms,
            interval=self.interval,
        )
        event = NewEvent(
            event_id=external_event_id("twelvedata", self.symbol, self.interval, open_ms),
            data=observed,
            occurred_at=datetime.fromtimestamp(close_ms / 1000, UTC),
            producer="regime.twelvedata",
        )
        return Observation(stream=macro_stream("DXY"), event=event)
