"""Measure a tape and a book the same way for real samples and for the simulator.

    python -m breakout.exchange_sim.measure ../shared/data     # real vs simulated BTCUSDT

The figures in docs/exchange_sim.md come from this module; a test keeps the simulator within
bands around the real figures.
"""

from __future__ import annotations

import itertools
import math
import statistics
import sys
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import polars as pl

from breakout.exchange_sim.market import MarketConfig, SymbolMarket
from breakout.exchange_sim.specs import make_spec


@dataclass(frozen=True)
class TapeStats:
    """Trade-flow figures of a tape."""

    trades_per_s: float
    interarrival_cv: float
    fano_1s: float
    same_ms_share: float
    median_notional: float
    log_notional_sd: float
    buy_share: float


@dataclass(frozen=True)
class BookStats:
    """Top-of-book and depth figures."""

    spread_ticks_median: float
    spread_bps_p90: float
    touch_notional_median: float
    levels_within_5bps: float
    level_notional_median: float


def tape_stats(ts_ms: list[int], notional: list[float], taker_buys: list[bool]) -> TapeStats:
    """Rates, clustering, sizes and side mix of a tape (timestamps in ascending order)."""
    span_s = max((ts_ms[-1] - ts_ms[0]) / 1000, 1e-9)
    gaps = [b - a for a, b in itertools.pairwise(ts_ms)]
    counts = Counter(t // 1000 for t in ts_ms)
    per_second = [counts.get(s, 0) for s in range(ts_ms[0] // 1000, ts_ms[-1] // 1000 + 1)]
    # Burstiness within a minute (the real sample is 46 s long): Fano factor per 60 s window.
    windows = [per_second[i : i + 60] for i in range(0, len(per_second), 60)]
    fanos = [
        statistics.pvariance(w) / statistics.fmean(w) for w in windows if len(w) > 10 and any(w)
    ]
    logs = [math.log(n) for n in notional if n > 0]
    return TapeStats(
        trades_per_s=len(ts_ms) / span_s,
        interarrival_cv=statistics.pstdev(gaps) / statistics.fmean(gaps),
        fano_1s=statistics.fmean(fanos),
        same_ms_share=sum(1 for g in gaps if g == 0) / len(gaps),
        median_notional=statistics.median(notional),
        log_notional_sd=statistics.pstdev(logs),
        buy_share=sum(taker_buys) / len(taker_buys),
    )


def book_stats(
    spreads_ticks: list[float],
    spreads_bps: list[float],
    touch_notional: list[float],
    levels_5bps: list[int],
    level_notional: list[float],
) -> BookStats:
    """Medians and the 90th percentile spread of book samples."""
    return BookStats(
        spread_ticks_median=statistics.median(spreads_ticks),
        spread_bps_p90=statistics.quantiles(spreads_bps, n=10)[-1],
        touch_notional_median=statistics.median(touch_notional),
        levels_within_5bps=statistics.median(levels_5bps),
        level_notional_median=statistics.median(level_notional),
    )


def real_btcusdt(data: Path) -> tuple[TapeStats, BookStats]:
    """Figures of the recorded BTCUSDT samples."""
    trades = pl.read_parquet(data / "btcusdt-trades.parquet").sort("timestamp")
    ts = trades["timestamp"].cast(pl.Int64).to_list()
    notional = (trades["price"] * trades["quantity"]).to_list()
    buys = [str(m) != "True" for m in trades["buyer_maker"].to_list()]
    quotes = pl.read_parquet(data / "btcusdt-quotes.parquet")
    bid, ask = quotes["bid"].to_list(), quotes["ask"].to_list()
    mids = [(b + a) / 2 for b, a in zip(bid, ask, strict=True)]
    snap = pl.read_csv(data / "btcusdt-depth-snap.csv").filter(pl.col("side") == "b")
    best = snap["price"].max()
    assert isinstance(best, float)
    within = snap.filter((best - pl.col("price")) / best * 1e4 <= 5)
    book = book_stats(
        spreads_ticks=[round((a - b) / 0.01) for b, a in zip(bid, ask, strict=True)],
        spreads_bps=[(a - b) / m * 1e4 for b, a, m in zip(bid, ask, mids, strict=True)],
        touch_notional=[q * p for q, p in zip(quotes["bid_size"].to_list(), bid, strict=True)],
        levels_5bps=[within.height],
        level_notional=(snap["price"] * snap["qty"]).to_list(),
    )
    return tape_stats(ts, notional, buys), book


def simulated(symbol: str, seed: int, seconds: int) -> tuple[TapeStats, BookStats]:
    """Figures of the simulator after `seconds` of simulated trading."""
    spec = make_spec(symbol)
    market = SymbolMarket(spec, MarketConfig(seed=seed, history_days=0.01), 1_700_000_000_000)
    ts: list[int] = []
    notional: list[float] = []
    buys: list[bool] = []
    spreads_t: list[float] = []
    spreads_b: list[float] = []
    touch: list[float] = []
    levels: list[int] = []
    sizes: list[float] = []
    for step in range(seconds * 10):
        for p in market.step(100):
            ts.append(p.ts_ms)
            notional.append(spec.price_float(p.price) * spec.qty_float(p.lots))
            buys.append(not p.buyer_maker)
        bid, ask = market.book.best_bid(), market.book.best_ask()
        if bid is None or ask is None:
            continue
        spreads_t.append(ask - bid)
        spreads_b.append((ask - bid) / ((ask + bid) / 2) * 1e4)
        touch.append(spec.price_float(bid) * spec.qty_float(market.book.total(True, bid)))
        if step % 10 == 0:
            bids = market.book.levels(True, 1000)
            levels.append(sum(1 for p, _ in bids if (bid - p) / bid * 1e4 <= 5))
            sizes += [spec.price_float(p) * spec.qty_float(q) for p, q in bids[:100]]
    return tape_stats(ts, notional, buys), book_stats(spreads_t, spreads_b, touch, levels, sizes)


def main() -> None:
    """Print real vs simulated figures for BTCUSDT."""
    data = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
    real_tape, real_book = real_btcusdt(data)
    sim_tape, sim_book = simulated("BTCUSDT", seed=1, seconds=1800)
    for name, real, sim in (("tape", real_tape, sim_tape), ("book", real_book, sim_book)):
        for key, value in asdict(real).items():
            print(f"{name:5} {key:24} real {value:12.4f}   sim {asdict(sim)[key]:12.4f}")


if __name__ == "__main__":
    main()
