"""The risk core: signals in, sized intents or denials out, and the kill switch (pure).

It folds what it needs to decide into a `RiskView`: balances and market rules observed at the
exchange, book metrics (depth, spread), correlations, the regime, open positions and the day's
realised P&L, the kill switch and operator pauses. Time is the events' own (`ts_ms`): the UTC
day of a closed position or a signal decides which day's limits apply.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from decimal import Decimal

import msgspec

from breakout.common.events import (
    BalanceObserved,
    BookMetrics,
    ExchangeErrorOccurred,
    ExchangeRecovered,
    IndicatorsUpdated,
    KillRequested,
    KillResetRequested,
    KillSwitchReset,
    KillSwitchTripped,
    MarketDataGap,
    MarketRulesObserved,
    OrderAcknowledged,
    OrderIntentApproved,
    PauseRequested,
    PositionClosed,
    RecordedEvent,
    RegimeChanged,
    SignalGenerated,
    SymbolQuarantined,
    risk_stream,
)
from breakout.common.events.risk import KILL_STREAM, KillLevel, KillTrigger
from breakout.common.presets import KillSwitchConfig, Preset
from breakout.common.runtime.core import Emit
from breakout.common.store.port import EventFilter
from breakout.risk.decide import OpenRisk, RiskView, decide
from breakout.risk.sizing import MarketRules

DAY_MS = 86_400_000
SUBJECTS = (
    "sig.*.*",
    "regime.state",
    "exec.account.*",
    "exec.market.*.*",
    "exec.broker.*",
    "exec.order.acknowledged.*",
    "feat.book.*",
    "feat.indicators.*",
    "pos.closed.*",
    "md.gap.*.*",
    "ctl.kill",
    "ctl.kill_reset",
    "ctl.pause",
)


# v2: gap times per symbol (v1 kept one list for every symbol; restored as none, see restore).
SNAPSHOT_VERSION = 2


class SnapshotMismatch(RuntimeError):
    """A snapshot in another format: refusing it beats forgetting the day's losses."""


class RiskSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """The risk core's whole state."""

    version: int
    view: RiskView
    day: int | None
    gaps: dict[str, list[int]] | list[int]
    error_streak_from_ms: int | None
    decided: list[str]


class RiskCore:
    """Sizing, limits and the kill switch for the presets it is given."""

    subjects: tuple[str, ...] = SUBJECTS
    store_filter: EventFilter | None = None

    def __init__(self, presets: Sequence[Preset], quote: str = "USDT") -> None:
        if not presets:
            raise ValueError("the risk core needs at least one preset")
        self.presets = {p.name: p for p in presets}
        self.quote = quote
        # The account-wide switches use the strictest of the loaded presets' settings.
        self.kill_config = _strictest_kill(presets)
        self.view = RiskView()
        self.day: int | None = None
        self.gaps: dict[str, deque[int]] = {}  # md.gap times within the window, per symbol
        self.error_streak_from_ms: int | None = None
        self.decided: set[str] = set()  # signal ids already decided (a signal is decided once)

    def snapshot(self) -> bytes:
        """The whole state (msgpack)."""
        state = RiskSnapshot(
            version=SNAPSHOT_VERSION,
            view=self.view,
            day=self.day,
            gaps={symbol: list(times) for symbol, times in self.gaps.items()},
            error_streak_from_ms=self.error_streak_from_ms,
            decided=sorted(self.decided),
        )
        return msgspec.msgpack.encode(state)

    def restore(self, state: bytes) -> None:
        """Replace the state with a snapshot's; one in another format is refused (fail closed)."""
        try:
            snap = msgspec.msgpack.decode(state, type=RiskSnapshot)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise SnapshotMismatch(f"unreadable risk snapshot: {exc}") from exc
        if snap.version not in (1, SNAPSHOT_VERSION):
            raise SnapshotMismatch(f"risk snapshot v{snap.version}, expected v{SNAPSHOT_VERSION}")
        self.view, self.day = snap.view, snap.day
        # A v1 snapshot's gap times have no symbols; they only ever matter within one storm
        # window, so they are dropped rather than guessed.
        gaps = snap.gaps if isinstance(snap.gaps, dict) else {}
        self.gaps = {symbol: deque(times) for symbol, times in gaps.items()}
        self.error_streak_from_ms, self.decided = snap.error_streak_from_ms, set(snap.decided)

    def handle(self, event: RecordedEvent) -> Sequence[Emit]:
        """Fold one event; return decisions and kill-switch changes."""
        match event.data:
            case SignalGenerated() as signal:
                return self._on_signal(signal)
            case PositionClosed() as closed:
                return self._on_closed(closed)
            case KillRequested(level=level, requested_by=who, reason=why):
                ts = _ms(event)
                return self._trip(level, "operator", None, None, why or "operator", ts, who)
            case KillResetRequested(requested_by=who, reason=why):
                return self._reset(who, why, _ms(event))
            case MarketDataGap() as gap:
                return self._on_gap(gap)
            case OrderAcknowledged(latency_ms=latency, ts_ms=ts) if latency is not None:
                limit = float(self.kill_config.max_latency_ms)
                if latency > limit:
                    return self._trip("entries", "latency", latency, limit, "order latency", ts)
            case ExchangeErrorOccurred() as error:
                return self._on_exchange_error(error)
            case ExchangeRecovered():
                self.error_streak_from_ms = None
            case _:
                self._observe(event)
        return []

    # -- observations -----------------------------------------------------------------------

    def _observe(self, event: RecordedEvent) -> None:
        view = self.view
        match event.data:
            case BalanceObserved(quote=quote, free=free, equity_quote=equity, ts_ms=ts):
                view.equity_quote = float(equity)
                view.free_quote = float(free.get(quote, Decimal(0)))
                self._roll_day(ts)
                if view.day_start_equity is None:
                    view.day_start_equity = float(equity)
            case MarketRulesObserved() as rules:
                view.rules[rules.symbol] = MarketRules(
                    step_size=rules.step_size,
                    min_qty=rules.min_qty,
                    min_notional=rules.min_notional,
                )
            case BookMetrics() as book:
                view.books[book.symbol] = book
            case IndicatorsUpdated(symbol=symbol, corr_reference=corr) if corr is not None:
                view.correlations[symbol] = corr
            case RegimeChanged() as regime:
                view.regime = regime
            case PauseRequested(paused=paused, preset=preset):
                key = preset or "*"
                if paused:
                    view.paused.add(key)
                else:
                    view.paused.discard(key)
                    if preset is None:
                        view.paused.clear()
            case _:
                pass

    def _roll_day(self, ts_ms: int) -> None:
        day = ts_ms // DAY_MS
        if self.day is None or day > self.day:
            self.day = day
            self.view.day_realized_r = 0.0
            self.view.day_realized_quote = 0.0
            self.view.day_start_equity = self.view.equity_quote

    # -- decisions ----------------------------------------------------------------------------

    def _on_signal(self, signal: SignalGenerated) -> list[Emit]:
        if signal.signal_id in self.decided:
            return []  # the same signal again (a producer's retry): decided already
        self.decided.add(signal.signal_id)
        self._roll_day(signal.ts_ms)
        decision = decide(signal, self.presets.get(signal.preset), self.view)
        if isinstance(decision, OrderIntentApproved):
            self.view.open[decision.intent_id] = OpenRisk(
                symbol=signal.symbol, preset=signal.preset, risk_r=decision.sizing.risk_r
            )
        return [Emit(stream=risk_stream(signal.preset), event=decision)]

    def _on_closed(self, closed: PositionClosed) -> list[Emit]:
        self._roll_day(closed.ts_ms)
        self.view.open.pop(closed.position_id, None)
        if closed.reason == "entry_unfilled":
            return []
        view = self.view
        view.day_realized_r += float(closed.realized_r)
        view.day_realized_quote += float(closed.realized_quote)
        view.consecutive_losses = view.consecutive_losses + 1 if closed.realized_quote < 0 else 0
        preset = self.presets.get(closed.preset) or next(iter(self.presets.values()))
        limit_r = min(p.risk.max_daily_loss_r for p in self.presets.values())
        if -view.day_realized_r >= limit_r:
            return self._trip(
                "entries",
                "daily_loss_r",
                -view.day_realized_r,
                limit_r,
                "daily R loss",
                closed.ts_ms,
            )
        if view.day_start_equity:
            loss_pct = -view.day_realized_quote / view.day_start_equity
            if loss_pct >= preset.risk.max_daily_loss_pct:
                limit = preset.risk.max_daily_loss_pct
                return self._trip(
                    "entries", "daily_loss_pct", loss_pct, limit, "daily loss %", closed.ts_ms
                )
        return []

    # -- kill switch ----------------------------------------------------------------------------

    def _trip(  # noqa: PLR0917 - a trip names every one of its reasons
        self,
        level: KillLevel,
        trigger: KillTrigger,
        value: float | None,
        threshold: float | None,
        reason: str,
        ts_ms: int,
        requested_by: str | None = None,
    ) -> list[Emit]:
        current = self.view.kill_level
        if current in ("flatten", level):
            return []  # already at (or above) this level: nothing changes
        self.view.kill_level = level
        tripped = KillSwitchTripped(
            level=level,
            trigger=trigger,
            value=value,
            threshold=threshold,
            reason=reason,
            requested_by=requested_by,
            ts_ms=ts_ms,
        )
        return [Emit(stream=KILL_STREAM, event=tripped)]

    def _reset(self, requested_by: str, reason: str, ts_ms: int) -> list[Emit]:
        previous = self.view.kill_level
        if previous is None:
            return []
        self.view.kill_level = None
        self.gaps.clear()
        self.error_streak_from_ms = None
        reset = KillSwitchReset(
            previous_level=previous, requested_by=requested_by, reason=reason, ts_ms=ts_ms
        )
        return [Emit(stream=KILL_STREAM, event=reset)]

    def _on_gap(self, gap: MarketDataGap) -> list[Emit]:
        """Count gaps per symbol: a storm on one quarantines it, gaps on many trip the kill."""
        ks = self.kill_config
        now = gap.detected_ts_ms
        self.gaps.setdefault(gap.symbol, deque()).append(now)
        for symbol in list(self.gaps):
            times = self.gaps[symbol]
            while times and times[0] <= now - ks.gap_storm_window_s * 1000:
                times.popleft()
            if not times:
                del self.gaps[symbol]
        quarantined = self.view.quarantined
        for symbol in [s for s, until in quarantined.items() if until <= now]:
            del quarantined[symbol]
        emits: list[Emit] = []
        count = len(self.gaps.get(gap.symbol, ()))
        if count >= ks.gap_storm_count or gap.symbol in quarantined:
            until = now + ks.gap_quarantine_s * 1000
            quarantined[gap.symbol] = until
            event = SymbolQuarantined(
                symbol=gap.symbol,
                gap_count=count,
                threshold=ks.gap_storm_count,
                window_s=ks.gap_storm_window_s,
                quiet_s=ks.gap_quarantine_s,
                last_gap_ts_ms=now,
                until_ts_ms=until,
                ts_ms=now,
            )
            emits.append(Emit(stream=KILL_STREAM, event=event))
        symbols = len(self.gaps)
        if symbols >= ks.gap_storm_symbols:
            reason = f"market-data gaps on {symbols} symbols within {ks.gap_storm_window_s}s"
            emits += self._trip("entries", "gap_storm", symbols, ks.gap_storm_symbols, reason, now)
        return emits

    def _on_exchange_error(self, error: ExchangeErrorOccurred) -> list[Emit]:
        if error.kind not in ("network", "rate_limited"):
            return []
        if self.error_streak_from_ms is None:
            self.error_streak_from_ms = error.ts_ms
        down_s = (error.ts_ms - self.error_streak_from_ms) / 1000
        grace = float(self.kill_config.disconnect_grace_s)
        if down_s >= grace:
            reason = f"exchange unreachable for {down_s:.0f}s ({error.operation}: {error.error})"
            return self._trip("entries", "disconnect", down_s, grace, reason, error.ts_ms)
        return []


def _ms(event: RecordedEvent) -> int:
    """The source time of an event without its own timestamp (operator commands)."""
    return int(event.occurred_at.timestamp() * 1000)


def _strictest_kill(presets: Sequence[Preset]) -> KillSwitchConfig:
    configs = [p.risk.kill_switch for p in presets]
    return KillSwitchConfig(
        max_latency_ms=min(c.max_latency_ms for c in configs),
        gap_storm_count=min(c.gap_storm_count for c in configs),
        gap_storm_window_s=max(c.gap_storm_window_s for c in configs),
        gap_quarantine_s=max(c.gap_quarantine_s for c in configs),
        gap_storm_symbols=min(c.gap_storm_symbols for c in configs),
        disconnect_grace_s=min(c.disconnect_grace_s for c in configs),
    )
