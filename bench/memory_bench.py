"""Memory plateau of the cores driven offline: what they hold at twice the run length over once.

The market simulator (`SimExchange`, five symbols from the busiest to the quietest of the
300-symbol universe) runs for `2 x RUN_MIN` simulated minutes, and the features core is fed
what it prints (its trades, a 20-level book snapshot a second per symbol, the 1 m and 5 m
candles of its klines). `tracemalloc` measures what each side allocated and still holds, split
by source file (`exchange_sim/` or `features/`), at `RUN_MIN` and at `2 x RUN_MIN`: past the
longest window (the tape's 10 minutes and an eighth, the features' 300 s) a bounded core holds
as much at the end as at the middle, so the ratio is ~1 (target <= 1.05); a structure that grows
with time shows as the ratio above it.

    uv run python -m bench.memory_bench      # prints the figures; no database needed

Figures (`make bench` merges them into bench/results.json): `memory.*`.
"""

from __future__ import annotations

import json
import tracemalloc
import uuid
from datetime import UTC, datetime

from breakout.common.events import BookSnapshot, Candle, Event, MarketTrade, RecordedEvent
from breakout.exchange_sim.exchange import SimExchange
from breakout.exchange_sim.klines import Bar
from breakout.exchange_sim.market import MarketConfig
from breakout.exchange_sim.specs import SymbolSpec
from breakout.exchange_sim.tape import Print
from breakout.features.core import FeaturesCore

SYMBOLS = ["BTCUSDT", "SOLUSDT", "SIM050USDT", "SIM150USDT", "SIM290USDT"]
RUN_MIN = 15
START_MS = 1_795_000_000_000
BOOK_DEPTH = 20
_AT = datetime(2026, 11, 22, tzinfo=UTC)


def _trade(spec: SymbolSpec, p: Print) -> MarketTrade:
    return MarketTrade(
        exchange="binance",
        symbol=spec.symbol,
        trade_id=p.agg_id,
        price=spec.price_float(p.price),
        qty=spec.qty_float(p.lots),
        side="sell" if p.buyer_maker else "buy",
        exchange_ts_ms=p.ts_ms,
        received_ts_ms=p.ts_ms + 20,
    )


def _candle(spec: SymbolSpec, timeframe: str, bar: Bar, span_ms: int) -> Candle:
    return Candle(
        exchange="binance",
        symbol=spec.symbol,
        timeframe=timeframe,  # type: ignore[arg-type]
        open_ts_ms=bar.open_ms,
        close_ts_ms=bar.open_ms + span_ms - 1,
        open=spec.price_float(bar.open),
        high=spec.price_float(bar.high),
        low=spec.price_float(bar.low),
        close=spec.price_float(bar.close),
        volume=spec.qty_float(bar.volume_lots),
        quote_volume=0.0,
        trades=bar.trades,
        taker_buy_volume=spec.qty_float(bar.taker_buy_lots),
    )


def _levels(spec: SymbolSpec, levels: list[tuple[int, int]]) -> list[tuple[float, float]]:
    return [(spec.price_float(ticks), spec.qty_float(lots)) for ticks, lots in levels]


class Feeder:
    """Turns one simulated second of the exchange into the features core's input events."""

    def __init__(self, exchange: SimExchange, core: FeaturesCore) -> None:
        self.exchange = exchange
        self.core = core
        self.position = 0

    def handle(self, event: Event) -> None:
        """Record-wrap and hand one event to the core."""
        self.position += 1
        self.core.handle(
            RecordedEvent(
                position=self.position,
                stream="md.bench",
                version=self.position,
                event_id=uuid.UUID(int=self.position),
                type=type(event).type_tag(),
                occurred_at=_AT,
                recorded_at=_AT,
                producer="bench",
                data=event,
            )
        )

    def second(self) -> None:
        """Ten 100 ms steps: their trades, then a book snapshot and closed candles per symbol."""
        for _ in range(10):
            for update in self.exchange.step():
                spec = self.exchange.feeds[update.symbol].spec
                for p in update.prints:
                    self.handle(_trade(spec, p))
        now_ms = self.exchange.now_ms
        for feed in self.exchange.feeds.values():
            spec = feed.spec
            bids, asks = (
                _levels(spec, feed.book.levels(True, BOOK_DEPTH)),
                _levels(spec, feed.book.levels(False, BOOK_DEPTH)),
            )
            if bids and asks:
                self.handle(
                    BookSnapshot(
                        exchange="binance", symbol=spec.symbol, sequence=feed.book.update_id,
                        depth=BOOK_DEPTH, bids=bids, asks=asks, exchange_ts_ms=now_ms,
                        received_ts_ms=now_ms + 20,
                    )
                )  # fmt: skip
            if now_ms % 60_000 == 0:  # a minute closed: its 1 m candle, and 5 m every fifth
                feed.klines.extend_to(now_ms - 1)  # a silent minute is a flat bar
                for timeframe, span_ms in (("1m", 60_000), ("5m", 300_000)):
                    if now_ms % span_ms == 0:
                        [bar] = feed.klines.query(
                            timeframe, start_ms=now_ms - span_ms, end_ms=now_ms - 1, limit=1,
                            now_ms=now_ms,
                        )  # fmt: skip
                        self.handle(_candle(spec, timeframe, bar, span_ms))


def _held_mb(snapshot: tracemalloc.Snapshot, part: str) -> float:
    kept = snapshot.filter_traces([tracemalloc.Filter(True, f"*/breakout/{part}/*")])
    return sum(stat.size for stat in kept.statistics("filename")) / 2**20


def run(run_min: int = RUN_MIN) -> dict[str, object]:
    """Drive both cores for twice `run_min` simulated minutes; return the `memory.*` figures."""
    config = MarketConfig(seed=11, history_days=0.1)
    exchange = SimExchange.simulated(SYMBOLS, start_ms=START_MS, config=config)
    feeder = Feeder(exchange, FeaturesCore())
    tracemalloc.start()
    held: list[dict[str, float]] = []
    try:
        for _ in range(2):
            for _ in range(run_min * 60):
                feeder.second()
            snapshot = tracemalloc.take_snapshot()
            held.append({part: _held_mb(snapshot, part) for part in ("exchange_sim", "features")})
    finally:
        tracemalloc.stop()
    out: dict[str, object] = {"memory.run_simulated_min": run_min, "memory.symbols": len(SYMBOLS)}
    for part in ("exchange_sim", "features"):
        out[f"memory.{part}_mb_at_1x"] = round(held[0][part], 2)
        out[f"memory.{part}_mb_at_2x"] = round(held[1][part], 2)
        out[f"memory.{part}_ratio_2x_1x"] = round(held[1][part] / held[0][part], 3)
    return out


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
