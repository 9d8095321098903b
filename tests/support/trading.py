"""Builders of the events the risk, execution and reconcile cores read (tests only)."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from breakout.common.events import (
    BalanceObserved,
    BookMetrics,
    DepthBand,
    Event,
    MarketRulesObserved,
    RecordedEvent,
    RegimeChanged,
    SignalGenerated,
)
from breakout.common.events.regime import (
    RegimeInputs,
    RegimePermissions,
    RegimeState,
    RegimeWeights,
    TrendReading,
)

T0_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
_positions = itertools.count(1)


def recorded(event: Event, ts_ms: int | None = None, stream: str = "test-x") -> RecordedEvent:
    """Wrap `event` as the store would have recorded it (a fresh id and the next position)."""
    when = datetime.fromtimestamp((ts_ms if ts_ms is not None else T0_MS) / 1000, tz=UTC)
    return RecordedEvent(
        position=next(_positions),
        stream=stream,
        version=1,
        event_id=uuid.uuid4(),
        type=type(event).type_tag(),
        occurred_at=when,
        recorded_at=when,
        producer="test",
        data=event,
    )


def signal(**overrides: Any) -> SignalGenerated:
    """A long momentum breakout on BTCUSDT at 100 with ATR 1 and a swing low at 99."""
    fields: dict[str, Any] = dict(
        signal_id="sig-1",
        preset="breakout_v1",
        preset_ref="breakout_v1@v1#x",
        exchange="binance",
        symbol="BTCUSDT",
        side="long",
        strategy="momentum",
        entry_order="market",
        entry_price=100.0,
        level_price=99.5,
        stop_price=98.5,
        atr_5m=1.0,
        swing_price=99.0,
        confidence=0.8,
        reason="test",
        ts_ms=T0_MS,
        expires_ts_ms=T0_MS + 60_000,
        checks=[],
    )
    fields.update(overrides)
    return SignalGenerated(**fields)


def book(symbol: str = "BTCUSDT", ts_ms: int = T0_MS, **overrides: Any) -> BookMetrics:
    """Book metrics with 1 M USD on each side within 0.5 % and a 1 bp spread."""
    fields: dict[str, Any] = dict(
        exchange="binance",
        symbol=symbol,
        ts_ms=ts_ms,
        sequence=1,
        best_bid=99.995,
        best_ask=100.005,
        mid=100.0,
        spread_bps=1.0,
        bid_usd_0_3pct=600_000.0,
        ask_usd_0_3pct=600_000.0,
        bid_usd_0_5pct=1_000_000.0,
        ask_usd_0_5pct=1_000_000.0,
        imbalance=0.0,
        imbalance_band_pct=0.5,
        bands=[DepthBand(pct=0.5, bid_usd=1_000_000.0, ask_usd=1_000_000.0)],
        bid_reach_pct=1.0,
        ask_reach_pct=1.0,
        tick_size=0.01,
    )
    fields.update(overrides)
    return BookMetrics(**fields)


def rules(symbol: str = "BTCUSDT", **overrides: Any) -> MarketRulesObserved:
    """BTCUSDT-like rules: tick 0.01, step 0.00001, min qty 0.00001, min notional 5."""
    fields: dict[str, Any] = dict(
        exchange="binance",
        symbol=symbol,
        base=symbol.removesuffix("USDT"),
        quote="USDT",
        tick_size=Decimal("0.01"),
        step_size=Decimal("0.00001"),
        min_qty=Decimal("0.00001"),
        min_notional=Decimal("5"),
        ts_ms=T0_MS,
    )
    fields.update(overrides)
    return MarketRulesObserved(**fields)


def balance(equity: str = "10000", free: str | None = None, ts_ms: int = T0_MS) -> BalanceObserved:
    """An all-USDT account."""
    return BalanceObserved(
        exchange="binance",
        quote="USDT",
        free={"USDT": Decimal(free or equity)},
        total={"USDT": Decimal(equity)},
        equity_quote=Decimal(equity),
        ts_ms=ts_ms,
    )


def _trend(series: str) -> TrendReading:
    return TrendReading(
        series=series,  # type: ignore[arg-type]
        direction="FLAT",
        change=0.0,
        score=0.0,
        last_value=None,
        points=0,
        lookback_points=24,
        strong_move=0.5,
        weak_move=0.1,
    )


def regime(
    state: RegimeState = "RISK_ON",
    sides: tuple[str, ...] = ("long",),
    presets: tuple[str, ...] = ("breakout_v1", "high_liquidity_top30", "high_percent_breakout"),
) -> RegimeChanged:
    """A regime decision allowing `sides` and `presets`."""
    return RegimeChanged(
        state=state,
        previous_state=None,
        confidence=0.9,
        min_confidence=0.6,
        time_in_previous_s=None,
        min_time_in_state_s=3600.0,
        inputs=RegimeInputs(
            dxy=_trend("DXY"),
            btcd=_trend("BTCD"),
            news_score=None,
            active_news=0,
            decoupled_news_share=0.5,
            weights=RegimeWeights(dxy=0.4, btcd=0.3, news=0.3),
            masses={},
        ),
        permissions=RegimePermissions(
            sides_allowed=list(sides),  # type: ignore[arg-type]
            presets_allowed=list(presets),
            size_multiplier=1.0,
        ),
        decided_ts_ms=T0_MS,
        config_id="test",
    )
