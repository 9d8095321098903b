"""The candle fill model: prints and a modelled book along each bar, for candle-only data.

The execution service fills paper orders against books and watches stops on prints; candles
have neither. So each bar of the finest timeframe is walked as four prints — open, then the
extreme nearer the open's side of the bar (low first for a bar that closed up, high first for
one that closed down: the usual OHLC path assumption), the other extreme, the close — each with
a modelled book around it:

    bid/ask = price x (1 -/+ spread_bps / 2 / 1e4)
    `levels` levels per side, `level_step_bps` apart, each holding
    `level_volume_frac` x the previous bar's volume (what the tape showed, never the bar ahead)

A signal is decided on a bar's close, so a market entry fills on the next bar's open book,
plus the spread and the depth it walks (slippage), plus the fee — the "next bar open +/-
modelled slippage" model. Stops and targets fire on the path prints. Intrabar order beyond the
four points is unknown: a bar that touches both a stop and a target takes them in path order.

These prints and books are a model, not market data: the microstructure filters (density,
activity, L2) are switched off for such runs (`variants.without_microstructure`) and the report
says they had no input.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Literal

import msgspec

from breakout.common.events import BookSnapshot, Candle, Event, MarketTrade
from breakout.common.events.md import TIMEFRAME_MS


class CandleModel(msgspec.Struct, frozen=True, kw_only=True):
    """The model's parameters (see the module docstring)."""

    spread_bps: float = 2.0
    levels: int = 20
    level_step_bps: float = 2.0
    level_volume_frac: float = 0.05


def with_modelled_prints(events: Iterable[Event], model: CandleModel) -> Iterator[Event]:
    """Candles (time-ordered), preceded along each finest bar by its modelled prints and books."""
    finest: dict[str, int] = {}
    last_volume: dict[str, float] = {}
    for event in events:
        if isinstance(event, Candle):
            tf_ms = TIMEFRAME_MS[event.timeframe]
            if finest.setdefault(event.symbol, tf_ms) == tf_ms:
                volume = last_volume.get(event.symbol, event.volume)
                yield from _walk(event, model, volume)
                last_volume[event.symbol] = event.volume
        yield event


def _walk(bar: Candle, model: CandleModel, prev_volume: float) -> Iterator[Event]:
    up = bar.close >= bar.open
    path = (
        [bar.open, bar.low, bar.high, bar.close] if up else [bar.open, bar.high, bar.low, bar.close]
    )
    span = bar.close_ts_ms - bar.open_ts_ms
    times = [bar.open_ts_ms, bar.open_ts_ms + span // 3, bar.open_ts_ms + 2 * span // 3]
    times.append(bar.close_ts_ms - 1)
    qty = max(bar.volume / 4, 0.0) or 1e-9
    level_qty = max(prev_volume * model.level_volume_frac, 1e-9)
    previous = bar.open
    for index, (price, ts_ms) in enumerate(zip(path, times, strict=True)):
        seq = bar.open_ts_ms * 4 + index  # unique and increasing per symbol
        yield _book(bar, price, ts_ms, seq, model=model, level_qty=level_qty)
        side: Literal["buy", "sell"] = "buy" if price >= previous else "sell"
        yield MarketTrade(
            exchange=bar.exchange,
            symbol=bar.symbol,
            trade_id=seq,
            price=price,
            qty=qty,
            side=side,
            exchange_ts_ms=ts_ms,
            received_ts_ms=ts_ms,
        )
        previous = price


def _book(
    bar: Candle, price: float, ts_ms: int, seq: int, *, model: CandleModel, level_qty: float
) -> BookSnapshot:
    half = model.spread_bps / 2 / 1e4
    step = model.level_step_bps / 1e4
    bids = [(price * (1 - half - i * step), level_qty) for i in range(model.levels)]
    asks = [(price * (1 + half + i * step), level_qty) for i in range(model.levels)]
    return BookSnapshot(
        exchange=bar.exchange,
        symbol=bar.symbol,
        sequence=seq,
        depth=model.levels,
        bids=bids,
        asks=asks,
        exchange_ts_ms=ts_ms,
        received_ts_ms=ts_ms,
    )
