"""Signals figures: the cost of a scan and of one feature event through `SignalsCore.handle`.

300 symbols with a ticker, book metrics, activity and indicators each; a scan ranks them all
(the design's universe size). The per-event cost is of a book-metrics event (the most frequent
input) against the baseline of decoding the same event from JSON, which the runtime does anyway.
The density mix is the input of the 300-symbol load run before the density hysteresis: for
each symbol a minute of the walls the detector (hysteresis off) found on a simulated market's
20-level books, about 3 density events per symbol per second, with book metrics and activity
every 5 s; its figure is the events/s of `SignalsCore.handle`, and that cost over decoding.
`python -m bench.signals_bench` runs this alone (no database needed) and merges its figures
into bench/results.json.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime

import msgspec

from bench.density_churn import SYMBOLS as SIM_SYMBOLS
from bench.density_churn import recorded_stream
from breakout.common.events import (
    BookMetrics,
    DensityDetected,
    DensityEaten,
    DensityRemoved,
    Event,
    IndicatorsUpdated,
    RecordedEvent,
    Ticker24h,
    TradeActivity,
    WindowStats,
    decode_event,
    encode_event,
)
from breakout.common.events.md import BookSnapshot
from breakout.common.presets import load_preset
from breakout.features.book import TickSize
from breakout.features.config import DensityConfig
from breakout.features.density import DensityDetector
from breakout.signals.core import SignalsCore

T0_MS = 1_795_000_020_000
SYMBOLS = 300
BOOK_EVENTS = 20_000


def _symbol_events(symbol: str, rng: random.Random) -> list[Event]:
    price = rng.uniform(1, 1000)
    window = WindowStats(
        window_s=60,
        trades=300,
        tpm=rng.uniform(20, 200),
        tps=3.0,
        buy_qty=1.0,
        sell_qty=1.0,
        volume_delta=0.0,
        notional=1e5,
        buy_notional=5e4,
        sell_notional=5e4,
    )
    indicators = [
        IndicatorsUpdated(
            exchange="binance",
            symbol=symbol,
            timeframe=tf,
            open_ts_ms=T0_MS - 60_000,
            close_ts_ms=T0_MS - 1,
            close=price,
            volume=10.0,
            obv=0.0,
            reference_symbol="BTCUSDT",
            atr_pct=rng.uniform(0.002, 0.02),
            bb_width_percentile=rng.uniform(0, 60),
            volume_surge=rng.uniform(0.5, 3),
            corr_reference=rng.uniform(-0.5, 0.5),
        )
        for tf in ("5m", "15m", "1h")
    ]
    return [
        Ticker24h(
            exchange="binance",
            symbol=symbol,
            last=price,
            high=price,
            low=price,
            open=price,
            base_volume=1e6,
            quote_volume=rng.uniform(5e7, 2e9),
            change_pct=rng.uniform(-9, 9),
            exchange_ts_ms=T0_MS,
            received_ts_ms=T0_MS,
        ),
        _book(symbol, price, T0_MS, rng),
        TradeActivity(exchange="binance", symbol=symbol, ts_ms=T0_MS, windows=[window]),
        *indicators,
    ]


def _book(symbol: str, price: float, ts_ms: int, rng: random.Random) -> BookMetrics:
    depth = rng.uniform(5e4, 5e6)
    return BookMetrics(
        exchange="binance",
        symbol=symbol,
        ts_ms=ts_ms,
        sequence=ts_ms,
        best_bid=price * 0.9999,
        best_ask=price * 1.0001,
        mid=price,
        spread_bps=rng.uniform(0.5, 3),
        bid_usd_0_3pct=depth,
        ask_usd_0_3pct=depth,
        bid_usd_0_5pct=2 * depth,
        ask_usd_0_5pct=2 * depth,
        imbalance=rng.uniform(-1, 1),
        imbalance_band_pct=0.5,
        bands=[],
        bid_reach_pct=1.0,
        ask_reach_pct=1.0,
        tick_size=0.01,
    )


def _recorded(data: Event, position: int) -> RecordedEvent:
    at = datetime.fromtimestamp(T0_MS / 1000, UTC)
    return RecordedEvent(
        position=position,
        stream="bench",
        version=position,
        event_id=uuid.UUID(int=position),
        type=type(data).type_tag(),
        occurred_at=at,
        recorded_at=at,
        producer="bench",
        data=data,
    )


def _sim_walls(minutes: float) -> list[list[Event]]:
    """The density events of each simulated market (the detector without hysteresis)."""
    config = DensityConfig(
        min_standing_s=0, edge_margin_buckets=0, out_of_view_grace_s=0, redetect_cooldown_s=0
    )
    per_market: list[list[Event]] = []
    for symbol in SIM_SYMBOLS:
        detector, tick, found = DensityDetector(config, "binance", symbol), TickSize(), []
        for item in recorded_stream(symbol, minutes, depth=20):
            if isinstance(item, BookSnapshot):
                tick.observe(item.bids, item.asks)
                found += detector.on_book(item, tick)
            else:
                detector.on_trade(item)
        per_market.append(found)
    return per_market


def density_mix(minutes: float = 1.0) -> list[Event]:
    """A minute of a 300-symbol universe as signals read it before the density hysteresis."""
    rng = random.Random(20261122)
    events: list[tuple[int, int, Event]] = []
    walls = _sim_walls(minutes)
    start = min(e.ts_ms for found in walls for e in found if hasattr(e, "ts_ms"))
    for i in range(SYMBOLS):
        symbol = f"S{i:03d}USDT"
        for event in walls[i % len(walls)]:
            assert isinstance(event, DensityDetected | DensityEaten | DensityRemoved)
            ts = T0_MS + event.ts_ms - start
            moved = msgspec.structs.replace(event, symbol=symbol, ts_ms=ts)
            events.append((ts, len(events), moved))
        for second in range(0, int(minutes * 60), 5):
            ts = T0_MS + second * 1000 + i
            events.append((ts, len(events), _book(symbol, 100.0, ts, rng)))
            activity = TradeActivity(exchange="binance", symbol=symbol, ts_ms=ts, windows=[])
            events.append((ts, len(events), activity))
    return [event for _, _, event in sorted(events, key=lambda e: (e[0], e[1]))]


def run_density_mix(core: SignalsCore, position: int) -> dict[str, float]:
    """Events/s of `handle` over the density mix, and its cost over decoding the same events."""
    recorded = [_recorded(e, position + i) for i, e in enumerate(density_mix())]
    payloads = [(r.type, encode_event(r.data)) for r in recorded]
    started = time.perf_counter()
    for type_tag, payload in payloads:
        decode_event(type_tag, payload)
    decode_s = time.perf_counter() - started
    started = time.perf_counter()
    for event in recorded:
        core.handle(event)
    handle_s = time.perf_counter() - started
    return {
        "signals.density_mix_events_per_s": len(recorded) / handle_s,
        "signals.density_mix_handle_over_decode": handle_s / decode_s,
    }


def run() -> dict[str, object]:
    """Measure and return the `signals.*` figures."""
    rng = random.Random(20261121)
    core = SignalsCore(load_preset("breakout_v1"), "binance")
    position = 0
    for i in range(SYMBOLS):
        for data in _symbol_events(f"S{i:03d}USDT", rng):
            position += 1
            core.handle(_recorded(data, position))
    started = time.perf_counter()
    scans = 20
    for k in range(scans):
        outputs = core.scan(T0_MS + k, "on_demand")
    scan_ms = (time.perf_counter() - started) / scans * 1000
    encoded_size = len(encode_event(outputs[0].event))
    # Books within one scan interval (no scan inside the measurement).
    books = [
        _recorded(_book(f"S{i % SYMBOLS:03d}USDT", 100.0, T0_MS + 1 + i // 1000, rng), position + i)
        for i in range(BOOK_EVENTS)
    ]
    started = time.perf_counter()
    for event in books:
        core.handle(event)
    handle_us = (time.perf_counter() - started) / BOOK_EVENTS * 1e6
    payloads = [encode_event(event.data) for event in books]
    started = time.perf_counter()
    for payload in payloads:
        decode_event("feat.book_metrics.v1", payload)
    decode_us = (time.perf_counter() - started) / BOOK_EVENTS * 1e6
    return {
        "signals.scan_300_symbols_ms": scan_ms,
        "signals.scan_completed_kb_300_symbols": encoded_size / 1024,
        "signals.book_event_us": handle_us,
        "signals.book_event_decode_us": decode_us,
        **run_density_mix(core, position + BOOK_EVENTS),
    }


if __name__ == "__main__":
    import json
    import sys

    if sys.argv[1:] == ["--density-mix"]:  # print that figure only; results.json untouched
        mix_core = SignalsCore(load_preset("breakout_v1"), "binance")
        print(json.dumps(run_density_mix(mix_core, 0), indent=2))
        sys.exit(0)

    from bench.__main__ import write

    figures = run()
    write(figures)
    print(json.dumps(figures, indent=2))
