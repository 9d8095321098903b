"""A deterministic macro world: the dollar index, BTC dominance and a news wire, from a seed.

Time is cut into hours from `start`. Each hour belongs to a segment with a mood (risk-on,
risk-off, calm, crypto-bull, crypto-bear) that sets the drift of DXY (percent per hour) and of
BTC dominance (percentage points per hour) and the kind of headlines published. A script of
segments makes a path exact (tests); without one the segments are drawn from the seed. Every
hour's noise and headlines come from a generator seeded with (seed, hour), so the world is the
same whatever order it is asked in. What the feeds may show is bounded by the injected clock:
nothing is published before it happens.

Faults can be queued per source (`inject_fault`): the next requests to that source fail that way.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

import msgspec

from breakout.common.clock import Clock, LiveClock
from breakout.exchange_sim.macro_headlines import Mood, SimArticle, draw_article

HOUR_MS = 3_600_000
Source = Literal["twelvedata", "coingecko", "newsapi"]
FaultKind = Literal["http_500", "rate_limit", "malformed", "timeout"]

MOOD_DRIFTS: dict[Mood, tuple[float, float]] = {
    # (DXY percent per hour, BTC.D percentage points per hour)
    "risk_on": (-0.03, -0.04),
    "risk_off": (0.03, 0.04),
    "calm": (0.0, 0.0),
    "crypto_bull": (0.02, -0.05),  # crypto rallies on its own news while the dollar firms
    "crypto_bear": (-0.02, 0.05),  # crypto sells off on its own news while the dollar eases
}


class MacroSegment(msgspec.Struct, frozen=True, kw_only=True):
    """`hours` of one mood, with its drifts and headline rate."""

    hours: int
    mood: Mood
    dxy_drift_pct_per_h: float
    btcd_drift_pp_per_h: float
    headlines_per_h: float = 1.0


def segment(mood: Mood, hours: int, *, headlines_per_h: float = 1.0) -> MacroSegment:
    """A segment of `mood` with the mood's default drifts."""
    dxy, btcd = MOOD_DRIFTS[mood]
    return MacroSegment(
        hours=hours,
        mood=mood,
        dxy_drift_pct_per_h=dxy,
        btcd_drift_pp_per_h=btcd,
        headlines_per_h=headlines_per_h,
    )


class Fault(msgspec.Struct, frozen=True, kw_only=True):
    """One queued failure of a source."""

    kind: FaultKind
    retry_after_s: float | None = None
    delay_s: float = 0.0


class Candle(msgspec.Struct, frozen=True, kw_only=True):
    """One hourly DXY candle (open time in ms)."""

    open_ts_ms: int
    open: float
    high: float
    low: float
    close: float


def _hour_floor(now: datetime) -> datetime:
    return now.replace(minute=0, second=0, microsecond=0)


class MacroWorld:
    """The simulated macro world behind the Twelve Data, CoinGecko and NewsAPI feeds."""

    def __init__(
        self,
        *,
        seed: int = 1,
        clock: Clock | None = None,
        start: datetime | None = None,
        script: Sequence[MacroSegment] | None = None,
        dxy_start: float = 104.0,
        btcd_start_pct: float = 54.0,
        dxy_noise_pct: float = 0.01,
        btcd_noise_pp: float = 0.02,
        twelvedata_key: str = "sim-twelvedata-key",
        newsapi_key: str = "sim-newsapi-key",
        coingecko_key: str | None = None,
    ) -> None:
        self.seed = seed
        self.clock = clock or LiveClock()
        # A live world starts a week back, so the feeds have history from the first request.
        self.start = start or _hour_floor(self.clock.now()) - timedelta(days=7)
        if self.start.tzinfo is None:
            raise ValueError("MacroWorld needs a timezone-aware start")
        self.start_ms = int(self.start.timestamp() * 1000)
        self.keys: dict[Source, str | None] = {
            "twelvedata": twelvedata_key,
            "newsapi": newsapi_key,
            "coingecko": coingecko_key,
        }
        self._scripted = script is not None
        self._segments: list[MacroSegment] = list(script or [])
        self._dxy_noise = dxy_noise_pct
        self._btcd_noise = btcd_noise_pp
        self._dxy: list[float] = [dxy_start]  # _dxy[k + 1]: DXY at the end of hour k
        self._btcd: list[float] = [btcd_start_pct]
        self._faults: dict[Source, deque[Fault]] = {s: deque() for s in self.keys}
        self.requests: Counter[Source] = Counter()  # requests served per source

    # -- time -----------------------------------------------------------------------------

    def now_ms(self) -> int:
        """The world's current time (from its clock)."""
        return int(self.clock.now().timestamp() * 1000)

    def hour_of(self, ts_ms: int) -> int:
        """Index of the hour holding `ts_ms` (negative before the world's start)."""
        return (ts_ms - self.start_ms) // HOUR_MS

    def segment_at(self, hour: int) -> MacroSegment:
        """The segment hour `hour` belongs to."""
        covered = 0
        index = 0
        while True:
            while index >= len(self._segments):
                self._segments.append(self._next_segment(len(self._segments)))
            covered += self._segments[index].hours
            if hour < covered:
                return self._segments[index]
            index += 1

    def _next_segment(self, index: int) -> MacroSegment:
        if self._scripted:
            return segment("calm", 24)  # a script that ran out leaves a quiet world
        rng = random.Random(f"{self.seed}/segment/{index}")
        mood: Mood = rng.choice(("risk_on", "risk_off", "calm", "crypto_bull", "crypto_bear"))
        return segment(mood, rng.randint(12, 48))

    # -- series ---------------------------------------------------------------------------

    def _extend(self, hour: int) -> None:
        while len(self._dxy) <= hour + 1:
            k = len(self._dxy) - 1
            rng = random.Random(f"{self.seed}/series/{k}")
            seg = self.segment_at(k)
            step_pct = seg.dxy_drift_pct_per_h + rng.gauss(0.0, self._dxy_noise)
            self._dxy.append(self._dxy[-1] * (1.0 + step_pct / 100.0))
            btcd = self._btcd[-1] + seg.btcd_drift_pp_per_h + rng.gauss(0.0, self._btcd_noise)
            self._btcd.append(min(99.0, max(1.0, btcd)))

    def dxy_candle(self, hour: int, as_of_ms: int | None = None) -> Candle:
        """DXY over hour `hour`; an hour still running shows its close as of `as_of_ms`."""
        if hour < 0:
            raise ValueError("no DXY before the world's start")
        self._extend(hour)
        open_, close = self._dxy[hour], self._dxy[hour + 1]
        open_ts = self.start_ms + hour * HOUR_MS
        if as_of_ms is not None and as_of_ms < open_ts + HOUR_MS:
            done = max(0.0, (as_of_ms - open_ts) / HOUR_MS)
            close = open_ + (close - open_) * done
        rng = random.Random(f"{self.seed}/wick/{hour}")
        wick = abs(open_) * self._dxy_noise / 100.0
        return Candle(
            open_ts_ms=open_ts,
            open=open_,
            high=max(open_, close) + wick * rng.random(),
            low=min(open_, close) - wick * rng.random(),
            close=close,
        )

    def btc_dominance(self, ts_ms: int) -> float:
        """BTC dominance in percent at `ts_ms` (linear within the hour)."""
        hour = max(0, self.hour_of(ts_ms))
        self._extend(hour)
        start, end = self._btcd[hour], self._btcd[hour + 1]
        done = min(1.0, max(0.0, (ts_ms - self.start_ms - hour * HOUR_MS) / HOUR_MS))
        return start + (end - start) * done

    # -- news -----------------------------------------------------------------------------

    def headlines_in_hour(self, hour: int) -> list[SimArticle]:
        """Every article of hour `hour`, oldest first."""
        if hour < 0:
            return []
        seg = self.segment_at(hour)
        rng = random.Random(f"{self.seed}/news/{hour}")
        count = int(seg.headlines_per_h) + (rng.random() < seg.headlines_per_h % 1)
        articles = []
        for index in range(count):
            minute = rng.randrange(60)
            mood: Mood = seg.mood if rng.random() < 0.85 else "calm"
            published = self.start_ms + hour * HOUR_MS + minute * 60_000
            articles.append(draw_article(rng, mood, published, f"{hour}{index}"))
        return sorted(articles, key=lambda a: a.published_ts_ms)

    def articles(self, from_ms: int, to_ms: int) -> list[SimArticle]:
        """Articles published in [from_ms, to_ms] and no later than now, newest first."""
        to_ms = min(to_ms, self.now_ms())
        found = [
            article
            for hour in range(max(0, self.hour_of(from_ms)), self.hour_of(to_ms) + 1)
            for article in self.headlines_in_hour(hour)
            if from_ms <= article.published_ts_ms <= to_ms
        ]
        return sorted(found, key=lambda a: a.published_ts_ms, reverse=True)

    # -- faults ---------------------------------------------------------------------------

    def inject_fault(
        self,
        source: Source,
        kind: FaultKind,
        *,
        count: int = 1,
        retry_after_s: float | None = None,
        delay_s: float = 0.0,
    ) -> None:
        """Make the next `count` requests to `source` fail as `kind`."""
        fault = Fault(kind=kind, retry_after_s=retry_after_s, delay_s=delay_s)
        self._faults[source].extend([fault] * count)

    def take_fault(self, source: Source) -> Fault | None:
        """The next queued fault of `source`, if any (consumed)."""
        queue = self._faults[source]
        return queue.popleft() if queue else None


def at_ms(ts_ms: int) -> datetime:
    """A UTC datetime from epoch milliseconds."""
    return datetime.fromtimestamp(ts_ms / 1000, UTC)
