"""Density churn on the simulator's books: what the wall detector records, and why.

Steps a few `exchange_sim` markets (no server: the market model itself) for some simulated
minutes, snapshots each book's top `--depth` levels every second as ingest does, and runs the
features' `DensityDetector` over the snapshots and trades. Prints density events per symbol per
second by type and removal cause, lifetimes, strengths, how many walls sit at the snapshot's
deepest bucket or at the touch, how often a removed bucket is detected again within seconds,
how many pulled walls the price had moved through, how many detections sit on one of the
simulator's own walls (`walls.py`), and how many big levels are still there a second later.

`python -m bench.density_churn --minutes 10` (writes nothing; `--config '{"k_density": 7}'`
tries other `DensityConfig` values).
"""

from __future__ import annotations

import argparse
import statistics
from collections import Counter
from dataclasses import dataclass, field

import msgspec

from breakout.backtest.simgen import sim_trade
from breakout.common.events import BookSnapshot, Event, MarketTrade
from breakout.common.events.feat import DensityDetected, DensityEaten, DensityRemoved
from breakout.exchange_sim.market import MarketConfig, SymbolMarket
from breakout.exchange_sim.specs import make_spec
from breakout.features.book import TickSize
from breakout.features.config import DensityConfig
from breakout.features.density import DensityDetector

SYMBOLS = ("BTCUSDT", "ETHUSDT", "XRPUSDT", "LINKUSDT", "SIM005USDT", "SIM040USDT",
           "SIM120USDT", "SIM280USDT")  # fmt: skip
START_MS = 1_795_000_000_000
SNAPSHOT_MS = 1000
REDETECT_S = 10
# Snapshot time -> the simulator's live walls (side, price) then, of the last recorded stream.
SIM_WALLS: dict[int, set[tuple[str, float]]] = {}


@dataclass
class Tally:
    """What one run recorded."""

    seconds: float = 0.0
    symbols: int = 0
    events: list[Event] = field(default_factory=list)
    edge_detected: int = 0
    redetected: int = 0
    detected_on_sim_wall: int = 0
    touch_detected: int = 0
    big_levels: int = 0
    big_levels_kept: int = 0
    pulled_crossed: int = 0


def recorded_stream(
    symbol: str, minutes: float, depth: int, seed: int = 1
) -> list[BookSnapshot | MarketTrade]:
    """Trades and `depth`-level snapshots (one a second) of a simulated market, in time order."""
    spec = make_spec(symbol)
    market = SymbolMarket(spec, MarketConfig(seed=seed, history_days=0.01), START_MS)
    step_ms = 100 * market.step_stride
    out: list[BookSnapshot | MarketTrade] = []
    SIM_WALLS.clear()
    next_snapshot = START_MS + SNAPSHOT_MS
    while market.now_ms < START_MS + minutes * 60_000:
        for printed in market.step(step_ms):
            out.append(sim_trade("binance", spec.symbol, market.spec, printed))
        if market.now_ms >= next_snapshot:
            out.append(_snapshot(spec.symbol, market, depth))
            SIM_WALLS[market.now_ms] = {
                ("bid" if w.is_bid else "ask", spec.price_float(w.price))
                for w in market.walls.live.values()
            }
            next_snapshot += SNAPSHOT_MS
    return out


def _snapshot(symbol: str, market: SymbolMarket, depth: int) -> BookSnapshot:
    spec = market.spec
    bids = [(spec.price_float(p), spec.qty_float(q)) for p, q in market.book.levels(True, depth)]
    asks = [(spec.price_float(p), spec.qty_float(q)) for p, q in market.book.levels(False, depth)]
    return BookSnapshot(
        exchange="binance",
        symbol=symbol,
        sequence=market.book.update_id,
        depth=depth,
        bids=bids,
        asks=asks,
        exchange_ts_ms=market.now_ms,
        received_ts_ms=market.now_ms,
    )


def run_detector(
    config: DensityConfig, stream: list[BookSnapshot | MarketTrade], tally: Tally
) -> None:
    """Feed one symbol's stream through a detector, adding what it recorded to `tally`."""
    detector = DensityDetector(config, "binance", "X")
    tick = TickSize()
    removed_at: dict[tuple[str, float], int] = {}
    previous: BookSnapshot | None = None
    for item in stream:
        if isinstance(item, MarketTrade):
            detector.on_trade(item)
            continue
        tick.observe(item.bids, item.asks)
        if previous is not None:
            _persistence(previous, item, tally)
        previous = item
        events = detector.on_book(item, tick)
        tally.events += events
        for event in events:
            if isinstance(event, DensityRemoved):
                removed_at[(event.side, event.price_low)] = event.ts_ms
                # Pulled as the price moved through it: the best level is now past the wall.
                crossed = (
                    event.price_low > item.bids[0][0]
                    if event.side == "bid"
                    else event.price_high < item.asks[0][0]
                )
                tally.pulled_crossed += event.cause == "pulled" and crossed
            elif isinstance(event, DensityDetected):
                levels = item.bids if event.side == "bid" else item.asks
                deepest = levels[-1][0]
                if event.price_low <= levels[0][0] <= event.price_high:
                    tally.touch_detected += 1
                if event.price_low <= deepest <= event.price_high:
                    tally.edge_detected += 1
                walls = SIM_WALLS.get(event.ts_ms, set())
                if any(
                    s == event.side and event.price_low <= p <= event.price_high for s, p in walls
                ):
                    tally.detected_on_sim_wall += 1
                gone = removed_at.get((event.side, event.price_low))
                if gone is not None and event.ts_ms - gone <= REDETECT_S * 1000:
                    tally.redetected += 1


def _persistence(before: BookSnapshot, after: BookSnapshot, tally: Tally) -> None:
    """Count big levels (7x the snapshot's median level) still half there a snapshot later."""
    levels = before.bids + before.asks
    median = statistics.median(q for _, q in levels)
    later = dict(after.bids + after.asks)
    for price, qty in levels:
        if qty >= 7 * median and price in later:
            tally.big_levels += 1
            tally.big_levels_kept += later[price] >= qty / 2


def measure(config: DensityConfig, minutes: float, depth: int) -> Tally:
    """Run every symbol of SYMBOLS, printing each one's density events per second."""
    tally = Tally(seconds=minutes * 60, symbols=len(SYMBOLS))
    for symbol in SYMBOLS:
        before = len(tally.events)
        run_detector(config, recorded_stream(symbol, minutes, depth), tally)
        rate = (len(tally.events) - before) / tally.seconds
        print(f"  {symbol:12s} {rate:6.2f} density events/s")
    return tally


def report(tally: Tally) -> dict[str, float]:
    """Per symbol per second figures, and the shape of the walls."""
    per = tally.seconds * tally.symbols
    kinds = Counter(type(e).__name__ for e in tally.events)
    removed = [e for e in tally.events if isinstance(e, DensityRemoved)]
    detected = [e for e in tally.events if isinstance(e, DensityDetected)]
    causes = Counter(e.cause for e in removed)
    lifetimes = sorted(e.lifetime_ms / 1000 for e in removed)
    strengths = sorted(e.strength for e in detected)
    distances = sorted(e.distance_bps for e in detected)

    def pct(values: list[float], q: float) -> float:
        return values[min(len(values) - 1, int(q * len(values)))] if values else 0.0

    figures: dict[str, float] = {
        "events_per_symbol_s": len(tally.events) / per,
        "detected_per_symbol_s": kinds["DensityDetected"] / per,
        "eaten_per_symbol_s": kinds["DensityEaten"] / per,
        "removed_per_symbol_s": kinds["DensityRemoved"] / per,
        "detected_at_window_edge_share": tally.edge_detected / max(1, len(detected)),
        "detected_at_touch_share": tally.touch_detected / max(1, len(detected)),
        "detected_on_sim_wall_share": tally.detected_on_sim_wall / max(1, len(detected)),
        "big_level_kept_1s_share": tally.big_levels_kept / max(1, tally.big_levels),
        "redetected_within_10s_share": tally.redetected / max(1, len(detected)),
        "lifetime_s_p10": pct(lifetimes, 0.1),
        "lifetime_s_p50": pct(lifetimes, 0.5),
        "lifetime_s_p90": pct(lifetimes, 0.9),
        "lifetime_le_1s_share": sum(v <= 1 for v in lifetimes) / max(1, len(lifetimes)),
        "strength_p50": pct(strengths, 0.5),
        "strength_p90": pct(strengths, 0.9),
        "distance_bps_p50": pct(distances, 0.5),
        "distance_bps_p90": pct(distances, 0.9),
    }
    for cause in ("out_of_view", "pulled", "eaten"):
        figures[f"removed_{cause}_share"] = causes[cause] / max(1, len(removed))
    figures["pulled_price_moved_through_share"] = tally.pulled_crossed / max(1, causes["pulled"])
    if detected:
        figures["eaten_events_per_wall"] = kinds["DensityEaten"] / len(detected)
        figures["eaten_events_mean"] = (
            statistics.fmean(e.eaten_ratio for e in tally.events if isinstance(e, DensityEaten))
            if kinds["DensityEaten"]
            else 0.0
        )
    return figures


def main() -> None:
    """Print the churn figures for a config."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--depth", type=int, default=20)
    parser.add_argument("--config", default="{}", help="DensityConfig fields as JSON")
    args = parser.parse_args()
    config = msgspec.json.decode(args.config, type=DensityConfig)
    for name, value in report(measure(config, args.minutes, args.depth)).items():
        print(f"{name:36s} {value:10.3f}")


if __name__ == "__main__":
    main()
