"""The risk core over events: limits that need history, and the kill switch's two levels."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from breakout.common.events import (
    ExchangeErrorOccurred,
    ExchangeRecovered,
    KillRequested,
    KillResetRequested,
    KillSwitchReset,
    KillSwitchTripped,
    MarketDataGap,
    OrderDenied,
    OrderIntentApproved,
    PositionClosed,
    SymbolQuarantined,
)
from breakout.common.presets import PresetError, load_preset, parse_preset
from breakout.risk.core import RiskCore
from tests.support.trading import T0_MS, balance, book, recorded, regime, rules, signal

PRESET = load_preset("breakout_v1")


def ready_core() -> RiskCore:
    core = RiskCore([PRESET])
    for event in (balance(), rules(), rules("ETHUSDT"), book(), book("ETHUSDT"), regime()):
        assert core.handle(recorded(event)) == []
    return core


def decision(core: RiskCore, **overrides: object) -> object:
    (emit,) = core.handle(recorded(signal(**overrides)))
    return emit.event


def closed(
    position_id: str, realized_r: str, realized_quote: str, ts_ms: int = T0_MS
) -> PositionClosed:
    return PositionClosed(
        position_id=position_id,
        preset="breakout_v1",
        exchange="binance",
        symbol="BTCUSDT",
        reason="stop",
        side="long",
        entry_qty=Decimal(1),
        entry_price=Decimal(100),
        exit_avg_price=Decimal(99),
        realized_quote=Decimal(realized_quote),
        realized_r=Decimal(realized_r),
        fees_quote=Decimal(0),
        initial_risk_quote=Decimal(60),
        residual_qty=Decimal(0),
        opened_ts_ms=ts_ms,
        ts_ms=ts_ms,
    )


def test_max_positions_counts_approved_intents_until_they_close() -> None:
    core = ready_core()
    ids = []
    for n in range(PRESET.risk.max_positions):
        result = decision(core, signal_id=f"s{n}", confidence=0.6)
        assert isinstance(result, OrderIntentApproved)
        ids.append(result.intent_id)
    result = decision(core, signal_id="one-too-many", confidence=0.6)
    assert isinstance(result, OrderDenied) and result.limit == "max_positions"
    assert result.value == PRESET.risk.max_positions
    core.handle(recorded(closed(ids[0], "1", "60")))
    assert isinstance(decision(core, signal_id="after-close", confidence=0.6), OrderIntentApproved)


def test_portfolio_heat_at_its_edge() -> None:
    preset = load_preset("breakout_v1")
    risk = msgspec.structs.replace(preset.risk, max_positions=10, max_portfolio_heat_r=2.0)
    core = RiskCore([msgspec.structs.replace(preset, risk=risk)])
    for event in (balance(), rules(), book(), regime()):
        core.handle(recorded(event))
    # Full confidence: each intent is 1 R of heat; two fit under 2.0, the third does not.
    assert isinstance(decision(core, signal_id="a", confidence=1.0), OrderIntentApproved)
    assert isinstance(decision(core, signal_id="b", confidence=1.0), OrderIntentApproved)
    third = decision(core, signal_id="c", confidence=1.0)
    assert isinstance(third, OrderDenied) and third.limit == "portfolio_heat_r"


def test_daily_r_loss_trips_the_kill_switch_and_next_day_is_fresh() -> None:
    core = ready_core()
    assert core.handle(recorded(closed("p1", "-1", "-10"))) == []
    assert core.handle(recorded(closed("p2", "-1", "-10"))) == []
    (trip,) = core.handle(recorded(closed("p3", "-1", "-10")))
    assert isinstance(trip.event, KillSwitchTripped)
    assert trip.event.trigger == "daily_loss_r" and trip.event.level == "entries"
    assert trip.event.value == 3.0 and trip.event.threshold == PRESET.risk.max_daily_loss_r
    result = decision(core, signal_id="later")
    assert isinstance(result, OrderDenied) and result.limit == "kill_switch"


def test_daily_loss_pct_trips_at_five_percent() -> None:
    core = ready_core()  # day start equity 10 000
    assert core.handle(recorded(closed("p1", "-0.5", "-499"))) == []
    (trip,) = core.handle(recorded(closed("p2", "-0.5", "-1")))
    assert isinstance(trip.event, KillSwitchTripped) and trip.event.trigger == "daily_loss_pct"


def test_consecutive_losses_deny_and_a_win_resets_them() -> None:
    core = ready_core()
    day = T0_MS
    for n in range(PRESET.risk.max_consecutive_losses):
        day += 86_400_000  # one loss a day: no daily limit trips
        core.handle(recorded(closed(f"p{n}", "-1", "-1", ts_ms=day)))
    result = decision(core, signal_id="s", ts_ms=day, confidence=0.6)
    assert isinstance(result, OrderDenied) and result.limit == "consecutive_losses"
    core.handle(recorded(closed("win", "2", "20", ts_ms=day)))
    core.handle(recorded(book(ts_ms=day)))
    assert isinstance(
        decision(core, signal_id="s2", ts_ms=day, confidence=0.6), OrderIntentApproved
    )


def test_operator_kill_both_levels_and_reset() -> None:
    core = ready_core()
    (entries,) = core.handle(recorded(KillRequested(level="entries", requested_by="op")))
    assert isinstance(entries.event, KillSwitchTripped) and entries.event.level == "entries"
    assert core.handle(recorded(KillRequested(level="entries", requested_by="op"))) == []
    (flatten,) = core.handle(recorded(KillRequested(level="flatten", requested_by="op")))
    assert isinstance(flatten.event, KillSwitchTripped) and flatten.event.level == "flatten"
    # Flatten is the top level: a later `entries` request does not lower it.
    assert core.handle(recorded(KillRequested(level="entries", requested_by="op"))) == []
    assert isinstance(decision(core, signal_id="x"), OrderDenied)
    (reset,) = core.handle(recorded(KillResetRequested(requested_by="op")))
    assert isinstance(reset.event, KillSwitchReset) and reset.event.previous_level == "flatten"
    assert core.handle(recorded(KillResetRequested(requested_by="op"))) == []
    assert isinstance(decision(core, signal_id="y"), OrderIntentApproved)


def gap(ts_ms: int, symbol: str = "BTCUSDT") -> MarketDataGap:
    return MarketDataGap(
        exchange="binance", symbol=symbol, feed="book", reason="t", detected_ts_ms=ts_ms
    )


def decision_at(core: RiskCore, ts_ms: int, **overrides: object) -> object:
    """A signal at `ts_ms`, with the books fresh at that time (the book-age check passes)."""
    for symbol in ("BTCUSDT", "ETHUSDT"):
        core.handle(recorded(book(symbol, ts_ms=ts_ms)))
    return decision(core, ts_ms=ts_ms, expires_ts_ms=ts_ms + 60_000, **overrides)


def test_a_gap_storm_on_one_symbol_quarantines_that_symbol_only() -> None:
    core = ready_core()
    ks = PRESET.risk.kill_switch
    spaced = ks.gap_storm_window_s * 1000
    for n in range(ks.gap_storm_count * 2):  # spread out: never a storm
        assert core.handle(recorded(gap(T0_MS + n * spaced))) == []
    start = T0_MS + 10 * spaced
    for n in range(ks.gap_storm_count - 1):
        assert core.handle(recorded(gap(start + n))) == []
    (emit,) = core.handle(recorded(gap(start + 100)))  # the count-th gap within the window
    quarantine = emit.event
    assert isinstance(quarantine, SymbolQuarantined) and emit.stream == "risk-kill"
    assert quarantine.symbol == "BTCUSDT" and quarantine.gap_count == ks.gap_storm_count
    assert quarantine.until_ts_ms == start + 100 + ks.gap_quarantine_s * 1000
    assert core.view.kill_level is None  # one flaky symbol stops no other entry
    denied = decision_at(core, start + 200, signal_id="btc")
    assert isinstance(denied, OrderDenied) and denied.limit == "symbol_gap_storm"
    assert denied.value == pytest.approx(ks.gap_quarantine_s - 0.1)
    other = decision_at(core, start + 200, signal_id="eth", symbol="ETHUSDT")
    assert isinstance(other, OrderIntentApproved)
    assert any(c.name == "symbol_gap_storm" and c.passed for c in other.checks)


def test_a_quarantine_ends_after_a_quiet_period_and_a_further_gap_extends_it() -> None:
    core = ready_core()
    ks = PRESET.risk.kill_switch
    for n in range(ks.gap_storm_count):
        core.handle(recorded(gap(T0_MS + n)))
    first_until = T0_MS + ks.gap_storm_count - 1 + ks.gap_quarantine_s * 1000
    assert core.view.quarantined == {"BTCUSDT": first_until}
    # One more gap while quarantined (the storm window long passed): the quiet period restarts.
    later = T0_MS + ks.gap_quarantine_s * 500
    (emit,) = core.handle(recorded(gap(later)))
    assert isinstance(emit.event, SymbolQuarantined) and emit.event.gap_count == 1
    until = later + ks.gap_quarantine_s * 1000
    assert emit.event.until_ts_ms == until
    last_denied = decision_at(core, until - 1, signal_id="before")
    assert isinstance(last_denied, OrderDenied) and last_denied.limit == "symbol_gap_storm"
    assert isinstance(decision_at(core, until, signal_id="after"), OrderIntentApproved)
    # After the quiet period a single gap is just a gap again.
    assert core.handle(recorded(gap(until + 1))) == []
    assert core.view.quarantined == {}


def test_gaps_on_many_symbols_within_the_window_trip_the_entries_kill() -> None:
    core = ready_core()
    ks = PRESET.risk.kill_switch
    window_ms = ks.gap_storm_window_s * 1000
    symbols = [f"SYM{n}USDT" for n in range(ks.gap_storm_symbols)]
    # One symbol fewer than the threshold, then the first one's gap leaves the window.
    for n, symbol in enumerate(symbols[:-1]):
        assert core.handle(recorded(gap(T0_MS + n, symbol))) == []
    assert core.handle(recorded(gap(T0_MS + window_ms, symbols[-1]))) == []
    (trip,) = core.handle(recorded(gap(T0_MS + window_ms, symbols[0])))
    assert isinstance(trip.event, KillSwitchTripped) and trip.event.trigger == "gap_storm"
    assert trip.event.level == "entries" and trip.event.value == ks.gap_storm_symbols
    denied = decision_at(core, T0_MS + window_ms + 2, signal_id="any")
    assert isinstance(denied, OrderDenied) and denied.limit == "kill_switch"


def test_quarantines_survive_a_snapshot_and_a_v1_snapshot_still_restores() -> None:
    core = ready_core()
    ks = PRESET.risk.kill_switch
    for n in range(ks.gap_storm_count - 1):
        core.handle(recorded(gap(T0_MS + n)))
    core.handle(recorded(gap(T0_MS + 5, "ETHUSDT")))
    for n in range(ks.gap_storm_count):
        core.handle(recorded(gap(T0_MS + 10 + n, "SOLUSDT")))
    restored = RiskCore([PRESET])
    restored.restore(core.snapshot())
    assert restored.view.quarantined == core.view.quarantined != {}
    assert restored.gaps == core.gaps
    # The next BTC gap is its count-th within the window in both: both quarantine it.
    assert [e.event for e in restored.handle(recorded(gap(T0_MS + 50)))] == [
        e.event for e in core.handle(recorded(gap(T0_MS + 50)))
    ]
    state = msgspec.msgpack.decode(core.snapshot())
    v1 = msgspec.msgpack.encode({**state, "version": 1, "gaps": [T0_MS, T0_MS + 1]})
    old = RiskCore([PRESET])
    old.restore(v1)
    assert old.gaps == {} and old.view.quarantined == core.view.quarantined


def test_gap_storm_symbols_below_two_is_refused_at_load() -> None:
    raw = msgspec.json.decode(msgspec.json.encode(PRESET))
    raw["risk"]["kill_switch"]["gap_storm_symbols"] = 1
    with pytest.raises(PresetError, match=r"risk\.kill_switch\.gap_storm_symbols"):
        parse_preset(msgspec.json.encode(raw))


def error(ts_ms: int) -> ExchangeErrorOccurred:
    return ExchangeErrorOccurred(
        exchange="binance",
        kind="network",
        operation="fetch_order",
        error="NetworkError",
        message="x",
        ts_ms=ts_ms,
    )


def test_exchange_unreachable_past_the_grace_trips() -> None:
    core = ready_core()
    grace_ms = PRESET.risk.kill_switch.disconnect_grace_s * 1000
    assert core.handle(recorded(error(T0_MS))) == []
    assert core.handle(recorded(error(T0_MS + grace_ms - 1))) == []
    core.handle(recorded(ExchangeRecovered(exchange="binance", errors=2, ts_ms=T0_MS + grace_ms)))
    assert core.handle(recorded(error(T0_MS + grace_ms + 1))) == []  # a new streak
    (trip,) = core.handle(recorded(error(T0_MS + 2 * grace_ms + 1)))
    assert isinstance(trip.event, KillSwitchTripped) and trip.event.trigger == "disconnect"


def test_no_regime_yet_halves_the_size_unless_the_preset_requires_one() -> None:
    def without_regime(preset: object) -> RiskCore:
        core = RiskCore([preset])  # type: ignore[list-item]
        for event in (balance(), rules(), book()):
            assert core.handle(recorded(event)) == []
        return core

    relaxed = msgspec.structs.replace(
        PRESET, risk=msgspec.structs.replace(PRESET.risk, require_regime=False)
    )
    with_regime = decision(ready_core())
    halved = decision(without_regime(relaxed))
    assert isinstance(with_regime, OrderIntentApproved) and isinstance(halved, OrderIntentApproved)
    assert halved.sizing.regime is None and halved.sizing.regime_multiplier == 0.5
    assert halved.sizing.risk_quote == pytest.approx(
        with_regime.sizing.risk_quote * 0.5 / with_regime.sizing.regime_multiplier
    )
    strict = msgspec.structs.replace(
        PRESET, risk=msgspec.structs.replace(PRESET.risk, require_regime=True)
    )
    assert isinstance(decision(without_regime(strict)), OrderDenied)
