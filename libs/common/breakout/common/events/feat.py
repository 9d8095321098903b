"""Feature events: what the features service derives from market data.

Subjects follow ARCHITECTURE.md: `feat.<kind>.<SYMBOL>` (`feat.activity.BTCUSDT`,
`feat.density.BTCUSDT`, `feat.levels.BTCUSDT`, ...); one subject carries every event type of its
kind. Streams are one per kind, exchange and symbol (`feat.activity-binance.BTCUSDT`), written by
the one features instance that owns the symbol. Every time is exchange time (`*_ts_ms`): a
feature is as of the market-data event that produced it, never of a wall clock.

Values that need history a symbol does not have yet (an ATR before 14 bars, a z-score before
the baseline fills) are None, never NaN: JSON has no NaN and a consumer must see "unknown".
"""

from __future__ import annotations

from typing import Literal

import msgspec

from breakout.common.events.base import Event, subject_token

BookSide = Literal["bid", "ask"]
WallRemovalCause = Literal["eaten", "pulled", "out_of_view"]


def feat_stream(kind: str, exchange: str, symbol: str) -> str:
    """The store stream of one feature kind for one symbol, e.g. `feat.activity-binance.BTCUSDT`."""
    return f"feat.{kind}-{subject_token(exchange)}.{subject_token(symbol)}"


def _subject(kind: str, symbol: str) -> str:
    return f"feat.{kind}.{subject_token(symbol)}"


class _Part(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of the structs nested inside feature events."""


# -- trades and activity ------------------------------------------------------------------


class WindowStats(_Part, frozen=True, kw_only=True):
    """Trade statistics over one rolling window ending at the event's `ts_ms`.

    `volume_delta` is taker-buy minus taker-sell base quantity; `buy_sell_ratio` is taker-buy
    over taker-sell quantity (None without sells); latency is received minus exchange time.
    """

    window_s: int
    trades: int
    tpm: float
    tps: float
    buy_qty: float
    sell_qty: float
    volume_delta: float
    notional: float
    buy_notional: float
    sell_notional: float
    buy_sell_ratio: float | None = None
    mean_latency_ms: float | None = None


class TradeActivity(Event, frozen=True, kw_only=True, tag="feat.trade_activity.v1"):
    """Periodic trade statistics and activity index of a symbol.

    `activity_index` is Z(TPM) + Z(TPS) + Z(|volume delta|) against the symbol's baseline;
    `drop_frac` is 1 - TPM / baseline TPM (positive when trading slowed down).
    """

    exchange: str
    symbol: str
    ts_ms: int
    windows: list[WindowStats]
    last_price: float | None = None
    last_latency_ms: int | None = None
    activity_index: float | None = None
    drop_frac: float | None = None
    baseline_tpm: float | None = None
    # The trades feed has an open gap: the windows miss trades and no activity edge is read.
    data_gap: bool = False

    def subject(self) -> str:
        """`feat.activity.<SYMBOL>`."""
        return _subject("activity", self.symbol)


class ActivityDropped(Event, frozen=True, kw_only=True, tag="feat.activity_dropped.v1"):
    """Trading activity fell by at least `threshold` against its baseline (edge-triggered)."""

    exchange: str
    symbol: str
    ts_ms: int
    drop_frac: float
    threshold: float
    tpm: float
    baseline_tpm: float
    activity_index: float | None = None

    def subject(self) -> str:
        """`feat.activity.<SYMBOL>`."""
        return _subject("activity", self.symbol)


class ActivityRecovered(Event, frozen=True, kw_only=True, tag="feat.activity_recovered.v1"):
    """Activity came back after an `ActivityDropped` (drop under the re-arm level)."""

    exchange: str
    symbol: str
    ts_ms: int
    drop_frac: float
    tpm: float
    baseline_tpm: float

    def subject(self) -> str:
        """`feat.activity.<SYMBOL>`."""
        return _subject("activity", self.symbol)


# -- order book ---------------------------------------------------------------------------


class DepthBand(_Part, frozen=True, kw_only=True):
    """Resting USD on each side within `pct` percent of mid (cumulative from the touch)."""

    pct: float
    bid_usd: float
    ask_usd: float


class BookMetrics(Event, frozen=True, kw_only=True, tag="feat.book_metrics.v1"):
    """Depth, spread and imbalance of a book snapshot (the design's `L2Depth`).

    `imbalance` is (bid - ask) / (bid + ask) USD within `imbalance_band_pct` of mid, in
    [-1, 1]. `*_reach_pct` is how far from mid the snapshot's deepest level lies: depth
    beyond it is not seen, so a band wider than the reach is a lower bound.
    """

    exchange: str
    symbol: str
    ts_ms: int
    sequence: int
    best_bid: float
    best_ask: float
    mid: float
    spread_bps: float
    bid_usd_0_3pct: float
    ask_usd_0_3pct: float
    bid_usd_0_5pct: float
    ask_usd_0_5pct: float
    imbalance: float
    imbalance_band_pct: float
    bands: list[DepthBand]
    bid_reach_pct: float
    ask_reach_pct: float
    tick_size: float

    def subject(self) -> str:
        """`feat.book.<SYMBOL>`."""
        return _subject("book", self.symbol)


# -- density (liquidity walls) ------------------------------------------------------------


class DensityDetected(Event, frozen=True, kw_only=True, tag="feat.density_detected.v1"):
    """A wall: a price bucket holding at least `k_density` x the reference bucket size.

    `reference_qty` is the median bucket size over the lookback; `strength` is qty over it.
    `wall_id` names the wall in the events that follow it (eaten, removed).
    """

    exchange: str
    symbol: str
    ts_ms: int
    wall_id: str
    side: BookSide
    price_low: float
    price_high: float
    qty: float
    usd: float
    reference_qty: float
    strength: float
    k_density: float
    distance_bps: float

    def subject(self) -> str:
        """`feat.density.<SYMBOL>`."""
        return _subject("density", self.symbol)


class DensityEaten(Event, frozen=True, kw_only=True, tag="feat.density_eaten.v1"):
    """A wall is being traded through: `eaten_ratio` = 1 - remaining / initial passed a step.

    `traded_qty` is the decrease explained by trades at the wall's prices, `pulled_qty` the
    decrease no trade explains (cancelled orders).
    """

    exchange: str
    symbol: str
    ts_ms: int
    wall_id: str
    side: BookSide
    price_low: float
    price_high: float
    initial_qty: float
    remaining_qty: float
    eaten_ratio: float
    traded_qty: float
    pulled_qty: float

    def subject(self) -> str:
        """`feat.density.<SYMBOL>`."""
        return _subject("density", self.symbol)


class DensityRemoved(Event, frozen=True, kw_only=True, tag="feat.density_removed.v1"):
    """A wall is gone: `eaten` (trades took most of it), `pulled` (cancelled, no trades), or
    `out_of_view` (price moved so far that the snapshot no longer shows its bucket)."""

    exchange: str
    symbol: str
    ts_ms: int
    wall_id: str
    side: BookSide
    price_low: float
    price_high: float
    cause: WallRemovalCause
    initial_qty: float
    remaining_qty: float
    eaten_ratio: float
    traded_qty: float
    pulled_qty: float
    lifetime_ms: int

    def subject(self) -> str:
        """`feat.density.<SYMBOL>`."""
        return _subject("density", self.symbol)


# -- candles: indicators and levels -------------------------------------------------------


class IndicatorsUpdated(Event, frozen=True, kw_only=True, tag="feat.indicators.v1"):
    """Indicators of a symbol as of one closed candle of `timeframe`.

    ATR is Wilder's and `atr_pct` is ATR over the close in percent (0.25 means 0.25 %);
    Bollinger width is (upper - lower) / middle with a population standard deviation, and its
    percentile ranks it among the last `bb_percentile_lookback` widths; EMAs are seeded with a
    simple average; OBV counts from the first candle this service saw;
    `volume_surge` is this candle's volume over the median of the previous ones; `vwap` is the
    session's (UTC day) from trades; `corr_reference` is the correlation of close-to-close
    returns with `reference_symbol` over the last `correlation_bars`.
    """

    exchange: str
    symbol: str
    timeframe: str
    open_ts_ms: int
    close_ts_ms: int
    close: float
    volume: float
    atr: float | None = None
    atr_pct: float | None = None
    bb_width: float | None = None
    bb_width_percentile: float | None = None
    ema_fast: float | None = None
    ema_slow: float | None = None
    obv: float
    volume_median: float | None = None
    volume_surge: float | None = None
    vwap: float | None = None
    vwap_gap_bps: float | None = None
    reference_symbol: str
    corr_reference: float | None = None

    def subject(self) -> str:
        """`feat.indicators.<SYMBOL>`."""
        return _subject("indicators", self.symbol)


class PriceLevel(_Part, frozen=True, kw_only=True):
    """A resistance or support of the Donchian base, with what makes it strong or weak.

    `touches` are separate visits within tolerance whose wick is not a spike; `valid` needs
    `min_touches` and a last touch at most `max_age_bars` old. `round_step` is the largest
    round step the price sits on (`round_score` the share of relevant steps it sits on);
    `cascade_size` counts known levels within `cascade_radius_bps` (itself included).
    The approach is the last bars' move toward the level: `approach_ok` means no steeper than
    the preset allows and at least `consolidation_bars` of consolidation under (over) it.
    `strength` in [0, 1] weighs touches, roundness, cascade and freshness.
    """

    kind: Literal["resistance", "support"]
    price: float
    touches: int
    last_touch_ts_ms: int | None = None
    age_bars: int | None = None
    valid: bool
    round_step: float | None = None
    round_score: float
    cascade_size: int
    approach_slope_pct_per_bar: float
    consolidation_bars: int
    approach_ok: bool
    strength: float


class Cascade(_Part, frozen=True, kw_only=True):
    """Levels clustered within `cascade_radius_bps`: a zone, not a line."""

    price_low: float
    price_high: float
    levels: list[float]


class LevelsUpdated(Event, frozen=True, kw_only=True, tag="feat.levels.v1"):
    """A symbol's levels as of one closed candle of `timeframe` (the Donchian base of
    `donchian_bars`, its height, and the cascades among every level known)."""

    exchange: str
    symbol: str
    timeframe: str
    open_ts_ms: int
    close: float
    atr: float | None = None
    resistance: PriceLevel
    support: PriceLevel
    base_height: float
    base_height_pct: float
    swing_highs: list[float]
    swing_lows: list[float]
    cascades: list[Cascade]

    def subject(self) -> str:
        """`feat.levels.<SYMBOL>`."""
        return _subject("levels", self.symbol)


# -- order flow and market structure (levels timeframe) -----------------------------------


class ImbalanceZone(_Part, frozen=True, kw_only=True):
    """A candle where one side's taker flow dominated: |delta| / volume >= the threshold."""

    open_ts_ms: int
    price_low: float
    price_high: float
    side: Literal["buy", "sell"]
    delta_ratio: float


class OrderFlowUpdated(Event, frozen=True, kw_only=True, tag="feat.orderflow.v1"):
    """Order flow as of one closed candle, from its taker-buy volume.

    `delta` = taker buy - taker sell volume; `cvd` sums it over the last `window_bars`.
    `divergence` compares the last `divergence_bars` with the ones before: price made a higher
    high while CVD did not (bearish), or a lower low while CVD did not (bullish).
    `absorption` names the resting side that absorbed a heavy one-sided flow without letting
    price move (`bids` absorbed selling); `exhaustion` the side whose run ended on a volume
    climax with the flow turning against it.
    """

    exchange: str
    symbol: str
    timeframe: str
    open_ts_ms: int
    delta: float
    delta_ratio: float
    cvd: float
    divergence: Literal["bullish", "bearish"] | None = None
    imbalance_zones: list[ImbalanceZone]
    absorption: Literal["bids", "asks"] | None = None
    exhaustion: Literal["buyers", "sellers"] | None = None

    def subject(self) -> str:
        """`feat.orderflow.<SYMBOL>`."""
        return _subject("orderflow", self.symbol)


class StructureShift(Event, frozen=True, kw_only=True, tag="feat.structure_shift.v1"):
    """A close beyond the last swing: a break of structure (`bos`, with the trend) or a change
    of character (`choch`, against it)."""

    exchange: str
    symbol: str
    timeframe: str
    open_ts_ms: int
    kind: Literal["bos", "choch"]
    direction: Literal["up", "down"]
    level: float
    close: float

    def subject(self) -> str:
        """`feat.structure.<SYMBOL>`."""
        return _subject("structure", self.symbol)


class LiquiditySweep(Event, frozen=True, kw_only=True, tag="feat.liquidity_sweep.v1"):
    """A wick beyond the last swing high (low) that closed back inside: stops taken."""

    exchange: str
    symbol: str
    timeframe: str
    open_ts_ms: int
    side: Literal["highs", "lows"]
    level: float
    extreme: float
    close: float

    def subject(self) -> str:
        """`feat.structure.<SYMBOL>`."""
        return _subject("structure", self.symbol)


# -- liquidity levels ---------------------------------------------------------------------


class SessionRange(_Part, frozen=True, kw_only=True):
    """High and low of the latest (or current) occurrence of a trading session or day.

    `complete` says the candles held cover the whole session (a restart or a short history
    can leave the first one partial).
    """

    name: str
    start_ts_ms: int
    high: float
    low: float
    complete: bool


class BookZone(_Part, frozen=True, kw_only=True):
    """A price range where one side of the book holds a wall (from the density detector)."""

    side: BookSide
    price_low: float
    price_high: float
    qty: float


class LiquidityLevels(Event, frozen=True, kw_only=True, tag="feat.liquidity_levels.v1"):
    """Where resting liquidity and stops sit, as of one closed candle of `timeframe`:
    session highs/lows (Asia, London, New York), the prior UTC day's high/low, the visible
    range of the candles held, and the book's wall zones."""

    exchange: str
    symbol: str
    timeframe: str
    open_ts_ms: int
    sessions: list[SessionRange]
    prior_day: SessionRange | None = None
    visible_high: float
    visible_low: float
    book_zones: list[BookZone]

    def subject(self) -> str:
        """`feat.liquidity.<SYMBOL>`."""
        return _subject("liquidity", self.symbol)


# -- Wyckoff ------------------------------------------------------------------------------


class ProfileBin(_Part, frozen=True, kw_only=True):
    """Volume traded within one price bin of a range (bars spread over the bins they span)."""

    price_low: float
    price_high: float
    volume: float


class WyckoffRange(Event, frozen=True, kw_only=True, tag="feat.wyckoff_range.v1"):
    """A trading range and how it reads, as of one closed candle of `timeframe`.

    `phase` is accumulation after a decline into the range, distribution after a rally.
    A `spring` is a wick under the range low closing back inside; an `upthrust` the same over
    the high. `poc` is the volume profile's point of control, the value area holds 70 % of
    the range's volume around it.
    """

    exchange: str
    symbol: str
    timeframe: str
    open_ts_ms: int
    range_high: float
    range_low: float
    range_bars: int
    phase: Literal["accumulation", "distribution"] | None = None
    spring: bool
    upthrust: bool
    poc: float
    value_area_low: float
    value_area_high: float
    profile: list[ProfileBin]

    def subject(self) -> str:
        """`feat.wyckoff.<SYMBOL>`."""
        return _subject("wyckoff", self.symbol)
