"""The market simulator: deterministic by seed, regimes, walls, an uncrossed book, candles."""

from __future__ import annotations

import itertools

from breakout.exchange_sim.exchange import SimExchange
from breakout.exchange_sim.klines import MINUTE_MS
from breakout.exchange_sim.market import MarketConfig, SymbolMarket
from breakout.exchange_sim.regimes import Regime
from breakout.exchange_sim.specs import default_symbols, make_spec

START_MS = 1_700_000_000_000


def run(
    symbol: str, config: MarketConfig, steps: int
) -> tuple[SymbolMarket, list[tuple[int, int, int, bool]]]:
    market = SymbolMarket(make_spec(symbol), config, START_MS)
    tape = []
    for _ in range(steps):
        tape += [(p.trade_id, p.price, p.lots, p.buyer_maker) for p in market.step(100)]
    return market, tape


def test_same_seed_same_market_other_seed_other_market() -> None:
    config = MarketConfig(seed=11, history_days=0.05)
    first, tape_a = run("BTCUSDT", config, 600)
    second, tape_b = run("BTCUSDT", config, 600)
    assert tape_a == tape_b and len(tape_a) > 100
    assert first.book.levels(True, 50) == second.book.levels(True, 50)
    assert [b.close for b in first.klines.bars] == [b.close for b in second.klines.bars]
    _, tape_c = run("BTCUSDT", MarketConfig(seed=12, history_days=0.05), 600)
    assert tape_c != tape_a


def test_every_regime_is_visited_and_walls_appear_get_eaten_and_pulled() -> None:
    market = SymbolMarket(
        make_spec("ETHUSDT"),
        MarketConfig(seed=1, regime_time_scale=0.05, history_days=0.01),
        START_MS,
    )
    for _ in range(12_000):
        market.step(100)
        assert not market.book.is_crossed()
    assert set(market.regimes_seen) == set(Regime)
    counts = market.walls.counts
    assert counts["appeared"] > 0 and counts["eaten"] > 0 and counts["pulled"] > 0
    assert counts["appeared"] >= counts["eaten"] + counts["pulled"]
    kinds = {e.kind for e in market.walls.log}
    assert kinds == {"appeared", "eaten", "pulled"}


def test_depth_diffs_are_continuous_across_steps() -> None:
    exchange = SimExchange.simulated(
        ["BTCUSDT", "SOLUSDT"], start_ms=START_MS, config=MarketConfig(history_days=0.01)
    )
    last: dict[str, int] = {s: f.book.drain_diff().last_id for s, f in exchange.feeds.items()}  # type: ignore[union-attr]
    for _ in range(300):
        for update in exchange.step():
            if update.diff is None:
                continue
            assert update.diff.first_id == last[update.symbol] + 1
            last[update.symbol] = update.diff.last_id
            assert update.diff.last_id == exchange.feeds[update.symbol].book.update_id


def test_trade_ids_are_contiguous_and_aggregates_group_one_takers_prints() -> None:
    market, tape = run("BTCUSDT", MarketConfig(seed=3, history_days=0.01), 300)
    ids = [t[0] for t in tape]
    assert ids == list(range(ids[0], ids[0] + len(ids)))
    aggs = market.tape.aggs.items()
    assert sum(a.last_trade_id - a.first_trade_id + 1 for a in aggs) == len(tape)
    for agg in aggs:
        prints = market.tape.trades.from_id(
            agg.first_trade_id, agg.last_trade_id - agg.first_trade_id + 1
        )
        assert {p.price for p in prints} == {agg.price}
        assert sum(p.lots for p in prints) == agg.lots


def test_minute_candles_sum_the_tape() -> None:
    market = SymbolMarket(make_spec("SOLUSDT"), MarketConfig(seed=5, history_days=0.01), START_MS)
    prints = []
    for _ in range(1_800):
        prints += market.step(100)
    by_minute: dict[int, list[int]] = {}
    for p in prints:
        by_minute.setdefault(p.ts_ms // MINUTE_MS * MINUTE_MS, []).append(p.lots)
    bars = {b.open_ms: b for b in market.klines.bars}
    for minute, lots in by_minute.items():
        assert bars[minute].volume_lots == sum(lots)
        assert bars[minute].trades == len(lots)
    closes = [b for b in market.klines.bars if b.open_ms >= START_MS // MINUTE_MS * MINUTE_MS]
    assert all(b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high for b in closes)


def test_history_is_backfilled_and_joins_the_live_price() -> None:
    market = SymbolMarket(make_spec("BTCUSDT"), MarketConfig(seed=2, history_days=2), START_MS)
    minutes = [b for b in market.klines.bars if b.open_ms < START_MS // MINUTE_MS * MINUTE_MS]
    assert len(minutes) == 2 * 1440
    assert all(b.volume_lots > 0 for b in minutes)
    assert minutes[-1].close == market.spec.to_ticks(market.spec.start_price)
    assert all(b.open == a.close for a, b in itertools.pairwise(minutes))


def test_trade_rate_multiplier_scales_the_tape() -> None:
    _, base = run("ETHUSDT", MarketConfig(seed=4, history_days=0.01), 600)
    _, busy = run("ETHUSDT", MarketConfig(seed=4, history_days=0.01, trade_rate_multiplier=10), 600)
    assert len(busy) > 5 * len(base)


def test_default_symbols_are_unique_and_listable() -> None:
    symbols = default_symbols(50)
    assert len(set(symbols)) == 50 and symbols[0] == "BTCUSDT" and symbols[-1] == "SIM040USDT"
    assert all(make_spec(s).quote == "USDT" for s in symbols)
