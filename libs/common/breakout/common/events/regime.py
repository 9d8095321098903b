"""Regime-service events: macro observations, news, feed health, regime and capital-flow decisions.

Observations (`macro.observed`, `news.observed`) and feed health (`macro.feed_failed`,
`macro.feed_recovered`) are written by the regime service's HTTP pollers; every other event here
is a decision of the regime core and carries the inputs, thresholds and configuration id that
produced it, so a reader can tell why the regime is what it is without re-running anything.

Times are integer milliseconds since the epoch (UTC), named `*_ts_ms`: `source_ts_ms` is the
source's own time of a value (a candle's close, CoinGecko's `updated_at`, an article's
`publishedAt`), `received_ts_ms` the poller's clock when it read it.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from breakout.common.events.base import Event, subject_token

MacroSeries = Literal["DXY", "BTCD"]
"""`DXY`: the US dollar index; `BTCD`: Bitcoin's share of total crypto market cap, in percent."""
FeedSource = Literal["twelvedata", "coingecko", "newsapi"]
FeedFailure = Literal[
    "auth", "rate_limited", "http_status", "timeout", "network", "malformed", "api_error"
]
RegimeState = Literal["RISK_ON", "RISK_OFF", "DECOUPLED", "CHOP"]
TradeSide = Literal["long", "short"]
Impact = Literal["HIGH", "MEDIUM", "LOW"]
Alignment = Literal["ALIGNED", "DECOUPLED", "NEUTRAL"]
TrendDirection = Literal["STRONG_UP", "WEAK_UP", "FLAT", "WEAK_DOWN", "STRONG_DOWN", "UNKNOWN"]
FlowDirection = Literal["BTC_INFLOW", "BTC_OUTFLOW", "NEUTRAL"]
FlowBias = Literal["CONTINUATION", "MEAN_REVERSION", "NONE"]
HoldReason = Literal["confidence_gate", "min_time_in_state"]

REGIME_STREAM = "regime-state"
NEWS_CLASSIFIED_STREAM = "regime-news"
CAPITAL_FLOW_STREAM = "regime-flow"


def macro_stream(series: MacroSeries) -> str:
    """The store stream of one macro series, e.g. `macro-DXY`."""
    return f"macro-{series}"


def feed_stream(source: FeedSource) -> str:
    """The store stream of one feed's health events, e.g. `feed-twelvedata`."""
    return f"feed-{source}"


def news_stream(source: FeedSource) -> str:
    """The store stream of the articles one news source delivered, e.g. `news-newsapi`."""
    return f"news-{source}"


class _Part(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of the value objects nested in regime events."""


# ---------------------------------------------------------------------------------------------
# Observations and feed health (written by the pollers).


class MacroObserved(Event, frozen=True, kw_only=True, tag="macro.observed.v1"):
    """One value of a macro series as its source published it (a closed candle, a snapshot)."""

    series: MacroSeries
    value: float
    source: FeedSource
    source_ts_ms: int
    received_ts_ms: int
    interval: str = ""

    def subject(self) -> str:
        """`macro.observed.<series>`."""
        return f"macro.observed.{subject_token(self.series)}"


class MacroFeedFailed(Event, frozen=True, kw_only=True, tag="macro.feed_failed.v1"):
    """A poll of a macro or news source failed; the service keeps going on what it had.

    `last_success_ts_ms` is the poller's last successful poll of this source (None if never),
    so the regime core can judge staleness even when a healthy feed has nothing new (a weekend).
    """

    source: FeedSource
    reason: FeedFailure
    detail: str
    http_status: int | None = None
    retry_after_s: float | None = None
    attempts: int = 1
    consecutive_failures: int = 1
    last_success_ts_ms: int | None = None
    failed_ts_ms: int

    def subject(self) -> str:
        """`macro.feed_failed.<source>`."""
        return f"macro.feed_failed.{subject_token(self.source)}"


class MacroFeedRecovered(Event, frozen=True, kw_only=True, tag="macro.feed_recovered.v1"):
    """A source answered again after `failed_polls` failed polls."""

    source: FeedSource
    failed_polls: int
    recovered_ts_ms: int

    def subject(self) -> str:
        """`macro.feed_recovered.<source>`."""
        return f"macro.feed_recovered.{subject_token(self.source)}"


class NewsObserved(Event, frozen=True, kw_only=True, tag="news.observed.v1"):
    """One article a news source listed (its `url` identifies it)."""

    source: FeedSource
    publisher: str
    title: str
    description: str = ""
    url: str
    published_ts_ms: int
    received_ts_ms: int

    def subject(self) -> str:
        """`news.observed`."""
        return "news.observed"


# ---------------------------------------------------------------------------------------------
# Decisions of the regime core.


class NewsClassified(Event, frozen=True, kw_only=True, tag="news.classified.v1"):
    """How the classifier read one article, and until when it counts for the regime."""

    url: str
    title: str
    published_ts_ms: int
    category: str
    sentiment: float
    impact: Impact
    alignment: Alignment
    matched_terms: list[str]
    negated_terms: list[str]
    expires_ts_ms: int
    classifier: str

    def subject(self) -> str:
        """`news.classified`."""
        return "news.classified"


class TrendReading(_Part, frozen=True, kw_only=True):
    """A least-squares trend of one series over its lookback.

    `change` is the fitted move over one lookback: percent for DXY, percentage points for BTC.D.
    `score` is that move against the strong threshold, clipped to [-1, 1] (0 when UNKNOWN).
    """

    series: MacroSeries
    direction: TrendDirection
    change: float
    score: float
    last_value: float | None
    points: int
    lookback_points: int
    strong_move: float
    weak_move: float


class RegimeWeights(_Part, frozen=True, kw_only=True):
    """How much each input counts towards the regime (they sum to 1)."""

    dxy: float
    btcd: float
    news: float


class RegimeInputs(_Part, frozen=True, kw_only=True):
    """Everything one regime evaluation looked at.

    `masses` is the share of the weighted evidence behind each state (they sum to at most 1; the
    rest is evidence missing because an input is not known yet). The candidate is the largest.
    """

    dxy: TrendReading
    btcd: TrendReading
    news_score: float | None
    active_news: int
    decoupled_news_share: float
    weights: RegimeWeights
    masses: dict[RegimeState, float]


class RegimePermissions(_Part, frozen=True, kw_only=True):
    """What the regime lets signals and risk do (an empty list forbids everything)."""

    sides_allowed: list[TradeSide]
    presets_allowed: list[str]
    size_multiplier: float


class RegimeChanged(Event, frozen=True, kw_only=True, tag="regime.changed.v1"):
    """The regime moved to `state` (from `previous_state`, None at the very first decision).

    `time_in_previous_s` is how long the previous state lasted (None at the first decision).
    """

    state: RegimeState
    previous_state: RegimeState | None
    confidence: float
    min_confidence: float
    time_in_previous_s: float | None
    min_time_in_state_s: float
    inputs: RegimeInputs
    permissions: RegimePermissions
    decided_ts_ms: int
    config_id: str

    def subject(self) -> str:
        """`regime.state`."""
        return "regime.state"


class RegimeHeld(Event, frozen=True, kw_only=True, tag="regime.held.v1"):
    """The evidence points to `candidate` but the regime stays in `state`, and why."""

    state: RegimeState | None
    candidate: RegimeState
    confidence: float
    min_confidence: float
    blocked_by: HoldReason
    time_in_state_s: float | None
    min_time_in_state_s: float
    inputs: RegimeInputs
    decided_ts_ms: int
    config_id: str

    def subject(self) -> str:
        """`regime.evaluated`."""
        return "regime.evaluated"


class RegimeFreshnessChanged(Event, frozen=True, kw_only=True, tag="regime.freshness.v1"):
    """The regime became stale (a macro feed failing for too long) or fresh again.

    The state itself is kept: a stale regime is the last good one, flagged.
    """

    state: RegimeState | None
    stale: bool
    stale_sources: list[str]
    source_ages_s: dict[str, float]
    stale_after_s: float
    decided_ts_ms: int
    config_id: str

    def subject(self) -> str:
        """`regime.state`."""
        return "regime.state"


class CapitalFlowChanged(Event, frozen=True, kw_only=True, tag="regime.capital_flow.v1"):
    """Where capital is rotating, read from BTC dominance momentum (emitted when it changes).

    `momentum_pp` is BTC.D now minus BTC.D `momentum_points` observations ago, in percentage
    points; `divergence` says momentum runs against the lookback trend.
    """

    direction: FlowDirection
    bias: FlowBias
    divergence: bool
    strength: float
    momentum_pp: float | None
    momentum_points: int
    flow_threshold_pp: float
    trend: TrendReading
    btc_dominance_pct: float
    decided_ts_ms: int
    config_id: str

    def subject(self) -> str:
        """`regime.flow`."""
        return "regime.flow"
