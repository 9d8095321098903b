"""Indicators on closed candles: ATR, Bollinger width and percentile, EMA, OBV, volume surge,
session VWAP (from trades) and correlation with a reference symbol (BTC).

One `CandleSeries` per symbol and timeframe keeps the last `history_bars` candles (or fewer,
when only indicators read them: `bars_read`) and the
recursive state (ATR, EMAs, OBV); windowed figures (Bollinger, medians, correlation) are
recomputed over their few dozen bars at each close, which costs nothing at candle rates and
keeps them exact. Conventions follow TA-Lib: ATR and EMA are seeded with the simple average of
their first `period` inputs, ATR's true ranges start at the second candle, standard deviations
are population ones.
"""

from __future__ import annotations

import math
import statistics
from collections import deque

import msgspec

from breakout.common.events import Candle, MarketTrade
from breakout.common.events.feat import IndicatorsUpdated
from breakout.features.config import IndicatorConfig
from breakout.features.exact import from_fixed, to_fixed

# (open ts ms, open, high, low, close, volume, taker buy volume)
Bar = tuple[int, float, float, float, float, float, float]
_DAY_MS = 86_400_000


def bar_of(candle: Candle) -> Bar:
    """A candle's figures as a compact tuple (validated: low <= open, close <= high)."""
    o, h, lo, c = candle.open, candle.high, candle.low, candle.close
    if not (0 < lo <= min(o, c) and max(o, c) <= h) or candle.volume < 0:
        raise ValueError(f"{candle.symbol} {candle.timeframe} {candle.open_ts_ms}: bad OHLCV")
    return (candle.open_ts_ms, o, h, lo, c, candle.volume, candle.taker_buy_volume)


class SmoothedAverage(msgspec.Struct, kw_only=True):
    """y = (1 - alpha) y' + alpha x, seeded with the mean of the first `period` inputs."""

    period: int
    alpha: float
    seed: list[float] = msgspec.field(default_factory=list)
    value: float | None = None

    @classmethod
    def ema(cls, period: int) -> SmoothedAverage:
        """An exponential moving average (alpha = 2 / (period + 1))."""
        return cls(period=period, alpha=2.0 / (period + 1))

    @classmethod
    def wilder(cls, period: int) -> SmoothedAverage:
        """Wilder's smoothing (alpha = 1 / period), as in ATR."""
        return cls(period=period, alpha=1.0 / period)

    def update(self, x: float) -> float | None:
        """Fold one input; the average once `period` inputs were seen."""
        if self.value is not None:
            self.value = (1.0 - self.alpha) * self.value + self.alpha * x
        else:
            self.seed.append(x)
            if len(self.seed) == self.period:
                self.value = math.fsum(self.seed) / self.period
                self.seed = []
        return self.value


def true_range(bar: Bar, previous_close: float) -> float:
    """The larger of the bar's range and its gaps from the previous close."""
    _, _, high, low, _, _, _ = bar
    return max(high - low, abs(high - previous_close), abs(low - previous_close))


def bollinger_width(closes: list[float], k: float) -> float:
    """(upper - lower) / middle = 2 k sigma / mean, population sigma."""
    # Two passes in floats with exact sums: `statistics.pstdev` computes in Fractions, which
    # was a tenth of the features process's time on a start-up's candle history; this agrees
    # with it to a few ulps (and with polars to 1e-9).
    mean = math.fsum(closes) / len(closes)
    variance = math.fsum((c - mean) * (c - mean) for c in closes) / len(closes)
    return 2.0 * k * math.sqrt(variance) / mean


def percentile_rank(values: list[float], x: float) -> float:
    """Percent of `values` at or below `x`."""
    return 100.0 * sum(1 for v in values if v <= x) / len(values)


def returns_correlation(
    closes: dict[int, float], reference: dict[int, float], span_ms: int, bars: int
) -> float | None:
    """Pearson correlation of close-to-close returns on the timestamps both series have."""
    pairs = []
    for ts in sorted(closes)[-(bars + 1) :]:
        before = ts - span_ms
        if before in closes and ts in reference and before in reference:
            pairs.append(
                (closes[ts] / closes[before] - 1.0, reference[ts] / reference[before] - 1.0)
            )
    if len(pairs) < 3:
        return None
    try:
        return statistics.correlation([a for a, _ in pairs], [b for _, b in pairs])
    except statistics.StatisticsError:  # a constant series has no correlation
        return None


class VwapState(msgspec.Struct, kw_only=True):
    """A session VWAP's sums as text: msgpack holds only 64-bit integers."""

    day: int
    notional_fx: str
    qty_fx: str


class SessionVwap:
    """Volume-weighted average trade price since 00:00 UTC (exact sums; resets daily)."""

    def __init__(self) -> None:
        self.day = -1
        self.notional_fx = 0
        self.qty_fx = 0

    def add(self, trade: MarketTrade) -> None:
        """Fold one trade in (a new UTC day starts a new session)."""
        day = trade.exchange_ts_ms // _DAY_MS
        if day != self.day:
            self.day, self.notional_fx, self.qty_fx = day, 0, 0
        self.notional_fx += to_fixed(trade.price * trade.qty)
        self.qty_fx += to_fixed(trade.qty)

    def value(self, ts_ms: int) -> float | None:
        """The VWAP of the session `ts_ms` falls in (None before its first trade)."""
        if ts_ms // _DAY_MS != self.day or self.qty_fx == 0:
            return None
        return self.notional_fx / self.qty_fx

    def save(self) -> VwapState:
        """The state to snapshot."""
        return VwapState(day=self.day, notional_fx=str(self.notional_fx), qty_fx=str(self.qty_fx))

    def load(self, state: VwapState) -> None:
        """Replace the state with a snapshot's."""
        self.day, self.notional_fx, self.qty_fx = (
            state.day,
            int(state.notional_fx),
            int(state.qty_fx),
        )


class SeriesState(msgspec.Struct, kw_only=True):
    """What a snapshot keeps of one symbol's candles of one timeframe."""

    bars: list[Bar]
    atr: SmoothedAverage
    ema_fast: SmoothedAverage
    ema_slow: SmoothedAverage
    obv_fx: str
    widths: list[float]


class CandleSeries:
    """Closed candles of one symbol and timeframe, with their recursive indicators."""

    def __init__(
        self, config: IndicatorConfig, timeframe: str, span_ms: int, keep_bars: int | None = None
    ) -> None:
        self.config = config
        self.timeframe = timeframe
        self.span_ms = span_ms
        # `history_bars` unless the caller knows fewer are read (symbol.py: a timeframe that
        # feeds indicators only keeps `bars_read`).
        self.keep_bars = keep_bars or config.history_bars
        self.bars: deque[Bar] = deque(maxlen=self.keep_bars)
        self.atr = SmoothedAverage.wilder(config.atr_period)
        self.ema_fast = SmoothedAverage.ema(config.ema_fast_period)
        self.ema_slow = SmoothedAverage.ema(config.ema_slow_period)
        self.obv_fx = 0
        self.widths: deque[float] = deque(maxlen=config.bb_percentile_lookback)

    def add(self, candle: Candle) -> bool:
        """Fold a closed candle in; False (and nothing changes) if it is not newer than the last.

        The first candle recorded for a time wins: a second source's copy of it is ignored.
        """
        bar = bar_of(candle)
        if self.bars and bar[0] <= self.bars[-1][0]:
            return False
        if self.bars:
            previous_close = self.bars[-1][4]
            self.atr.update(true_range(bar, previous_close))
            direction = (bar[4] > previous_close) - (bar[4] < previous_close)
            self.obv_fx += direction * to_fixed(bar[5])
        self.ema_fast.update(bar[4])
        self.ema_slow.update(bar[4])
        self.bars.append(bar)
        if len(self.bars) >= self.config.bb_period:
            closes = [self.bars[i][4] for i in range(-self.config.bb_period, 0)]
            self.widths.append(bollinger_width(closes, self.config.bb_std))
        return True

    def closes(self, bars: int) -> dict[int, float]:
        """Close by open time of the last `bars` candles."""
        recent = list(self.bars)[-bars:]
        return {b[0]: b[4] for b in recent}

    def indicators(
        self, exchange: str, symbol: str, vwap: float | None, reference: CandleSeries | None
    ) -> IndicatorsUpdated:
        """The indicators as of the last candle."""
        config = self.config
        bar = self.bars[-1]
        close, volume = bar[4], bar[5]
        previous = [b[5] for b in list(self.bars)[-config.volume_median_bars - 1 : -1]]
        median = statistics.median(previous) if len(previous) == config.volume_median_bars else None
        bb_ready = len(self.bars) >= config.bb_period
        corr = None
        if reference is not None:
            corr = returns_correlation(
                self.closes(config.correlation_bars + 1),
                reference.closes(config.history_bars),
                self.span_ms,
                config.correlation_bars,
            )
        atr = self.atr.value
        return IndicatorsUpdated(
            exchange=exchange,
            symbol=symbol,
            timeframe=self.timeframe,
            open_ts_ms=bar[0],
            close_ts_ms=bar[0] + self.span_ms - 1,
            close=close,
            volume=volume,
            atr=atr,
            atr_pct=atr / close * 100 if atr is not None else None,
            bb_width=self.widths[-1] if bb_ready else None,
            bb_width_percentile=percentile_rank(list(self.widths), self.widths[-1])
            if bb_ready
            else None,
            ema_fast=self.ema_fast.value,
            ema_slow=self.ema_slow.value,
            obv=from_fixed(self.obv_fx),
            volume_median=median,
            volume_surge=volume / median if median else None,
            vwap=vwap,
            vwap_gap_bps=(close - vwap) / vwap * 10_000 if vwap else None,
            reference_symbol=config.correlation_symbol,
            corr_reference=corr,
        )

    def save(self) -> SeriesState:
        """The state to snapshot."""
        return SeriesState(
            bars=list(self.bars),
            atr=self.atr,
            ema_fast=self.ema_fast,
            ema_slow=self.ema_slow,
            obv_fx=str(self.obv_fx),
            widths=list(self.widths),
        )

    def load(self, state: SeriesState) -> None:
        """Replace the state with a snapshot's."""
        self.bars = deque(state.bars, maxlen=self.keep_bars)
        self.atr, self.ema_fast, self.ema_slow = state.atr, state.ema_fast, state.ema_slow
        self.obv_fx = int(state.obv_fx)
        self.widths = deque(state.widths, maxlen=self.config.bb_percentile_lookback)
