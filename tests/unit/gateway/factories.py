"""Events for gateway tests: real feature, regime and control types, plus two test-only
position types (the execution service's own are not on this branch) that prove the generic
`trading` read model and the dashboard are driven by data, not by classes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from breakout.common.events import (
    DensityDetected,
    DensityEaten,
    DensityRemoved,
    Event,
    LevelsUpdated,
    LiquidityLevels,
    NewEvent,
    PriceLevel,
    TradeActivity,
    WindowStats,
    subject_token,
)
from breakout.common.events.regime import (
    NewsClassified,
    RegimeChanged,
    RegimeInputs,
    RegimePermissions,
    RegimeWeights,
    TrendReading,
)
from breakout.common.events.sig import Check, ScanCompleted, ScanRow, SignalRejected
from breakout.common.ids import external_event_id

BASE = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
BASE_MS = int(BASE.timestamp() * 1000)


class E2EPositionOpened(Event, frozen=True, kw_only=True, tag="pos.e2e_opened.v1"):
    """Test stand-in for an opened position."""

    position_id: str
    symbol: str
    side: str
    qty: str
    entry_price: str
    stop_price: str
    risk_per_unit: str
    ts_ms: int

    def subject(self) -> str:
        """`pos.opened.<SYMBOL>`."""
        return f"pos.opened.{subject_token(self.symbol)}"


class E2EPositionClosed(Event, frozen=True, kw_only=True, tag="pos.e2e_closed.v1"):
    """Test stand-in for a closed position."""

    position_id: str
    symbol: str
    exit_price: str
    ts_ms: int

    def subject(self) -> str:
        """`pos.closed.<SYMBOL>`."""
        return f"pos.closed.{subject_token(self.symbol)}"


def new(event: Event, ts_ms: int, *key: object) -> NewEvent:
    """Wrap `event` as an external input with a deterministic id."""
    return NewEvent(
        event_id=external_event_id("gateway-test", type(event).type_tag(), *map(str, key), ts_ms),
        data=event,
        occurred_at=BASE + timedelta(milliseconds=ts_ms - BASE_MS),
        producer="gateway-test",
    )


def activity(symbol: str, ts_ms: int, price: float, *, windows: int = 1) -> TradeActivity:
    """Trade statistics; `windows` pads the payload (for back-pressure tests)."""
    stats = [
        WindowStats(
            window_s=60 * (i + 1),
            trades=10,
            tpm=120.0,
            tps=2.0,
            buy_qty=1.5,
            sell_qty=1.0,
            volume_delta=0.5,
            notional=price * 2.5,
            buy_notional=price * 1.5,
            sell_notional=price,
        )
        for i in range(windows)
    ]
    return TradeActivity(
        exchange="binance",
        symbol=symbol,
        ts_ms=ts_ms,
        windows=stats,
        last_price=price,
        activity_index=1.2,
        drop_frac=0.1,
        baseline_tpm=130.0,
    )


def wall(symbol: str, wall_id: str, ts_ms: int, price: float, side: str = "bid") -> DensityDetected:
    """A wall detected at `price`."""
    return DensityDetected(
        exchange="binance",
        symbol=symbol,
        ts_ms=ts_ms,
        wall_id=wall_id,
        side=side,  # type: ignore[arg-type]
        price_low=price,
        price_high=price + 1,
        qty=40.0,
        usd=40.0 * price,
        reference_qty=4.0,
        strength=10.0,
        k_density=5.0,
        distance_bps=20.0,
    )


def eaten(symbol: str, wall_id: str, ts_ms: int, price: float, ratio: float) -> DensityEaten:
    """The wall at `price` eaten to `ratio`."""
    return DensityEaten(
        exchange="binance",
        symbol=symbol,
        ts_ms=ts_ms,
        wall_id=wall_id,
        side="bid",
        price_low=price,
        price_high=price + 1,
        initial_qty=40.0,
        remaining_qty=40.0 * (1 - ratio),
        eaten_ratio=ratio,
        traded_qty=40.0 * ratio,
        pulled_qty=0.0,
    )


def removed(symbol: str, wall_id: str, ts_ms: int, price: float) -> DensityRemoved:
    """The wall at `price` eaten through."""
    return DensityRemoved(
        exchange="binance",
        symbol=symbol,
        ts_ms=ts_ms,
        wall_id=wall_id,
        side="bid",
        price_low=price,
        price_high=price + 1,
        cause="eaten",
        initial_qty=40.0,
        remaining_qty=2.0,
        eaten_ratio=0.95,
        traded_qty=38.0,
        pulled_qty=0.0,
        lifetime_ms=5000,
    )


def _level(kind: str, price: float) -> PriceLevel:
    return PriceLevel(
        kind=kind,  # type: ignore[arg-type]
        price=price,
        touches=3,
        valid=True,
        round_score=0.5,
        cascade_size=1,
        approach_slope_pct_per_bar=0.1,
        consolidation_bars=4,
        approach_ok=True,
        strength=0.7,
    )


def levels(symbol: str, ts_ms: int, resistance: float, support: float) -> LevelsUpdated:
    """Donchian levels."""
    return LevelsUpdated(
        exchange="binance",
        symbol=symbol,
        timeframe="5m",
        open_ts_ms=ts_ms,
        close=(resistance + support) / 2,
        resistance=_level("resistance", resistance),
        support=_level("support", support),
        base_height=resistance - support,
        base_height_pct=100 * (resistance - support) / support,
        swing_highs=[resistance],
        swing_lows=[support],
        cascades=[],
    )


def opened(
    position_id: str, symbol: str, ts_ms: int, entry: float, stop: float
) -> E2EPositionOpened:
    """A long position."""
    return E2EPositionOpened(
        position_id=position_id,
        symbol=symbol,
        side="long",
        qty="0.5",
        entry_price=str(entry),
        stop_price=str(stop),
        risk_per_unit=str(entry - stop),
        ts_ms=ts_ms,
    )


def closed(position_id: str, symbol: str, ts_ms: int, price: float) -> E2EPositionClosed:
    """The position closed at `price`."""
    return E2EPositionClosed(
        position_id=position_id, symbol=symbol, exit_price=str(price), ts_ms=ts_ms
    )


def scan(preset: str, ts_ms: int, symbols: list[str]) -> ScanCompleted:
    """A scan in which every symbol passed, ranked in order."""
    check = Check(name="volume_24h", value=2e8, threshold=1e8, op=">=", passed=True, margin=1e8)
    rows = [
        ScanRow(symbol=s, passed=True, checks=[check], score=3.0 - i, rank=i + 1)
        for i, s in enumerate(symbols)
    ]
    return ScanCompleted(
        preset=preset,
        preset_ref=f"{preset}@1",
        exchange="binance",
        ts_ms=ts_ms,
        rows=rows,
        candidates=symbols,
    )


def rejection(preset: str, symbol: str, ts_ms: int) -> SignalRejected:
    """A rejected momentum entry: activity too low."""
    check = Check(
        name="activity_tpm_ratio", value=0.4, threshold=0.7, op=">=", passed=False, margin=-0.3
    )
    return SignalRejected(
        preset=preset,
        preset_ref=f"{preset}@1",
        exchange="binance",
        symbol=symbol,
        side="long",
        strategy="momentum",
        level_price=100.0,
        ts_ms=ts_ms,
        failed=["activity_tpm_ratio"],
        checks=[check],
    )


def liquidity(symbol: str, ts_ms: int, high: float, low: float) -> LiquidityLevels:
    """Liquidity levels with only the visible range (no sessions, no book zones)."""
    return LiquidityLevels(
        exchange="binance",
        symbol=symbol,
        timeframe="5m",
        open_ts_ms=ts_ms,
        sessions=[],
        visible_high=high,
        visible_low=low,
        book_zones=[],
    )


def _trend(series: str, direction: str, score: float) -> TrendReading:
    return TrendReading(
        series=series,  # type: ignore[arg-type]
        direction=direction,  # type: ignore[arg-type]
        change=score / 2,
        score=score,
        last_value=100.0,
        points=24,
        lookback_points=24,
        strong_move=0.5,
        weak_move=0.1,
    )


def regime_changed(ts_ms: int, state: str = "RISK_ON") -> RegimeChanged:
    """The regime turned `state`, with the trends behind it."""
    return RegimeChanged(
        state=state,  # type: ignore[arg-type]
        previous_state=None,
        confidence=0.8,
        min_confidence=0.6,
        time_in_previous_s=None,
        min_time_in_state_s=3600.0,
        inputs=RegimeInputs(
            dxy=_trend("DXY", "STRONG_DOWN", -1.0),
            btcd=_trend("BTCD", "WEAK_UP", 0.4),
            news_score=0.3,
            active_news=2,
            decoupled_news_share=0.0,
            weights=RegimeWeights(dxy=0.4, btcd=0.3, news=0.3),
            masses={"RISK_ON": 0.8},
        ),
        permissions=RegimePermissions(
            sides_allowed=["long"], presets_allowed=["breakout_v1"], size_multiplier=1.0
        ),
        decided_ts_ms=ts_ms,
        config_id="abc123def456",
    )


def classified(ts_ms: int, title: str, impact: str = "HIGH") -> NewsClassified:
    """A classified article counting for an hour."""
    return NewsClassified(
        url=f"https://news.example/{ts_ms}",
        title=title,
        published_ts_ms=ts_ms,
        category="etf",
        sentiment=0.6,
        impact=impact,  # type: ignore[arg-type]
        alignment="ALIGNED",
        matched_terms=["etf"],
        negated_terms=[],
        expires_ts_ms=ts_ms + 3_600_000,
        classifier="keywords@1",
    )
