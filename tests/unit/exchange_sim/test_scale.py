"""The simulator at hundreds of symbols: a long tail of rates, a cheap listing, a yielding clock."""

from __future__ import annotations

import asyncio
import hashlib
import statistics

import msgspec

from breakout.exchange_sim import calibration as cal
from breakout.exchange_sim.exchange import SimExchange
from breakout.exchange_sim.market import MarketConfig, SymbolMarket
from breakout.exchange_sim.protocol import ExchangeInfoCache, exchange_info
from breakout.exchange_sim.server import MAX_CATCH_UP_STEPS, _advance, build_app
from breakout.exchange_sim.specs import default_symbols, make_spec, tail_rank
from breakout.exchange_sim.state import STATE

START_MS = 1_700_000_000_000
# BTCUSDT's first 30 simulated seconds (seed 11) before the long tail and the activity-scaled
# book refreshes came in: those changes leave the busiest market exactly as it was.
BTCUSDT_SEED_11_DIGEST = "4299fcd5aafb95a8fb045dc01403353564cb5cfc09e163e13b18571f9e9c5ca6"


def market_digest(symbol: str, seed: int, steps: int) -> str:
    exchange = SimExchange.simulated(
        [symbol], start_ms=START_MS, config=MarketConfig(seed=seed, history_days=0.05)
    )
    digest = hashlib.sha256()
    for _ in range(steps):
        for update in exchange.step():
            for p in update.prints:
                digest.update(f"{p.trade_id},{p.price},{p.lots},{p.buyer_maker};".encode())
            digest.update(repr(update.diff).encode())
    return digest.hexdigest()


def test_btcusdt_is_the_same_market_for_the_same_seed_as_before() -> None:
    assert market_digest("BTCUSDT", 11, 300) == BTCUSDT_SEED_11_DIGEST
    assert market_digest("BTCUSDT", 12, 300) != BTCUSDT_SEED_11_DIGEST


def test_a_300_symbol_universe_has_a_long_tail_of_trade_rates() -> None:
    rates = [make_spec(s).trades_per_s for s in default_symbols(300)]
    assert rates[0] == 55.0  # BTCUSDT, the busiest, as listed
    head, tail = rates[10:60], rates[250:]
    assert statistics.mean(head) > 2.5 * statistics.mean(tail)
    assert all(0.1 < rate < 4.0 for rate in rates[10:])  # none busier than the known ten's tail
    assert 250 < sum(rates) < 320  # trades/s offered before the regimes scale them
    assert statistics.median(rates) < 0.6


def test_tail_ranks_come_from_sim_numbers_or_are_drawn_from_the_name() -> None:
    assert tail_rank("SIM001USDT") == 11 and tail_rank("SIM290USDT") == 300
    ranks = [tail_rank(f"{name}USDT") for name in ("FOO", "BAR", "PEPE", "WIF", "QQQ")]
    assert all(11 <= rank <= 300 for rank in ranks) and len(set(ranks)) > 1
    assert make_spec("PEPEUSDT") == make_spec("pepeusdt")  # stable by name


def test_quiet_markets_requote_less_often_and_btc_as_calibrated() -> None:
    assert cal.refreshes_per_side_per_s(55.0) == cal.REFRESHES_PER_SIDE_PER_S
    assert cal.refreshes_per_side_per_s(0.43) < cal.REFRESHES_PER_SIDE_PER_S / 9

    def book_changes(symbol: str) -> int:
        market = SymbolMarket(make_spec(symbol), MarketConfig(seed=3, history_days=0.01), START_MS)
        market.book.drain_diff()
        changes = 0
        for _ in range(300):
            market.step(100)
            diff = market.book.drain_diff()
            changes += 0 if diff is None else len(diff.bids) + len(diff.asks)
        return changes

    assert book_changes("SIM250USDT") < book_changes("BTCUSDT") / 4


def test_the_cached_exchange_info_is_the_answer_built_per_request() -> None:
    specs = [make_spec(s) for s in default_symbols(25)]
    cache = ExchangeInfoCache(specs)
    decoded = msgspec.json.decode(cache.encode(None, START_MS))
    assert decoded == exchange_info(specs, START_MS)
    some = msgspec.json.decode(cache.encode(["SOLUSDT", "SIM003USDT"], START_MS + 5))
    assert some == exchange_info([make_spec("SOLUSDT"), make_spec("SIM003USDT")], START_MS + 5)


async def test_a_catch_up_gives_the_loop_back_between_steps() -> None:
    exchange = SimExchange.simulated(
        default_symbols(3), start_ms=START_MS, config=MarketConfig(seed=1, history_days=0.01)
    )
    wall = [0]
    app = build_app(exchange, wall_ms=lambda: wall[0], run_clock=False)
    state = app[STATE]
    wall[0] = 20 * exchange.step_ms  # twenty steps behind
    seen: list[int] = []

    async def other_request() -> None:
        while len(seen) < 3:
            seen.append(state.steps_run)
            await asyncio.sleep(0)

    await asyncio.gather(_advance(state), other_request())
    assert state.steps_run == 20 <= MAX_CATCH_UP_STEPS
    assert seen[:3] == [1, 2, 3]  # served between the steps, not after all twenty


def test_quiet_markets_move_every_few_steps_and_busy_ones_every_step() -> None:
    config = MarketConfig(seed=2, history_days=0.01)
    exchange = SimExchange.simulated(["BTCUSDT", "SIM050USDT"], start_ms=START_MS, config=config)
    busy, quiet = exchange.feeds["BTCUSDT"], exchange.feeds["SIM050USDT"]
    assert (busy.step_stride, quiet.step_stride) == (1, cal.QUIET_STEP_STRIDE)
    window_ms = cal.QUIET_STEP_STRIDE * exchange.step_ms
    quiet_prints = 0
    for n in range(1, 601):
        updates = {u.symbol: u for u in exchange.step()}
        assert busy.now_ms == exchange.now_ms
        assert quiet.now_ms == exchange.now_ms - n % cal.QUIET_STEP_STRIDE * exchange.step_ms
        for printed in updates["SIM050USDT"].prints:
            assert exchange.now_ms - window_ms < printed.ts_ms <= exchange.now_ms
            quiet_prints += 1
    assert quiet_prints > 5
    driven = MarketConfig(seed=2, history_days=0.01, trade_rate_multiplier=30)
    assert SymbolMarket(make_spec("SIM250USDT"), driven, START_MS).step_stride == 1
