"""Every feature of one exchange symbol, and when each is recorded.

Time is the symbol's own exchange time: its trades and book snapshots move it forward. Every
`sample_interval_s` boundary it passes, the trade windows are read into the activity tracker;
every `activity_interval_s` boundary a `TradeActivity` is recorded (not while the symbol has
had no trade for the longest window, beyond the first such one), every `book_interval_s` a
`BookMetrics`. Density events are recorded as walls change; indicators at each closed
candle; levels, order flow, structure, liquidity levels and Wyckoff ranges at each closed
candle of the levels timeframe (none of them for a fetched candle too old to matter, see
`_superseded`). Boundaries are multiples of their interval, so a replay
records the same samples at the same times whatever the events' arrival pattern.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from breakout.common.events import (
    BookSnapshot,
    Candle,
    Event,
    MarketDataGap,
    MarketDataResynced,
    MarketTrade,
    TradeActivity,
)
from breakout.common.events.md import TIMEFRAME_MS
from breakout.features.activity import ActivityState, ActivityTracker
from breakout.features.book import TickSize, book_metrics, validate_book
from breakout.features.config import FeaturesConfig
from breakout.features.density import DensityDetector, DensityState
from breakout.features.indicators import Bar, CandleSeries, SeriesState, SessionVwap, VwapState
from breakout.features.levels import levels
from breakout.features.orderflow import order_flow
from breakout.features.sessions import liquidity_levels
from breakout.features.structure import structure
from breakout.features.trades import TradeAggregator, TradeAggregatorState
from breakout.features.wyckoff import wyckoff

# (feature kind for the stream name, event)
Output = tuple[str, Event]


class Timers(msgspec.Struct, kw_only=True):
    """The next boundary of each periodic output (0 = not started)."""

    sample_ms: int = 0
    activity_ms: int = 0
    book_ms: int = 0
    quiet_reported: bool = False
    # The trades feed lost continuity (md.gap) and is not resynced yet: 0 when it is whole.
    trades_gap_since_ms: int = 0
    # The newest source time seen of the symbol (trades, books, candle closes).
    newest_ms: int = 0


class SymbolState(msgspec.Struct, kw_only=True):
    """What a snapshot keeps of one symbol."""

    trades: TradeAggregatorState
    density: DensityState
    activity: ActivityState
    tick: TickSize
    vwap: VwapState
    series: dict[str, SeriesState]
    timers: Timers


def _next_boundary(ts_ms: int, interval_ms: int) -> int:
    return (ts_ms // interval_ms + 1) * interval_ms


class SymbolFeatures:
    """The feature cores of one symbol, fed in store order."""

    def __init__(self, config: FeaturesConfig, exchange: str, symbol: str) -> None:
        self.config = config
        self.exchange = exchange
        self.symbol = symbol
        self.trades = TradeAggregator(config.trades)
        self.density = DensityDetector(config.density_config, exchange, symbol)
        self.activity = ActivityTracker(config.activity, exchange, symbol)
        configured = config.density_config.tick_sizes.get(symbol)
        self.tick = TickSize.fixed(configured) if configured else TickSize()
        self.vwap = SessionVwap()
        self.series: dict[str, CandleSeries] = {}
        self.timers = Timers()

    # -- inputs ---------------------------------------------------------------------------

    def on_trade(self, trade: MarketTrade) -> list[Output]:
        """Fold a trade into the windows, the walls and the session VWAP."""
        outputs = self._run_timers(trade.exchange_ts_ms)
        self.timers.newest_ms = max(self.timers.newest_ms, trade.exchange_ts_ms)
        self.trades.add(trade)
        self.density.on_trade(trade)
        self.vwap.add(trade)
        return outputs

    def on_book(self, book: BookSnapshot) -> list[Output]:
        """Follow the walls; record book metrics when their interval is due."""
        validate_book(book)
        ts_ms = book.exchange_ts_ms
        outputs = self._run_timers(ts_ms)
        self.timers.newest_ms = max(self.timers.newest_ms, ts_ms)
        self.tick.observe(book.bids, book.asks)
        outputs += [("density", e) for e in self.density.on_book(book, self.tick)]
        interval_ms = self.config.emit.book_interval_s * 1000
        if ts_ms >= self.timers.book_ms:
            metrics = book_metrics(book, self.config.book, self.tick)
            if metrics is not None:
                outputs.append(("book", metrics))
                self.timers.book_ms = _next_boundary(ts_ms, interval_ms)
        return outputs

    def on_gap(self, gap: MarketDataGap) -> list[Output]:
        """A feed lost continuity: stop reading activity from a tape with a hole in it, and
        let every wall go, since the book is unknown until it is rebuilt."""
        ts_ms = gap.detected_ts_ms
        if gap.feed == "trades" and not self.timers.trades_gap_since_ms:
            self.timers.trades_gap_since_ms = max(ts_ms, 1)
        if gap.feed == "book":
            return [("density", e) for e in self.density.forget_walls(ts_ms)]
        return []

    def on_resynced(self, resynced: MarketDataResynced) -> list[Output]:
        """A feed is whole again (trades backfilled): activity is read from it again."""
        if resynced.feed == "trades":
            self.timers.trades_gap_since_ms = 0
        return []

    def on_candle(
        self, candle: Candle, reference: CandleSeries | None, *, record: bool = True
    ) -> list[Output]:
        """Indicators (and levels on the levels timeframe) of a closed candle."""
        series = self.series.get(candle.timeframe)
        if series is None:
            series = self.series[candle.timeframe] = _new_series(
                self.config, self.symbol, candle.timeframe
            )
        if not series.add(candle) or not record:
            return []
        newest_ms = self.timers.newest_ms
        self.timers.newest_ms = max(newest_ms, candle.close_ts_ms)
        if self._superseded(candle, newest_ms):
            return []
        vwap = self.vwap.value(candle.close_ts_ms)
        indicators = series.indicators(self.exchange, self.symbol, vwap, reference)
        outputs: list[Output] = [("indicators", indicators)]
        if candle.timeframe == self.config.levels_rules.timeframe:
            outputs += self._levels_timeframe(list(series.bars), indicators.atr)
        return outputs

    def _superseded(self, candle: Candle, newest_ms: int) -> bool:
        """A fetched candle (history) older than a level may live, by the symbol's own time.

        Its indicators, levels, order flow, structure and ranges would be superseded before
        anything could act on them (a level lives `max_age_bars`; every reader of indicators
        keeps the latest, or the one before it): the series still takes the candle, so the
        outputs of the recent history are computed from the whole of it. Live candles (built
        from trades) never are superseded; candles read in time order (a backtest) never are
        this old. Saves most of the start-up's work on a long history (docs/features.md).
        """
        max_age_ms = self.config.levels_rules.max_age_bars * TIMEFRAME_MS[candle.timeframe]
        return candle.source == "exchange" and candle.close_ts_ms < newest_ms - max_age_ms

    def _levels_timeframe(self, bars: list[Bar], atr: float | None) -> list[Output]:
        # Levels, order flow and structure: read on the levels timeframe's candles only.
        rules = self.config.levels_rules
        where = {"exchange": self.exchange, "symbol": self.symbol, "timeframe": rules.timeframe}
        outputs: list[Output] = []
        found = levels(bars, atr=atr, rules=rules, **where)
        if found is not None:
            outputs.append(("levels", found))
        flow = order_flow(bars, atr=atr, config=self.config.orderflow, **where)
        outputs.append(("orderflow", flow))
        outputs += [("structure", e) for e in structure(bars, rules.swing_bars, **where)]
        span_ms = TIMEFRAME_MS[rules.timeframe]
        walls = self.density.walls.values()
        liquidity = liquidity_levels(bars, walls, span_ms=span_ms, rules=rules, **where)
        outputs.append(("liquidity", liquidity))
        found_range = wyckoff(bars, atr=atr, config=self.config.wyckoff, **where)
        if found_range is not None:
            outputs.append(("wyckoff", found_range))
        return outputs

    # -- periodic outputs -----------------------------------------------------------------

    def _run_timers(self, ts_ms: int) -> list[Output]:
        # Every boundary strictly before `ts_ms`: a trade stamped exactly on a boundary
        # belongs to the window that ends there, so that boundary waits for it.
        timers = self.timers
        sample_ms = self.config.activity.sample_interval_s * 1000
        if timers.sample_ms == 0:
            timers.sample_ms = _next_boundary(ts_ms, sample_ms)
            timers.activity_ms = _next_boundary(ts_ms, self.config.emit.activity_interval_s * 1000)
            timers.book_ms = ts_ms
            return []
        outputs: list[Output] = []
        while timers.sample_ms < ts_ms:
            outputs += self._sample(timers.sample_ms)
            timers.sample_ms += sample_ms
        return outputs

    def _sample(self, at_ms: int) -> list[Output]:
        config = self.config.activity
        self.trades.advance(at_ms)
        tpm = self.trades.window(config.tpm_window_s).trades * 60.0 / config.tpm_window_s
        tps = self.trades.window(config.tps_window_s).trades / config.tps_window_s
        abs_delta = self.trades.window(config.delta_window_s).abs_volume_delta
        outputs: list[Output] = []
        # A tape with a hole in it reads as silence: neither a drop nor baseline history.
        if not self.timers.trades_gap_since_ms:
            outputs += [("activity", e) for e in self.activity.sample(at_ms, tpm, tps, abs_delta)]
        if at_ms >= self.timers.activity_ms:
            self.timers.activity_ms = at_ms + self.config.emit.activity_interval_s * 1000
            quiet = self.trades.windows[-1].trades == 0
            if not (quiet and self.timers.quiet_reported):
                outputs.append(("activity", self._trade_activity(at_ms)))
            self.timers.quiet_reported = quiet
        return outputs

    def _trade_activity(self, at_ms: int) -> TradeActivity:
        reading = self.activity.reading
        return TradeActivity(
            exchange=self.exchange,
            symbol=self.symbol,
            ts_ms=at_ms,
            windows=self.trades.stats(),
            last_price=self.trades.last_price,
            last_latency_ms=self.trades.last_latency_ms,
            activity_index=reading.activity_index if reading else None,
            drop_frac=reading.drop_frac if reading else None,
            baseline_tpm=reading.baseline_tpm if reading else None,
            data_gap=bool(self.timers.trades_gap_since_ms),
        )

    # -- snapshots ------------------------------------------------------------------------

    def save(self) -> SymbolState:
        """The state to snapshot."""
        return SymbolState(
            trades=self.trades.save(),
            density=self.density.save(),
            activity=self.activity.save(),
            tick=self.tick,
            vwap=self.vwap.save(),
            series={tf: s.save() for tf, s in self.series.items()},
            timers=self.timers,
        )

    @classmethod
    def load(
        cls, config: FeaturesConfig, exchange: str, symbol: str, state: SymbolState
    ) -> SymbolFeatures:
        """A symbol's features from a snapshot."""
        features = cls(config, exchange, symbol)
        features.trades = TradeAggregator.load(config.trades, state.trades)
        features.density.load(state.density)
        features.activity.load(state.activity)
        features.tick = state.tick
        features.vwap.load(state.vwap)
        features.series = _load_series(config, symbol, state.series)
        features.timers = state.timers
        return features


def _new_series(config: FeaturesConfig, symbol: str, timeframe: str) -> CandleSeries:
    """A symbol's candles of one timeframe, as many as are read: the levels timeframe's feed
    levels, order flow, structure, sessions and ranges (`history_bars`, a day of 5 m bars);
    the correlation reference's are read beside other symbols' that may lead or lag it (all
    `history_bars`); any other timeframe feeds indicators only (`bars_read`, 101 by default:
    a third of the memory of 300 bars, ~60 KB a timeframe less per symbol)."""
    indicators = config.indicators
    everything = timeframe == config.levels_rules.timeframe
    everything = everything or symbol == indicators.correlation_symbol
    keep = indicators.history_bars if everything else indicators.bars_read
    return CandleSeries(indicators, timeframe, TIMEFRAME_MS[timeframe], keep)


def _load_series(
    config: FeaturesConfig, symbol: str, states: Mapping[str, SeriesState]
) -> dict[str, CandleSeries]:
    loaded = {}
    for timeframe, state in states.items():
        series = _new_series(config, symbol, timeframe)
        series.load(state)
        loaded[timeframe] = series
    return loaded
