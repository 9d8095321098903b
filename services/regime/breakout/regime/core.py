"""The regime core: observations and feed health in, classifications and decisions out.

A pure process-application core (no clock, no I/O, no random ids). Its time is the latest
time of knowledge among the events it has seen (an observation's `received_ts_ms`, a failure's
`failed_ts_ms`), never earlier than before, so a replay of the log reproduces every decision.

    macro.observed.DXY / BTCD -> series -> trends --+
    news.observed -> classifier -> news.classified  +-> regime machine -> regime.changed / held
    macro.feed_failed / recovered -> source health -+-> regime.freshness
    macro.observed.BTCD -> capital flow -> regime.capital_flow (when it changes)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import msgspec

from breakout.common.events import Event, RecordedEvent
from breakout.common.events.regime import (
    CAPITAL_FLOW_STREAM,
    NEWS_CLASSIFIED_STREAM,
    REGIME_STREAM,
    CapitalFlowChanged,
    FeedSource,
    MacroFeedFailed,
    MacroFeedRecovered,
    MacroObserved,
    NewsClassified,
    NewsObserved,
    RegimeFreshnessChanged,
    RegimeInputs,
)
from breakout.common.runtime.core import Emit
from breakout.common.store.port import EventFilter
from breakout.regime.classifier import Headline, KeywordNewsClassifier, NewsClassifier
from breakout.regime.config import RegimeConfig
from breakout.regime.engine import RegimeMachine, regime_masses
from breakout.regime.flow import FlowReading, analyze_flow
from breakout.regime.news import ActiveNews, NewsBook, NewsPicture, expiry_ts_ms
from breakout.regime.trend import analyze_trend, points

MACRO_SOURCES: tuple[FeedSource, ...] = ("twelvedata", "coingecko")
MAX_SERIES_POINTS = 256


class SourceHealth(msgspec.Struct, kw_only=True):
    """What the core knows of one feed: failing since when, last success, stale or not."""

    stale: bool = False
    first_failure_ts_ms: int | None = None
    last_success_ts_ms: int | None = None
    age_s: float = 0.0


class RegimeCoreState(msgspec.Struct, kw_only=True):
    """Everything the core remembers (snapshotted as JSON)."""

    now_ms: int = 0
    dxy: list[tuple[int, float]] = msgspec.field(default_factory=list)
    btcd: list[tuple[int, float]] = msgspec.field(default_factory=list)
    news: NewsBook = msgspec.field(default_factory=NewsBook)
    machine: RegimeMachine = msgspec.field(default_factory=RegimeMachine)
    flow: FlowReading | None = None
    health: dict[str, SourceHealth] = msgspec.field(default_factory=dict)
    stale_reported: list[str] = msgspec.field(default_factory=list)


def _at(ts_ms: int) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, UTC)


def _insert(series: list[tuple[int, float]], ts_ms: int, value: float, bucket_s: float) -> None:
    # Backfills may arrive out of order: keep the series sorted by source time, and of each
    # bucket only its latest observation (all a trend reads), so MAX_SERIES_POINTS buckets
    # are kept however often the feed is polled.
    bucket_ms = int(bucket_s * 1000)

    def same_bucket(t: int) -> bool:
        return t == ts_ms if bucket_ms <= 0 else t // bucket_ms == ts_ms // bucket_ms

    if any(same_bucket(t) and t > ts_ms for t, _ in series):
        return  # a later observation of this bucket is already here
    series[:] = [p for p in series if not same_bucket(p[0])]
    series.append((ts_ms, value))
    series.sort(key=lambda p: p[0])
    del series[:-MAX_SERIES_POINTS]


class RegimeCore:
    """Classifies news, grades trends, decides the regime and reads the capital flow."""

    subjects: tuple[str, ...] = (
        "macro.observed.>",
        "macro.feed_failed.>",
        "macro.feed_recovered.>",
        "news.observed",
    )
    store_filter: EventFilter | None = EventFilter(categories=("macro", "feed", "news"))

    def __init__(
        self, config: RegimeConfig | None = None, classifier: NewsClassifier | None = None
    ) -> None:
        self.config = config or RegimeConfig()
        self.config_id = self.config.config_id
        self.classifier = classifier or KeywordNewsClassifier()
        self.state = RegimeCoreState()

    def handle(self, event: RecordedEvent) -> Sequence[Emit]:
        """Fold one observation or feed-health event in; return the decisions it caused."""
        data = event.data
        emits: list[Emit] = []
        match data:
            case MacroObserved():
                emits += self._on_macro(data)
            case NewsObserved():
                emits += self._on_news(data)
            case MacroFeedFailed():
                self._on_failure(data)
            case MacroFeedRecovered():
                self._advance(data.recovered_ts_ms)
                self._on_success(data.source, data.recovered_ts_ms)
            case _:
                return []
        emits += self._freshness()
        emits += self._evaluate()
        return emits

    # -- inputs ---------------------------------------------------------------------------

    def _advance(self, ts_ms: int) -> None:
        self.state.now_ms = max(self.state.now_ms, ts_ms)

    def _on_macro(self, observed: MacroObserved) -> list[Emit]:
        self._advance(observed.received_ts_ms)
        self._on_success(observed.source, observed.received_ts_ms)
        if observed.series == "DXY":
            _insert(self.state.dxy, observed.source_ts_ms, observed.value, self.config.dxy.bucket_s)
            return []
        _insert(self.state.btcd, observed.source_ts_ms, observed.value, self.config.btcd.bucket_s)
        return self._capital_flow()

    def _on_news(self, observed: NewsObserved) -> list[Emit]:
        self._advance(observed.received_ts_ms)
        self._on_success(observed.source, observed.received_ts_ms)
        reading = self.classifier.classify(
            Headline(title=observed.title, description=observed.description)
        )
        expires = expiry_ts_ms(observed.published_ts_ms, reading.impact, self.config.news)
        self.state.news.seen_any = True
        if reading.category != "UNCLASSIFIED":
            self.state.news.add(
                ActiveNews(
                    url=observed.url,
                    published_ts_ms=observed.published_ts_ms,
                    expires_ts_ms=expires,
                    sentiment=reading.sentiment,
                    impact=reading.impact,
                    alignment=reading.alignment,
                )
            )
        classified = NewsClassified(
            url=observed.url,
            title=observed.title,
            published_ts_ms=observed.published_ts_ms,
            category=reading.category,
            sentiment=reading.sentiment,
            impact=reading.impact,
            alignment=reading.alignment,
            matched_terms=reading.matched_terms,
            negated_terms=reading.negated_terms,
            expires_ts_ms=expires,
            classifier=self.classifier.name,
        )
        return [self._emit(NEWS_CLASSIFIED_STREAM, classified)]

    def _on_failure(self, failed: MacroFeedFailed) -> None:
        self._advance(failed.failed_ts_ms)
        health = self.state.health.setdefault(failed.source, SourceHealth())
        if health.first_failure_ts_ms is None:
            health.first_failure_ts_ms = failed.failed_ts_ms
        if failed.last_success_ts_ms is not None:
            health.last_success_ts_ms = failed.last_success_ts_ms
        since = health.last_success_ts_ms or health.first_failure_ts_ms
        health.age_s = (failed.failed_ts_ms - since) / 1000.0
        health.stale = health.age_s >= self.config.stale_after_s

    def _on_success(self, source: FeedSource, ts_ms: int) -> None:
        self.state.health[source] = SourceHealth(last_success_ts_ms=ts_ms)

    # -- decisions ------------------------------------------------------------------------

    def _emit(self, stream: str, event: Event) -> Emit:
        return Emit(stream=stream, event=event, occurred_at=_at(self.state.now_ms))

    def _capital_flow(self) -> list[Emit]:
        values = points(self.state.btcd, self.config.btcd.bucket_s)
        trend = analyze_trend("BTCD", values, self.config.btcd)
        reading = analyze_flow(values, trend, self.config.flow)
        previous = self.state.flow
        if reading.momentum_pp is None:
            return []
        key = (reading.direction, reading.bias, reading.divergence)
        if previous is not None and key == (previous.direction, previous.bias, previous.divergence):
            return []
        self.state.flow = reading
        changed = CapitalFlowChanged(
            direction=reading.direction,
            bias=reading.bias,
            divergence=reading.divergence,
            strength=reading.strength,
            momentum_pp=reading.momentum_pp,
            momentum_points=self.config.flow.momentum_points,
            flow_threshold_pp=self.config.flow.flow_threshold_pp,
            trend=trend,
            btc_dominance_pct=values[-1],
            decided_ts_ms=self.state.now_ms,
            config_id=self.config_id,
        )
        return [self._emit(CAPITAL_FLOW_STREAM, changed)]

    def _freshness(self) -> list[Emit]:
        stale: list[str] = sorted(s for s in MACRO_SOURCES if self._stale(s))
        if stale == self.state.stale_reported:
            return []
        self.state.stale_reported = stale
        ages = {s: h.age_s for s, h in sorted(self.state.health.items()) if h.age_s > 0}
        changed = RegimeFreshnessChanged(
            state=self.state.machine.state,
            stale=bool(stale),
            stale_sources=stale,
            source_ages_s=ages,
            stale_after_s=self.config.stale_after_s,
            decided_ts_ms=self.state.now_ms,
            config_id=self.config_id,
        )
        return [self._emit(REGIME_STREAM, changed)]

    def _stale(self, source: str) -> bool:
        health = self.state.health.get(source)
        return health is not None and health.stale

    def current_inputs(self) -> RegimeInputs:
        """What the regime would be decided on now."""
        config = self.config
        dxy = analyze_trend("DXY", points(self.state.dxy, config.dxy.bucket_s), config.dxy)
        btcd = analyze_trend("BTCD", points(self.state.btcd, config.btcd.bucket_s), config.btcd)
        news = self.state.news.picture(self.state.now_ms, config.news)
        if self._stale("newsapi"):
            # A dead news feed is missing evidence, not evidence of quiet news.
            news = NewsPicture(score=None, active=news.active, decoupled_share=0.0)
        return RegimeInputs(
            dxy=dxy,
            btcd=btcd,
            news_score=news.score,
            active_news=news.active,
            decoupled_news_share=news.decoupled_share,
            weights=config.weights,
            masses=regime_masses(dxy, btcd, news, config.weights, config),
        )

    def _evaluate(self) -> list[Emit]:
        decision = self.state.machine.evaluate(
            self.state.now_ms, self.current_inputs(), self.config, self.config_id
        )
        return [] if decision is None else [self._emit(REGIME_STREAM, decision)]

    # -- snapshots ------------------------------------------------------------------------

    def snapshot(self) -> bytes:
        """The whole state as JSON."""
        return msgspec.json.encode(self.state)

    def restore(self, state: bytes) -> None:
        """Replace the state with a snapshot's."""
        self.state = msgspec.json.decode(state, type=RegimeCoreState)
