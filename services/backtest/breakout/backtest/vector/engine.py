"""Signals over whole arrays, then a loop over the trades only, with the candle fill model.

Per-bar work is array work: the channel, ATR, volume median and every entry and exit condition
are computed for all bars at once (`entry_signals`, `exit_signals`). The position loop then
steps from trade to trade (`np.searchsorted` to the next signal; the bars a position is open are
scanned as one array slice for its stop and target), so Python runs once per trade, not per bar.

The rule is decided on the bars of `rules.timeframe_ms` (aggregated from the data's when
coarser); fills, stops and targets walk the data's own bars. A stop is anchored at the signal
bar's close (as a signal's stop is); an R target at the fill (as execution sets TP1 / TP2); the
projection target (channel high + channel height) at the signal bar, as risk sets it.

Fills (the event engine's candle fill model, docs/backtest.md "Fill model"): a signal on a bar's
close fills at the next bar's open plus half the modelled spread and the slippage. Stops and
targets fire on the model's path prints (open, the extreme nearer the open's side, the other
extreme, close) and sell at market there: at the open when the bar gaps through the level, else
at the low (stop) or the high (target), less half the spread and the slippage. Both inside one
bar: the path decides (a bar that closed up saw its low first), as the event engine's model
does; `rules.stop_first` takes the stop instead (the conservative reading). The channel exit
sells at the next open. The fee is charged on each side. A signal on the last bar has no next
open and is not taken.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from breakout.backtest.vector.bars import (
    Bars,
    Floats,
    atr,
    channel,
    resample,
    rolling_low,
    volume_median,
)
from breakout.backtest.vector.rules import CandleRules

Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class VectorTrade:
    """One round trip: bars index the data's arrays; prices are after spread and slippage."""

    symbol: str
    signal_ts_ms: int  # open time of the bar whose close signalled
    entry_bar: int
    exit_bar: int
    entry_price: float
    exit_price: float
    stop_price: float | None
    target_price: float | None
    reason: str  # "stop", "target", "channel"


@dataclass(frozen=True)
class VectorResult:
    """A symbol's closed trades, the fill bar of an entry still open at the end, and how many
    decision bars signalled an entry (taken or not: one position at a time)."""

    trades: list[VectorTrade]
    open_entry_bar: int | None
    signals: int


@dataclass(frozen=True)
class Signals:
    """Per decision bar: entry and exit signals, the stop each entry would carry, the fill bar."""

    bars: Bars
    entry: npt.NDArray[np.bool_]
    exit: npt.NDArray[np.bool_]
    stop: Floats
    target: Floats  # the projection target (NaN without one)
    fill_bar: npt.NDArray[np.intp]  # the data bar whose open follows the close (len: no fill)


def entry_mask(bars: Bars, rules: CandleRules) -> Mask:
    """Decision bars whose close passes the rule's checks (channel, volume, body)."""
    upper, _ = channel(bars, rules.channel_bars)
    with np.errstate(invalid="ignore", divide="ignore"):
        signal = bars.close >= upper * (1 + rules.epsilon_bps / 1e4)  # NaN compares False
        if rules.volume_k > 0:
            median = volume_median(bars, rules.volume_median_bars)
            signal &= (median > 0) & (bars.volume / median >= rules.volume_k)
        if rules.body_ratio_min > 0:
            span = bars.high - bars.low
            body = np.where(span > 0, (bars.close - bars.open) / span, 0.0)
            signal &= body >= rules.body_ratio_min
    return signal


def stops(bars: Bars, rules: CandleRules) -> Floats:
    """The stop an entry on each decision bar carries (NaN: no stop; inf: none can be placed)."""
    if rules.stop_atr is None:
        return np.full(len(bars), np.nan)
    ranges = atr(bars, rules.atr_bars)
    stop = np.where(np.isfinite(ranges), bars.close - rules.stop_atr * ranges, np.inf)
    if rules.swing_ms is not None:
        swing = rolling_low(bars, max(1, rules.swing_ms // bars.span_ms))
        with np.errstate(invalid="ignore"):
            tighter = np.isfinite(stop) & (swing > stop) & (swing < bars.close)
        stop = np.where(tighter, swing, stop)
    return stop


def signals(data: Bars, rules: CandleRules) -> Signals:
    """Every decision bar's signals, computed over whole arrays."""
    bars = resample(data, rules.timeframe_ms or data.span_ms)
    entry = entry_mask(bars, rules)
    stop = stops(bars, rules)
    entry &= ~np.isinf(stop)  # no ATR yet: no stop can be placed, no entry is taken
    upper, lower = channel(bars, rules.channel_bars)
    target = np.full(len(bars), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        if rules.target_projection:
            target = upper + (upper - lower)
            entry &= (target - bars.close) / (bars.close - stop) >= rules.min_reward_risk
        exit_ = bars.close < lower if rules.channel_exit else np.zeros(len(bars), dtype=np.bool_)
    closes = bars.open_ts_ms + bars.span_ms
    fill_bar = np.searchsorted(data.open_ts_ms, closes)
    return Signals(bars, entry, exit_, stop, target, fill_bar)


def run_bars(data: Bars, rules: CandleRules) -> VectorResult:
    """Every trade of the rule on `data`, one position at a time."""
    found = signals(data, rules)
    entries = np.flatnonzero(found.entry & (found.fill_bar < len(data)))
    exits = found.fill_bar[np.flatnonzero(found.exit)]  # the data bar each channel exit fills at
    cost = (rules.half_spread_bps + rules.slippage_bps) / 1e4
    trades: list[VectorTrade] = []
    cursor = 0  # the first data bar a new entry may fill at
    while (k := int(np.searchsorted(found.fill_bar[entries], cursor))) < len(entries):
        index = int(entries[k])
        fill = int(found.fill_bar[index])
        entry = float(data.open[fill]) * (1 + cost)
        stop = float(found.stop[index]) if rules.stop_atr is not None else None
        target = entry + rules.target_r * (entry - stop) if rules.target_r and stop else None
        if rules.target_projection:
            target = float(found.target[index])
        closed = _exit(data, exits, fill, stop=stop, target=target, rules=rules)
        if closed is None:
            return VectorResult(trades, fill, len(entries))
        exit_bar, price, reason = closed
        ts = int(found.bars.open_ts_ms[index])
        trades.append(
            VectorTrade(data.symbol, ts, fill, exit_bar, entry, price, stop, target, reason)
        )
        # Flat from the exit bar on: its own close may signal the next entry (filled after it).
        cursor = exit_bar + 1
    return VectorResult(trades, None, len(entries))


def _exit(
    bars: Bars,
    exits: npt.NDArray[np.intp],
    fill: int,
    *,
    stop: float | None,
    target: float | None,
    rules: CandleRules,
) -> tuple[int, float, str] | None:
    """The exit bar, price and reason of a position filled at bar `fill` (None: still open)."""
    k = int(np.searchsorted(exits, fill + 1))  # a close after the fill's open
    channel_fill = int(exits[k]) if k < len(exits) else None
    last = channel_fill - 1 if channel_fill is not None else len(bars) - 1
    if stop is not None:
        hit = _first_hit(bars, fill, last, stop, target)
        if hit is not None:
            return _price_hit(bars, fill, hit, stop=stop, target=target, rules=rules)
    if channel_fill is None or channel_fill >= len(bars):
        return None
    cost = (rules.half_spread_bps + rules.slippage_bps) / 1e4
    return channel_fill, float(bars.open[channel_fill]) * (1 - cost), "channel"


def _first_hit(bars: Bars, fill: int, last: int, stop: float, target: float | None) -> int | None:
    """The first bar in [fill, last] whose range reaches the stop or the target."""
    touched = bars.low[fill : last + 1] <= stop
    if target is not None:
        touched |= bars.high[fill : last + 1] >= target
    return fill + int(np.argmax(touched)) if touched.any() else None


def _price_hit(
    bars: Bars, fill: int, bar: int, *, stop: float, target: float | None, rules: CandleRules
) -> tuple[int, float, str]:
    """Where a stop or target fires in `bar`: at the print that crossed it, sold at its bid."""
    # The candle model's path: open, the extreme nearer the close's side first, close. A stop
    # fires on the first print at or under it (the open on a gap, else the low), a target on
    # the first at or over it (the open, else the high); the exit is a market sell there.
    stopped = bars.low[bar] <= stop
    reached = target is not None and bars.high[bar] >= target
    if stopped and reached and not rules.stop_first:
        stopped = bars.close[bar] >= bars.open[bar]  # closed up: the low came first
    cost = 1 - (rules.half_spread_bps + rules.slippage_bps) / 1e4
    gap = bar > fill  # on the fill bar the open is the entry, never a gap through a level
    if stopped:
        price = bars.open[bar] if gap and bars.open[bar] <= stop else bars.low[bar]
        return bar, float(price) * cost, "stop"
    assert target is not None  # the bar was found by its stop or its target
    price = bars.open[bar] if gap and bars.open[bar] >= target else bars.high[bar]
    return bar, float(price) * cost, "target"
