"""What the signals service knows of one symbol: the latest of each input, folded from events.

Pure state (a msgspec Struct, so it snapshots): the 24 h ticker, the book's metrics, trade
activity, the indicators of each timeframe, the levels and order flow of the levels timeframe,
the walls standing in the book and the recent candles. The scanner reads its filter inputs
from here; the entry rules read the rest.
"""

from __future__ import annotations

import msgspec

from breakout.common.events import (
    ActivityDropped,
    ActivityRecovered,
    BookMetrics,
    Candle,
    DensityDetected,
    DensityEaten,
    DensityRemoved,
    IndicatorsUpdated,
    LevelsUpdated,
    OrderFlowUpdated,
    Ticker24h,
    TradeActivity,
)

TPM_WINDOW_S = 60
MAX_CANDLES = 240
EATEN_WALL_MEMORY_MS = 600_000


class Wall(msgspec.Struct, kw_only=True):
    """A wall the features service reported, and how much of it trades have eaten."""

    wall_id: str
    side: str
    price_low: float
    price_high: float
    initial_qty: float
    eaten_ratio: float = 0.0
    # Set when trades ate the wall away: an eaten wall still confirms a breakout for a while.
    eaten_away_ts_ms: int | None = None


class SymbolView(msgspec.Struct, kw_only=True):
    """The latest inputs of one symbol (None: not seen yet)."""

    exchange: str
    symbol: str
    ts_ms: int = 0
    volume_24h_usd: float | None = None
    change_24h_pct: float | None = None
    last_price: float | None = None
    spread_bps: float | None = None
    depth_0_3pct_usd: float | None = None
    depth_0_5pct_usd: float | None = None
    imbalance: float | None = None
    tpm: float | None = None
    baseline_tpm: float | None = None
    activity_dropped: bool = False
    # Open interest: no feed records it yet (spot); kept so a perp feed has a place to land.
    oi_usd: float | None = None
    oi_delta: float | None = None
    indicators: dict[str, IndicatorsUpdated] = msgspec.field(default_factory=dict)
    levels: LevelsUpdated | None = None
    orderflow: OrderFlowUpdated | None = None
    walls: dict[str, Wall] = msgspec.field(default_factory=dict)
    candles: list[Candle] = msgspec.field(default_factory=list)

    def advance(self, ts_ms: int) -> None:
        """Move the symbol's time forward (never back)."""
        self.ts_ms = max(self.ts_ms, ts_ms)


def fold_market(view: SymbolView, event: object) -> bool:
    """Fold a market or feature event into `view`; False if it is not one this view keeps."""
    match event:
        case Ticker24h():
            view.advance(event.exchange_ts_ms)
            view.volume_24h_usd = event.quote_volume
            view.change_24h_pct = event.change_pct
            view.last_price = event.last
        case BookMetrics():
            view.advance(event.ts_ms)
            view.spread_bps = event.spread_bps
            view.depth_0_3pct_usd = min(event.bid_usd_0_3pct, event.ask_usd_0_3pct)
            view.depth_0_5pct_usd = min(event.bid_usd_0_5pct, event.ask_usd_0_5pct)
            view.imbalance = event.imbalance
            view.last_price = event.mid
        case TradeActivity():
            view.advance(event.ts_ms)
            window = next((w for w in event.windows if w.window_s == TPM_WINDOW_S), None)
            view.tpm = window.tpm if window is not None else None
            view.baseline_tpm = event.baseline_tpm
            view.last_price = event.last_price or view.last_price
        case ActivityDropped():
            view.advance(event.ts_ms)
            view.activity_dropped = True
        case ActivityRecovered():
            view.advance(event.ts_ms)
            view.activity_dropped = False
        case IndicatorsUpdated():
            view.advance(event.close_ts_ms)
            view.indicators[event.timeframe] = event
        case OrderFlowUpdated():
            view.orderflow = event
        case _:
            return _fold_walls(view, event)
    return True


def _fold_walls(view: SymbolView, event: object) -> bool:
    match event:
        case DensityDetected():
            view.advance(event.ts_ms)
            view.walls[event.wall_id] = Wall(
                wall_id=event.wall_id,
                side=event.side,
                price_low=event.price_low,
                price_high=event.price_high,
                initial_qty=event.qty,
            )
        case DensityEaten():
            view.advance(event.ts_ms)
            wall = view.walls.get(event.wall_id)
            if wall is not None:
                wall.eaten_ratio = max(wall.eaten_ratio, event.eaten_ratio)
        case DensityRemoved():
            view.advance(event.ts_ms)
            wall = view.walls.pop(event.wall_id, None)
            if wall is not None and event.cause == "eaten":
                wall.eaten_ratio = max(wall.eaten_ratio, event.eaten_ratio)
                wall.eaten_away_ts_ms = event.ts_ms
                view.walls[event.wall_id] = wall
            horizon = view.ts_ms - EATEN_WALL_MEMORY_MS
            for key in [k for k, w in view.walls.items() if (w.eaten_away_ts_ms or 1e18) < horizon]:
                del view.walls[key]
        case _:
            return False
    return True


def add_candle(view: SymbolView, candle: Candle) -> None:
    """Keep a closed candle of the levels timeframe (the swing and the entry bar read them)."""
    view.advance(candle.close_ts_ms)
    view.last_price = candle.close
    view.candles.append(candle)
    del view.candles[:-MAX_CANDLES]
