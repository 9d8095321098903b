"""Builders of the signals core's inputs (feature and market-data events) for unit tests."""

from __future__ import annotations

from typing import Any

import msgspec

from breakout.common.events import (
    BookMetrics,
    Candle,
    Event,
    IndicatorsUpdated,
    LevelsUpdated,
    PriceLevel,
    Ticker24h,
    TradeActivity,
    WindowStats,
)
from breakout.common.presets import Preset, parse_preset
from breakout.signals.view import SymbolView

T0 = 1_700_000_040_000  # a minute boundary
MINUTE = 60_000


def preset(**sections: Any) -> Preset:
    """A preset with every default, except the given sections (dicts of overrides)."""
    document = {"name": "unit_preset", "version": 1, **sections}
    return parse_preset(msgspec.json.encode(document))


def indicators(
    symbol: str = "ETHUSDT", timeframe: str = "15m", ts_ms: int = T0, **values: Any
) -> IndicatorsUpdated:
    """An indicators event with the given values (the rest None)."""
    fields: dict[str, Any] = {
        "exchange": "binance",
        "symbol": symbol,
        "timeframe": timeframe,
        "open_ts_ms": ts_ms - MINUTE,
        "close_ts_ms": ts_ms - 1,
        "close": 100.0,
        "volume": 10.0,
        "obv": 0.0,
        "reference_symbol": "BTCUSDT",
    }
    fields.update(values)
    return IndicatorsUpdated(**fields)


def liquid_view(symbol: str = "ETHUSDT", **overrides: Any) -> SymbolView:
    """A view passing every default filter of the default preset, by a clear margin."""
    view = SymbolView(
        exchange="binance",
        symbol=symbol,
        ts_ms=T0,
        volume_24h_usd=500e6,
        change_24h_pct=3.0,
        last_price=100.0,
        spread_bps=1.0,
        depth_0_3pct_usd=300e3,
        depth_0_5pct_usd=500e3,
        imbalance=0.3,
        tpm=50.0,
        baseline_tpm=40.0,
    )
    view.indicators["15m"] = indicators(
        symbol, "15m", atr_pct=1.0, bb_width_percentile=20.0, corr_reference=0.1
    )
    view.indicators["1h"] = indicators(symbol, "1h", volume_surge=1.5)
    view.indicators["5m"] = indicators(symbol, "5m", volume_surge=2.0, atr=0.5, volume_median=10.0)
    for key, value in overrides.items():
        setattr(view, key, value)
    return view


def ticker(symbol: str, change_pct: float, quote_volume: float, ts_ms: int = T0) -> Ticker24h:
    """A 24 h ticker."""
    return Ticker24h(
        exchange="binance",
        symbol=symbol,
        last=100.0,
        high=110.0,
        low=90.0,
        open=100.0,
        base_volume=quote_volume / 100,
        quote_volume=quote_volume,
        change_pct=change_pct,
        exchange_ts_ms=ts_ms,
        received_ts_ms=ts_ms,
    )


def book(
    symbol: str = "ETHUSDT", ts_ms: int = T0, imbalance: float = 0.3, **kw: Any
) -> BookMetrics:
    """Book metrics around a mid of 100."""
    fields: dict[str, Any] = {
        "exchange": "binance",
        "symbol": symbol,
        "ts_ms": ts_ms,
        "sequence": ts_ms,
        "best_bid": 99.99,
        "best_ask": 100.01,
        "mid": 100.0,
        "spread_bps": 1.0,
        "bid_usd_0_3pct": 300e3,
        "ask_usd_0_3pct": 300e3,
        "bid_usd_0_5pct": 500e3,
        "ask_usd_0_5pct": 500e3,
        "imbalance": imbalance,
        "imbalance_band_pct": 0.5,
        "bands": [],
        "bid_reach_pct": 1.0,
        "ask_reach_pct": 1.0,
        "tick_size": 0.01,
    }
    fields.update(kw)
    return BookMetrics(**fields)


def activity(
    symbol: str = "ETHUSDT", ts_ms: int = T0, tpm: float = 50.0, baseline: float | None = 40.0
) -> TradeActivity:
    """Trade activity with the given 60 s TPM and baseline."""
    window = WindowStats(
        window_s=60,
        trades=int(tpm),
        tpm=tpm,
        tps=tpm / 60,
        buy_qty=1.0,
        sell_qty=1.0,
        volume_delta=0.0,
        notional=1000.0,
        buy_notional=500.0,
        sell_notional=500.0,
    )
    return TradeActivity(
        exchange="binance", symbol=symbol, ts_ms=ts_ms, windows=[window], baseline_tpm=baseline
    )


def candle(
    open_: float,
    high: float,
    low: float,
    close: float,
    *,
    symbol: str = "ETHUSDT",
    index: int = 0,
    timeframe: str = "5m",
    volume: float = 30.0,
) -> Candle:
    """A closed candle, `index` bars of `timeframe` after T0."""
    span = {"1m": MINUTE, "5m": 5 * MINUTE, "15m": 15 * MINUTE, "1h": 60 * MINUTE}[timeframe]
    open_ts = T0 + index * span
    return Candle(
        exchange="binance",
        symbol=symbol,
        timeframe=timeframe,  # type: ignore[arg-type]
        open_ts_ms=open_ts,
        close_ts_ms=open_ts + span - 1,
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=volume,
        quote_volume=volume * close,
        trades=100,
        taker_buy_volume=volume / 2,
    )


def level(
    kind: str = "resistance", price: float = 100.0, *, valid: bool = True, **kw: Any
) -> PriceLevel:
    """A level with a good approach."""
    fields: dict[str, Any] = {
        "kind": kind,
        "price": price,
        "touches": 3,
        "valid": valid,
        "round_score": 0.5,
        "cascade_size": 1,
        "approach_slope_pct_per_bar": 0.1,
        "consolidation_bars": 4,
        "approach_ok": True,
        "strength": 0.8,
    }
    fields.update(kw)
    return PriceLevel(**fields)


def levels(
    symbol: str = "ETHUSDT",
    *,
    resistance: PriceLevel | None = None,
    support: PriceLevel | None = None,
    index: int = 0,
    timeframe: str = "5m",
    atr: float | None = 0.5,
) -> LevelsUpdated:
    """Levels as of the `index`-th bar."""
    return LevelsUpdated(
        exchange="binance",
        symbol=symbol,
        timeframe=timeframe,
        open_ts_ms=T0 + index * 5 * MINUTE,
        close=99.5,
        atr=atr,
        resistance=resistance or level(),
        support=support or level("support", 98.0),
        base_height=2.0,
        base_height_pct=2.0,
        swing_highs=[],
        swing_lows=[],
        cascades=[],
    )


def market(symbol: str = "ETHUSDT", change: float = 3.0, tpm: float = 50.0) -> list[Event]:
    """What a liquid, compressed symbol's features say within the first minute."""
    return [
        ticker(symbol, change, 500e6, T0),
        book(symbol, T0 + 1_000),
        activity(symbol, T0 + 1_000, tpm=tpm),
        indicators(symbol, "1h", T0 + 2_000, volume_surge=1.5),
        indicators(symbol, "5m", T0 + 2_000, volume_surge=2.0, atr=0.5),
        indicators(
            symbol, "15m", T0 + 2_000, atr_pct=1.0, bb_width_percentile=20.0, corr_reference=0.1
        ),
    ]


def breakout(symbol: str = "ETHUSDT", close: float = 100.4) -> list[Event]:
    """Levels armed at 100, then a 5 m bar through it and its indicators."""
    bar = candle(99.9, 100.5, 99.85, close, symbol=symbol, index=1)
    bar_indicators = indicators(
        symbol,
        "5m",
        open_ts_ms=bar.open_ts_ms,
        close_ts_ms=bar.close_ts_ms,
        volume_median=10.0,
        vwap_gap_bps=20.0,
        atr=0.5,
    )
    return [levels(symbol), bar, bar_indicators]
