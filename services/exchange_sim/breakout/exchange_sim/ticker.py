"""Rolling 24-hour statistics of a symbol, from its 1-minute bars and its tape."""

from __future__ import annotations

from dataclasses import dataclass

from breakout.exchange_sim.book import OrderBook
from breakout.exchange_sim.klines import DAY_MS, KlineSeries
from breakout.exchange_sim.tape import TradeTape


@dataclass(frozen=True, slots=True)
class TickerStats:
    """What `/api/v3/ticker/24hr` reports, in integer units."""

    open_ms: int
    close_ms: int
    open: int
    high: int
    low: int
    last: int
    last_lots: int
    prev_close: int
    volume_lots: int
    quote_units: int
    trades: int
    first_trade_id: int
    last_trade_id: int
    bid: int | None
    bid_lots: int
    ask: int | None
    ask_lots: int


def ticker_stats(klines: KlineSeries, tape: TradeTape, book: OrderBook, now_ms: int) -> TickerStats:
    """Statistics over the 24 hours ending at `now_ms`."""
    start_ms = now_ms - DAY_MS
    bars = klines.minutes(start_ms, now_ms) or klines.bars[-1:]
    first = bars[0]
    high, low = first.high, first.low
    volume = quote = trades = 0
    for bar in bars:
        high = max(high, bar.high)
        low = min(low, bar.low)
        volume += bar.volume_lots
        quote += bar.quote_units
        trades += bar.trades
    last_print = tape.last_print
    last = bars[-1].close
    last_trade_id = tape.next_trade_id - 1
    bid, ask = book.best_bid(), book.best_ask()
    return TickerStats(
        open_ms=start_ms,
        close_ms=now_ms,
        open=first.open,
        high=high,
        low=low,
        last=last,
        last_lots=last_print.lots if last_print else 0,
        prev_close=first.open,
        volume_lots=volume,
        quote_units=quote,
        trades=trades,
        first_trade_id=max(0, last_trade_id - trades + 1),
        last_trade_id=last_trade_id,
        bid=bid,
        bid_lots=book.total(True, bid) if bid is not None else 0,
        ask=ask,
        ask_lots=book.total(False, ask) if ask is not None else 0,
    )
