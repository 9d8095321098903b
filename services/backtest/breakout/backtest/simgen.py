"""The exchange_sim market generator as a backtest source: a seeded market, no server.

The same `SymbolMarket` that exchange_sim serves over the Binance protocol is stepped here in
process, and what ingest would record from it comes out as md.* events: every print as a
`MarketTrade` (the simulator's trade ids), the top of the book every `book_every_ms` as a
`BookSnapshot` (its update id), a 24 h `Ticker24h` every `ticker_every_ms`, the candles ingest
builds from the trades, and — as ingest backfills at start — the last `history_bars` klines of
each timeframe before the start. The same seed, start and script give the same events.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal

import msgspec

from breakout.backtest.feed import TIMEFRAMES, with_candles
from breakout.common.events import (
    BookSnapshot,
    Candle,
    Event,
    MarketRulesObserved,
    MarketTrade,
    Ticker24h,
)
from breakout.common.events.md import TIMEFRAME_MS, Timeframe
from breakout.exchange_sim.klines import Bar
from breakout.exchange_sim.market import MarketConfig, SymbolMarket
from breakout.exchange_sim.scenario import Phase, script_market
from breakout.exchange_sim.specs import SymbolSpec, make_spec
from breakout.exchange_sim.tape import Print
from breakout.exchange_sim.ticker import ticker_stats


class SimSession(msgspec.Struct, frozen=True, kw_only=True):
    """What to generate: symbols, seed, start, length, cadences, and optional scripts."""

    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")
    seed: int = 1
    start_ms: int = 1_767_225_600_000  # 2026-01-01T00:00:00Z
    duration_s: int = 3_600
    step_ms: int = 100
    book_every_ms: int = 1_000
    book_depth: int = 20
    ticker_every_ms: int = 60_000
    history_bars: int = 200
    trade_rate_multiplier: float = 1.0
    exchange: str = "binance"


def market_rules(session: SimSession) -> list[MarketRulesObserved]:
    """The simulated markets' precisions and minimums (what exchange_sim lists)."""
    return [spec_rules(make_spec(s), session.exchange, session.start_ms) for s in session.symbols]


def spec_rules(spec: SymbolSpec, exchange: str, ts_ms: int) -> MarketRulesObserved:
    """One simulated market's rules."""
    return MarketRulesObserved(
        exchange=exchange,
        symbol=spec.symbol,
        base=spec.base,
        quote=spec.quote,
        tick_size=spec.tick_size,
        step_size=spec.step_size,
        min_qty=spec.qty(spec.min_qty_lots),
        min_notional=spec.min_notional,
        taker_fee=Decimal("0.001"),
        maker_fee=Decimal("0.001"),
        ts_ms=ts_ms,
    )


def simulated_events(
    session: SimSession, scripts: Mapping[str, Sequence[Phase]] | None = None
) -> Iterator[Event]:
    """The session's md.* events in exchange-time order (see the module docstring)."""
    config = MarketConfig(seed=session.seed, trade_rate_multiplier=session.trade_rate_multiplier)
    markets = {s: SymbolMarket(make_spec(s), config, session.start_ms) for s in session.symbols}
    for symbol, phases in (scripts or {}).items():
        script_market(markets[symbol], phases)
    yield from _history(session, markets)
    yield from with_candles(_live(session, markets))


def _history(session: SimSession, markets: dict[str, SymbolMarket]) -> list[Candle]:
    candles: list[Candle] = []
    for market in markets.values():
        for tf in TIMEFRAMES:
            bars = market.klines.query(
                tf,
                start_ms=None,
                end_ms=session.start_ms - TIMEFRAME_MS[tf],
                limit=session.history_bars,
                now_ms=session.start_ms,
            )
            candles += [_candle(market.spec, session.exchange, tf, bar) for bar in bars]
    candles.sort(key=lambda c: (c.close_ts_ms, c.symbol, TIMEFRAME_MS[c.timeframe]))
    return candles


def sim_trade(exchange: str, symbol: str, spec: SymbolSpec, printed: Print) -> MarketTrade:
    """A simulator print as the trade ingest records (received the instant it printed)."""
    return MarketTrade(
        exchange=exchange,
        symbol=symbol,
        trade_id=printed.trade_id,
        price=spec.price_float(printed.price),
        qty=spec.qty_float(printed.lots),
        side="sell" if printed.buyer_maker else "buy",
        exchange_ts_ms=printed.ts_ms,
        received_ts_ms=printed.ts_ms,
    )


def _live(session: SimSession, markets: dict[str, SymbolMarket]) -> Iterator[Event]:
    end_ms = session.start_ms + session.duration_s * 1000
    now_ms = session.start_ms
    while now_ms < end_ms:
        now_ms += session.step_ms
        for symbol, market in markets.items():
            for p in market.step(session.step_ms):
                yield sim_trade(session.exchange, symbol, market.spec, p)
            if now_ms % session.book_every_ms == 0:
                yield _book(market, session, now_ms)
            if now_ms % session.ticker_every_ms == 0:
                yield _ticker(market, session.exchange, now_ms)


def _candle(spec: SymbolSpec, exchange: str, tf: Timeframe, bar: Bar) -> Candle:
    quote_scale = 10.0 ** -(spec.price_decimals + spec.qty_decimals)
    return Candle(
        exchange=exchange,
        symbol=spec.symbol,
        timeframe=tf,
        open_ts_ms=bar.open_ms,
        close_ts_ms=bar.open_ms + TIMEFRAME_MS[tf] - 1,
        open=spec.price_float(bar.open),
        high=spec.price_float(bar.high),
        low=spec.price_float(bar.low),
        close=spec.price_float(bar.close),
        volume=spec.qty_float(bar.volume_lots),
        quote_volume=bar.quote_units * quote_scale,
        trades=bar.trades,
        taker_buy_volume=spec.qty_float(bar.taker_buy_lots),
        source="exchange",
    )


def _book(market: SymbolMarket, session: SimSession, now_ms: int) -> BookSnapshot:
    spec, book = market.spec, market.book
    return BookSnapshot(
        exchange=session.exchange,
        symbol=spec.symbol,
        sequence=book.update_id,
        depth=session.book_depth,
        bids=[
            (spec.price_float(p), spec.qty_float(q))
            for p, q in book.levels(True, session.book_depth)
        ],
        asks=[
            (spec.price_float(p), spec.qty_float(q))
            for p, q in book.levels(False, session.book_depth)
        ],
        exchange_ts_ms=now_ms,
        received_ts_ms=now_ms,
    )


def _ticker(market: SymbolMarket, exchange: str, now_ms: int) -> Ticker24h:
    spec = market.spec
    stats = ticker_stats(market.klines, market.tape, market.book, now_ms)
    quote_scale = 10.0 ** -(spec.price_decimals + spec.qty_decimals)
    opened = spec.price_float(stats.open)
    last = spec.price_float(stats.last)
    return Ticker24h(
        exchange=exchange,
        symbol=spec.symbol,
        last=last,
        bid=spec.price_float(stats.bid) if stats.bid is not None else None,
        ask=spec.price_float(stats.ask) if stats.ask is not None else None,
        high=spec.price_float(stats.high),
        low=spec.price_float(stats.low),
        open=opened,
        base_volume=spec.qty_float(stats.volume_lots),
        quote_volume=stats.quote_units * quote_scale,
        change_pct=(last / opened - 1) * 100 if opened else 0.0,
        trades=stats.trades,
        exchange_ts_ms=now_ms,
        received_ts_ms=now_ms,
    )
