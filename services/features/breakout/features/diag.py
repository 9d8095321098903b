"""Diagnostics: what the detectors saw for a symbol, read back from the store's feat streams.

`l2_report` and `levels_report` are pure (text from events); `read_l2` and `read_levels` read
the tails of a symbol's streams. The CLI (`breakout-features diag ...`) prints them.
"""

from __future__ import annotations

from collections.abc import Sequence

from breakout.common.events import (
    ActivityDropped,
    BookMetrics,
    DensityDetected,
    DensityEaten,
    DensityRemoved,
    Event,
    IndicatorsUpdated,
    LevelsUpdated,
    LiquidityLevels,
    TradeActivity,
    feat_stream,
)
from breakout.common.events.feat import PriceLevel
from breakout.common.store.port import EventStore

_MINUTE_MS = 60_000


def _since(events: Sequence[Event], minutes: int) -> list[Event]:
    stamped = [e for e in events if isinstance(getattr(e, "ts_ms", None), int)]
    if not stamped:
        return []
    last = max(getattr(e, "ts_ms") for e in stamped)  # noqa: B009 - any feat event type
    return [e for e in stamped if getattr(e, "ts_ms") > last - minutes * _MINUTE_MS]  # noqa: B009


def l2_report(symbol: str, minutes: int, events: Sequence[Event]) -> str:
    """Book, activity and density of the last `minutes` (of the latest event's time)."""
    recent = _since(events, minutes)
    lines = [f"{symbol}: last {minutes} min of exchange time, {len(recent)} feature events"]
    books = [e for e in recent if isinstance(e, BookMetrics)]
    if books:
        b = books[-1]
        lines.append(
            f"book   mid {b.mid:g}  spread {b.spread_bps:.2f} bps  imbalance {b.imbalance:+.2f}  "
            f"depth 0.3% {b.bid_usd_0_3pct:,.0f} / {b.ask_usd_0_3pct:,.0f} USD  "
            f"0.5% {b.bid_usd_0_5pct:,.0f} / {b.ask_usd_0_5pct:,.0f} USD"
        )
    activity = [e for e in recent if isinstance(e, TradeActivity)]
    if activity:
        a = activity[-1]
        windows = "  ".join(
            f"{w.window_s}s: {w.trades} tr, delta {w.volume_delta:+g}" for w in a.windows
        )
        index = f"{a.activity_index:+.2f}" if a.activity_index is not None else "warming up"
        lines.append(f"trades {windows}  activity index {index}")
    for e in recent:
        match e:
            case ActivityDropped():
                lines.append(
                    f"DROP   activity -{e.drop_frac:.0%} (TPM {e.tpm:g} vs {e.baseline_tpm:g})"
                )
            case DensityDetected():
                lines.append(
                    f"WALL   {e.side} {e.price_low:g}-{e.price_high:g} "
                    f"{e.qty:g} ({e.strength:.1f}x)"
                )
            case DensityEaten():
                lines.append(
                    f"EATEN  {e.side} {e.price_low:g} {e.eaten_ratio:.0%} (traded {e.traded_qty:g})"
                )
            case DensityRemoved():
                lines.append(
                    f"GONE   {e.side} {e.price_low:g} {e.cause} after {e.lifetime_ms / 1000:g} s"
                )
    return "\n".join(lines)


def _level_line(level: PriceLevel) -> str:
    flags = "valid" if level.valid else "weak"
    rounded = f" round {level.round_step:g}" if level.round_step else ""
    approach = "ok" if level.approach_ok else "refused"
    return (
        f"{level.kind:<10} {level.price:g}  touches {level.touches}  {flags}{rounded}  "
        f"cascade {level.cascade_size}  approach {approach} "
        f"({level.approach_slope_pct_per_bar:+.2f} %/bar, {level.consolidation_bars} bars)  "
        f"strength {level.strength:.2f}"
    )


def levels_report(
    symbol: str,
    levels: LevelsUpdated | None,
    indicators: IndicatorsUpdated | None,
    liquidity: LiquidityLevels | None,
) -> str:
    """The latest levels, indicators and liquidity levels of a symbol."""
    if levels is None:
        return f"{symbol}: no levels recorded yet"
    lines = [
        f"{symbol} {levels.timeframe} as of {levels.open_ts_ms}: close {levels.close:g}  "
        f"base {levels.base_height:g} ({levels.base_height_pct:.2f} %)",
        _level_line(levels.resistance),
        _level_line(levels.support),
    ]
    lines += [
        f"cascade {c.price_low:g}-{c.price_high:g}: {len(c.levels)} levels" for c in levels.cascades
    ]
    if indicators is not None:
        lines.append(
            f"ATR {indicators.atr}  BB width {indicators.bb_width} "
            f"(pct {indicators.bb_width_percentile})  volume surge {indicators.volume_surge}"
        )
    if liquidity is not None:
        lines += [f"session {s.name}: {s.low:g} - {s.high:g}" for s in liquidity.sessions]
    return "\n".join(lines)


async def _tail(store: EventStore, stream: str, count: int) -> list[Event]:
    version = await store.stream_version(stream)
    events = await store.read_stream(stream, after_version=max(0, version - count))
    return [e.data for e in events]


async def read_l2(store: EventStore, exchange: str, symbol: str, minutes: int) -> list[Event]:
    """The tails of a symbol's book, activity and density streams, in exchange-time order."""
    count = minutes * 60  # generous: book and activity come every few seconds
    found: list[Event] = []
    for kind in ("book", "activity", "density"):
        found += await _tail(store, feat_stream(kind, exchange, symbol), count)
    return sorted(found, key=lambda e: getattr(e, "ts_ms", 0))


async def read_levels(
    store: EventStore, exchange: str, symbol: str
) -> tuple[LevelsUpdated | None, IndicatorsUpdated | None, LiquidityLevels | None]:
    """The latest levels, indicators (of the levels timeframe) and liquidity levels."""
    levels = await _tail(store, feat_stream("levels", exchange, symbol), 1)
    liquidity = await _tail(store, feat_stream("liquidity", exchange, symbol), 1)
    indicators = await _tail(store, feat_stream("indicators", exchange, symbol), 8)
    latest_levels = levels[-1] if levels and isinstance(levels[-1], LevelsUpdated) else None
    timeframe = latest_levels.timeframe if latest_levels else None
    matching = [
        e for e in indicators if isinstance(e, IndicatorsUpdated) and e.timeframe == timeframe
    ]
    latest_liquidity = (
        liquidity[-1] if liquidity and isinstance(liquidity[-1], LiquidityLevels) else None
    )
    return latest_levels, (matching[-1] if matching else None), latest_liquidity
