"""The simulated market of one symbol: fair price, makers, takers, walls, tape and candles.

Pure and deterministic: everything random comes from one `random.Random` seeded by the
simulation seed and the symbol, and time only moves when the caller steps it. Each step:

1. the regime chain advances and moves the fair price (`price_process.py`), and the impact of
   recent aggressive flow on it fades;
2. makers re-quote around the fair price: liquidity on the wrong side is pulled, whatever still
   crosses (our orders, walls) is swept by aggressive flow, the touch is replenished and random
   levels are refreshed from a heavy-tailed size distribution;
3. walls appear at round prices, and are pulled or eaten;
4. takers arrive as a self-exciting (Hawkes) process, choose a side from the regime and the
   pressure of the fair price on the book, draw a heavy-tailed size and walk the book.

Sizes, rates and spreads come from `calibration.py` (measured on real Binance data).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import Counter
from dataclasses import dataclass

from breakout.exchange_sim import calibration as cal
from breakout.exchange_sim.book import OrderBook
from breakout.exchange_sim.history import backfill_bars
from breakout.exchange_sim.klines import KlineSeries
from breakout.exchange_sim.price_process import PriceProcess
from breakout.exchange_sim.regimes import REGIMES, Regime
from breakout.exchange_sim.specs import SymbolSpec
from breakout.exchange_sim.tape import Print, TradeTape
from breakout.exchange_sim.walls import WallBook


@dataclass(frozen=True, kw_only=True)
class MarketConfig:
    """Knobs of the market model shared by every symbol."""

    seed: int = 1
    trade_rate_multiplier: float = 1.0
    regime_time_scale: float = 1.0
    history_days: float = 3.0
    # Trades (and aggregate trades) kept per symbol for REST backfills by id or time: at most
    # this many, none older than `tape_minutes` of simulated time (an ingest outage or restart
    # is backfilled from them; a quiet symbol once kept 20,000 trades, a day of them).
    tape_capacity: int = 20_000
    tape_minutes: float = 10.0
    # Symbols whose last history minutes are a tight range (a scripted base), and how long.
    quiet_tail_symbols: frozenset[str] = frozenset()
    quiet_tail_minutes: int = 0


TAKER_STEP_MS = 100


def stable_seed(seed: int, symbol: str) -> int:
    """A per-symbol seed that does not depend on Python's hash randomisation."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{symbol}".encode()).digest()[:8], "big")


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth for small means, a rounded normal for large ones)."""
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def execute_on_book(
    book: OrderBook,
    tape: TradeTape,
    klines: KlineSeries,
    taker: tuple[bool, int, int | None],
    *,
    ts_ms: int,
    taker_owner: int = 0,
) -> list[Print]:
    """Walk `book` with an aggressive order (buys?, lots, limit) and print the fills."""
    taker_buys, lots, limit = taker
    fills = book.take(taker_buys, lots, limit)
    prints = tape.record(fills, taker_buys=taker_buys, ts_ms=ts_ms, taker_owner=taker_owner)
    for printed in prints:
        klines.add_trade(printed.ts_ms, printed.price, printed.lots, taker_buys)
    return prints


class SymbolMarket:
    """One symbol's simulated order book and trading, stepped in fixed increments."""

    def __init__(self, spec: SymbolSpec, config: MarketConfig, start_ms: int) -> None:
        self.spec = spec
        self.config = config
        self.rng = random.Random(stable_seed(config.seed, spec.symbol))
        self.now_ms = start_ms
        id_base = self.rng.randrange(10**6, 10**8)
        self.book = OrderBook(first_update_id=id_base * 10)
        self.tape = TradeTape(
            first_trade_id=id_base * 3,
            first_agg_id=id_base,
            capacity=config.tape_capacity,
            keep_ms=round(config.tape_minutes * 60_000),
        )
        self.klines = KlineSeries(
            backfill_bars(
                spec,
                self.rng,
                end_ms=start_ms,
                days=config.history_days,
                regime_time_scale=config.regime_time_scale,
                quiet_tail_minutes=(
                    config.quiet_tail_minutes if spec.symbol in config.quiet_tail_symbols else 0
                ),
            ),
            keep_minutes=max(1, math.ceil(config.history_days * 24 * 60)),
        )
        self.klines.extend_to(start_ms)
        self.process = PriceProcess.start(spec.start_price, self.rng, config.regime_time_scale)
        # Transient impact of aggressive flow on the fair price; it fades (see IMPACT_DECAY_S).
        self.impact_log = 0.0
        self.excitation_per_s = 0.0
        self.walls = WallBook(spec)
        self.ticks_per_unit = 10.0**spec.price_decimals
        self.spread_ticks = max(
            1, round(spec.start_price * self.ticks_per_unit * spec.spread_bps / 1e4)
        )
        self.grid_ticks = max(
            1, round(spec.start_price * self.ticks_per_unit * cal.LEVEL_GRID_BPS / 1e4)
        )
        self.level_median_notional = cal.level_median_notional(spec.trades_per_s)
        self.refreshes_per_side_per_s = cal.refreshes_per_side_per_s(spec.trades_per_s)
        self.step_stride = cal.step_stride(spec.trades_per_s * config.trade_rate_multiplier)
        self._seed_book()

    # ---- prices ---------------------------------------------------------------------------

    @property
    def fair_log(self) -> float:
        """Log of the fair price: the regime process plus the fading impact of recent flow."""
        return self.process.fair_log + self.impact_log

    @property
    def regime(self) -> Regime:
        """The current regime."""
        return self.process.regime

    @property
    def regimes_seen(self) -> Counter[Regime]:
        """How many times each regime has started."""
        return self.process.seen

    def fair_ticks(self) -> float:
        """The fair price in (fractional) ticks."""
        return math.exp(self.fair_log) * self.ticks_per_unit

    def touches(self) -> tuple[int, int]:
        """Where makers quote the best bid and ask around the fair price."""
        bid = math.floor(self.fair_ticks() - self.spread_ticks / 2)
        return max(1, bid), max(1, bid) + self.spread_ticks

    def mid_ticks(self) -> float:
        """Mid of the book (the fair price if a side is empty)."""
        bid, ask = self.book.best_bid(), self.book.best_ask()
        if bid is None or ask is None:
            return self.fair_ticks()
        return (bid + ask) / 2

    # ---- stepping -------------------------------------------------------------------------

    def step(self, dt_ms: int) -> list[Print]:
        """Advance the market by `dt_ms`; returns the public trades printed meanwhile."""
        start_ms = self.now_ms
        self.now_ms += dt_ms
        dt_s = dt_ms / 1000
        self.process.advance(dt_s, self.rng)
        self.impact_log *= math.exp(-dt_s / cal.IMPACT_DECAY_S)
        self.walls.step(self, start_ms + 1, dt_s)
        prints = self._requote(start_ms + 1, dt_s)
        # Takers arrive in slices of at most TAKER_STEP_MS whatever the step: the Hawkes
        # excitation is stepped explicitly, and longer slices would make it explode.
        for offset in range(0, dt_ms, TAKER_STEP_MS):
            prints += self._takers(start_ms + offset, min(TAKER_STEP_MS, dt_ms - offset))
        self.klines.extend_to(self.now_ms)
        return prints

    # ---- makers ---------------------------------------------------------------------------

    def _seed_book(self) -> None:
        """A full book at the start: the touch, then grid levels out to the depth window."""
        bid_touch, ask_touch = self.touches()
        window_ticks = self.fair_ticks() * cal.DEPTH_WINDOW_BPS / 1e4
        for is_bid, touch in ((True, bid_touch), (False, ask_touch)):
            self.book.add(is_bid, touch, round(self._level_lots(0.0) * cal.TOUCH_SIZE_MULT))
            offset = float(self.grid_ticks)
            seeded: set[int] = set()
            while offset <= window_ticks:
                price = self._grid_price(is_bid, touch, offset)
                distance_bps = offset / self.fair_ticks() * 1e4
                if price > 0 and price not in seeded and self.rng.random() < cal.LEVEL_OCCUPANCY:
                    self.book.add(is_bid, price, self._level_lots(distance_bps))
                seeded.add(price)
                offset += self._spacing_ticks(distance_bps)

    def _spacing_ticks(self, distance_bps: float) -> int:
        """Distance between two grid levels this far from the touch."""
        return max(1, round(self.fair_ticks() * cal.grid_spacing_bps(distance_bps) / 1e4))

    def _level_lots(self, distance_bps: float) -> int:
        notional = self.level_median_notional * math.exp(self.rng.gauss(0.0, cal.LEVEL_LOG_SIGMA))
        notional *= 1.0 + distance_bps / cal.LEVEL_GROWTH_BPS
        return self.spec.to_lots(notional / math.exp(self.fair_log))

    def _requote(self, ts_ms: int, dt_s: float) -> list[Print]:
        bid_touch, ask_touch = self.touches()
        self._pull_crossing(bid_touch, ask_touch)
        prints = self._sweep_crossing(bid_touch, ask_touch, ts_ms)
        self._replenish_touch(bid_touch, ask_touch)
        dt_refreshes = self.refreshes_per_side_per_s * dt_s
        for _ in range(poisson(self.rng, dt_refreshes)):
            self._refresh_level(True, bid_touch, ask_touch)
        for _ in range(poisson(self.rng, dt_refreshes)):
            self._refresh_level(False, bid_touch, ask_touch)
        self._trim_far(bid_touch, ask_touch)
        return prints

    def _pull_crossing(self, bid_touch: int, ask_touch: int) -> None:
        for price in self.book.bids.prices_better_than(bid_touch):
            self.book.cancel_sim(True, price, self.book.total(True, price))
        for price in self.book.asks.prices_better_than(ask_touch):
            self.book.cancel_sim(False, price, self.book.total(False, price))

    def _sweep_crossing(self, bid_touch: int, ask_touch: int, ts_ms: int) -> list[Print]:
        """Resting orders left beyond the makers' quotes get hit, as a real market would."""
        prints: list[Print] = []
        best_bid = self.book.best_bid()
        if best_bid is not None and best_bid >= ask_touch:
            lots = self.book.available(False, ask_touch)
            prints += self.execute_taker(False, lots, ask_touch, ts_ms)
        best_ask = self.book.best_ask()
        if best_ask is not None and best_ask <= bid_touch:
            lots = self.book.available(True, bid_touch)
            prints += self.execute_taker(True, lots, bid_touch, ts_ms)
        return prints

    def _replenish_touch(self, bid_touch: int, ask_touch: int) -> None:
        """A maker steps back in at the touch (not always at once: spreads widen after sweeps)."""
        for is_bid, touch in ((True, bid_touch), (False, ask_touch)):
            side = self.book.side(is_bid)
            best = side.best()
            if best is not None and not side.is_better(touch, best):
                continue
            opposite = self.book.side(not is_bid).best()
            crosses = opposite is not None and not side.is_better(opposite, touch)
            if not crosses and self.rng.random() < cal.TOUCH_REFILL_P:
                self.book.add(is_bid, touch, round(self._level_lots(0.0) * cal.TOUCH_SIZE_MULT))

    def _refresh_level(self, is_bid: bool, bid_touch: int, ask_touch: int) -> None:
        """Resample one level's resting size: makers add or withdraw toward a fresh draw.

        Levels sit on a grid of absolute prices (coarser further out), so a position is
        revisited however the touch moves and the book keeps LEVEL_OCCUPANCY of its positions
        filled; some refreshes also pick an existing level (odd ticks near the touch die out).
        """
        touch = bid_touch if is_bid else ask_touch
        roll = self.rng.random()
        if roll < cal.EXISTING_REFRESH_SHARE and len(self.book.side(is_bid)) > 0:
            side = self.book.side(is_bid)
            price = side.price_at(self.rng.randrange(len(side)))
        elif roll < cal.EXISTING_REFRESH_SHARE + cal.NEAR_TOUCH_SHARE:
            offset = self.rng.randrange(0, 2 * self.grid_ticks)
            price = touch - offset if is_bid else touch + offset
        else:
            # Most makers sit within a few bps; the rest spread out to the window's edge.
            window_ticks = self.fair_ticks() * cal.DEPTH_WINDOW_BPS / 1e4
            mean_bps = (
                cal.INNER_MEAN_BPS if self.rng.random() < cal.INNER_SHARE else cal.OUTER_MEAN_BPS
            )
            mean_ticks = self.fair_ticks() * mean_bps / 1e4
            far = max(1.0, min(window_ticks, self.rng.expovariate(1.0 / mean_ticks)))
            price = self._grid_price(is_bid, touch, far)
        if price <= 0:
            return
        distance_bps = abs(price - touch) / self.fair_ticks() * 1e4
        current = self.book.total(is_bid, price)
        target = self._level_lots(distance_bps) if self.rng.random() < cal.LEVEL_OCCUPANCY else 0
        if target > current:
            opposite = self.book.best_ask() if is_bid else self.book.best_bid()
            if opposite is None or (price < opposite if is_bid else price > opposite):
                self.book.add(is_bid, price, target - current)
        elif target < current:
            self.book.cancel_sim(is_bid, price, current - target)

    def _grid_price(self, is_bid: bool, touch: int, offset_ticks: float) -> int:
        """The grid price `offset_ticks` behind the touch (rounded away from it)."""
        spacing = self._spacing_ticks(offset_ticks / self.fair_ticks() * 1e4)
        if is_bid:
            return int((touch - offset_ticks) // spacing * spacing)
        return int(-((-(touch + offset_ticks)) // spacing) * spacing)

    def _trim_far(self, bid_touch: int, ask_touch: int) -> None:
        window = round(self.fair_ticks() * cal.DEPTH_WINDOW_BPS / 1e4 * 1.5)
        for is_bid, touch in ((True, bid_touch), (False, ask_touch)):
            side = self.book.side(is_bid)
            while len(side) > 0:
                worst = side.price_at(-1)
                if abs(worst - touch) <= window:
                    break
                if self.book.cancel_sim(is_bid, worst, side.totals[worst]) == 0:
                    break  # only our orders or a wall left there; they stay

    # ---- takers ---------------------------------------------------------------------------

    def taker_rate_per_s(self) -> float:
        """Current arrival rate of aggressive orders (baseline plus self-excitation)."""
        params = REGIMES[self.regime]
        baseline = (
            self.spec.trades_per_s
            * self.config.trade_rate_multiplier
            * params.activity
            * (1 - cal.HAWKES_BRANCHING)
            / cal.PRINTS_PER_TAKER
        )
        return baseline + self.excitation_per_s

    def _takers(self, start_ms: int, dt_ms: int) -> list[Print]:
        dt_s = dt_ms / 1000
        count = poisson(self.rng, self.taker_rate_per_s() * dt_s)
        decay = math.exp(-cal.HAWKES_DECAY_PER_S * dt_s)
        self.excitation_per_s = (
            self.excitation_per_s * decay + count * cal.HAWKES_BRANCHING * cal.HAWKES_DECAY_PER_S
        )
        offsets = sorted(self.rng.randrange(1, dt_ms + 1) for _ in range(count))
        for i in range(1, count):
            if self.rng.random() < cal.BURST_FOLLOW_P:
                follow_ms = self.rng.randrange(cal.BURST_FOLLOW_MAX_MS)
                offsets[i] = min(dt_ms, offsets[i - 1] + follow_ms)
        offsets.sort()
        prints: list[Print] = []
        for offset in offsets:
            prints += self._one_taker(start_ms + offset)
        return prints

    def _one_taker(self, ts_ms: int) -> list[Print]:
        params = REGIMES[self.regime]
        pressure = (self.fair_ticks() - self.mid_ticks()) / (
            2 * self.spread_ticks + self.grid_ticks
        )
        buy_p = 0.5 + (params.directional_share - 0.5) * self.process.direction
        buy_p += max(-0.25, min(0.25, pressure * 0.25))
        taker_buys = self.rng.random() < buy_p
        notional = cal.TRADE_MEDIAN_NOTIONAL_SCALE * self.spec.median_trade_notional
        notional *= math.exp(min(cal.TRADE_LOG_CAP, self.rng.gauss(0.0, cal.TRADE_LOG_SIGMA)))
        lots = self.spec.to_lots(notional / math.exp(self.fair_log))
        best = self.book.best_ask() if taker_buys else self.book.best_bid()
        if best is None:
            return []
        slip = max(1, round(best * cal.MAX_TAKER_SLIP_BPS / 1e4))
        limit = best + slip if taker_buys else best - slip
        before = self.mid_ticks()
        prints = self.execute_taker(taker_buys, lots, limit, ts_ms)
        after = self.mid_ticks()
        if after != before:  # permanent impact: the fair price follows part of the move
            self.impact_log += cal.IMPACT_SHARE * math.log(after / before)
            # Fast makers step back in within milliseconds, most of the time.
            self._replenish_touch(*self.touches())
        return prints

    def execute_taker(
        self, taker_buys: bool, lots: int, limit: int | None, ts_ms: int, taker_owner: int = 0
    ) -> list[Print]:
        """Walk the book with an aggressive order and print the fills on the tape."""
        taker = (taker_buys, lots, limit)
        prints = execute_on_book(
            self.book, self.tape, self.klines, taker, ts_ms=ts_ms, taker_owner=taker_owner
        )
        for printed in prints:
            if printed.maker_owner < 0:
                self.walls.on_fill(printed, ts_ms)
        return prints
