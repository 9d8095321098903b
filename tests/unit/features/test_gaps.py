"""Features across a market-data gap: a hole in the tape is not an activity drop, and walls
seen before a book gap leave our view instead of being read as eaten or pulled."""

from __future__ import annotations

from breakout.common.events import (
    ActivityDropped,
    BookSnapshot,
    DensityDetected,
    DensityRemoved,
    Event,
    MarketDataGap,
    MarketDataResynced,
    TradeActivity,
)
from breakout.common.runtime.core import Emit
from breakout.features.core import FeaturesCore
from tests.unit.features.factories import T0_MS, market, recorded

WARM_S = 600  # the activity baseline needs 300 s of history; give it twice that


def _run(core: FeaturesCore, events: list[Event]) -> list[Emit]:
    out: list[Emit] = []
    for position, data in enumerate(events, start=1):
        out += core.handle(recorded(data, position))
    return out


def _silent_tape(events: list[Event], from_s: int) -> list[Event]:
    """The market with every trade from `from_s` on removed (books keep coming)."""
    cut_ms = T0_MS + from_s * 1000
    return [e for e in events if isinstance(e, BookSnapshot) or _ts(e) < cut_ms]


def _ts(event: Event) -> int:
    for name in ("exchange_ts_ms", "detected_ts_ms", "resynced_ts_ms"):
        if hasattr(event, name):
            return int(getattr(event, name))
    raise TypeError(event)


def _gap(feed: str, at_s: int) -> MarketDataGap:
    return MarketDataGap(
        exchange="binance",
        symbol="BTCUSDT",
        feed=feed,  # type: ignore[arg-type]
        reason="websocket closed",
        detected_ts_ms=T0_MS + at_s * 1000,
    )


def _with(events: list[Event], at_s: int, extra: Event) -> list[Event]:
    cut_ms = T0_MS + at_s * 1000
    before = [e for e in events if _ts(e) < cut_ms]
    return [*before, extra, *events[len(before) :]]


def test_silence_without_a_gap_is_an_activity_drop() -> None:
    # The control case: the same silent tape with no gap reported is a real drop.
    emits = _run(FeaturesCore(), _silent_tape(market(seconds=WARM_S + 120), WARM_S))
    assert any(isinstance(e.event, ActivityDropped) for e in emits)


def test_a_trades_gap_suspends_drop_detection_until_resynced() -> None:
    events = _with(
        _silent_tape(market(seconds=WARM_S + 120), WARM_S), WARM_S, _gap("trades", WARM_S)
    )
    emits = _run(FeaturesCore(), events)
    assert not any(isinstance(e.event, ActivityDropped) for e in emits)
    activity = [e.event for e in emits if isinstance(e.event, TradeActivity)]
    assert any(a.data_gap for a in activity) and not activity[0].data_gap
    assert all(a.data_gap for a in activity if a.ts_ms > T0_MS + WARM_S * 1000)


def test_resynced_trades_are_read_again() -> None:
    resynced = MarketDataResynced(
        exchange="binance",
        symbol="BTCUSDT",
        feed="trades",
        recovered=0,
        resynced_ts_ms=T0_MS + (WARM_S + 10) * 1000,
    )
    events = _with(market(seconds=WARM_S + 60), WARM_S, _gap("trades", WARM_S))
    events = _with(events, WARM_S + 10, resynced)
    activity = [e.event for e in _run(FeaturesCore(), events) if isinstance(e.event, TradeActivity)]
    after = [a for a in activity if a.ts_ms > T0_MS + (WARM_S + 10) * 1000]
    assert after and not any(a.data_gap for a in after)
    assert after[-1].activity_index is not None


def test_a_book_gap_takes_every_wall_out_of_view() -> None:
    events = _with(market(seconds=40), 30, _gap("book", 30))
    emits = _run(FeaturesCore(), events)
    removed = [e.event for e in emits if isinstance(e.event, DensityRemoved)]
    assert [r.cause for r in removed][:1] == ["out_of_view"]
    assert removed[0].ts_ms == T0_MS + 30_000
    # The wall is still in the book after the gap: once it has stood `min_standing_s` (2 s)
    # again, it is detected again (no re-detection cooldown: nothing was seen to go).
    detected = [e.event for e in emits if isinstance(e.event, DensityDetected)]
    assert [d.ts_ms - T0_MS for d in detected] == [22_000, 32_000]


def test_a_gap_on_a_symbol_of_another_group_is_ignored() -> None:
    from breakout.features.config import FeaturesConfig

    core = FeaturesCore(FeaturesConfig(symbols=("ETHUSDT",)))
    assert core.handle(recorded(_gap("book", 1), 1)) == []
    assert "md.gap.*.ETHUSDT" in core.subjects
