"""Drive the execution core with events the way the broker and the market would."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from breakout.common.events import (
    ActivityDropped,
    Event,
    IndicatorsUpdated,
    MarketTrade,
    OrderExpired,
    OrderFilled,
    OrderFillReceived,
    OrderIntentApproved,
    OrderRejected,
    OrderSubmitted,
)
from breakout.common.presets import Preset, load_preset
from breakout.execution.core import ExecutionCore
from breakout.risk.decide import RiskView, decide
from breakout.risk.sizing import MarketRules
from tests.support.trading import T0_MS, book, recorded, regime, rules, signal

MINUTE = 60_000
PRESET = load_preset("breakout_v1")


def intent(preset: Preset = PRESET, **signal_overrides: Any) -> OrderIntentApproved:
    """A real approval by the risk core: entry 100, stop 98.5, 40 units at confidence 1."""
    view = RiskView(
        equity_quote=10_000.0,
        free_quote=10_000.0,
        rules={
            "BTCUSDT": MarketRules(
                step_size=Decimal("0.00001"), min_qty=Decimal("0.00001"), min_notional=Decimal("5")
            )
        },
        books={"BTCUSDT": book()},
        regime=regime(),
    )
    result = decide(signal(**{"confidence": 1.0, **signal_overrides}), preset, view)
    assert isinstance(result, OrderIntentApproved), result
    return result


class Harness:
    """An execution core plus a fake market clock; every output is kept in `out`."""

    def __init__(self, preset: Preset = PRESET) -> None:
        self.core = ExecutionCore([preset])
        self.out: list[Event] = []
        self.ts = T0_MS
        self.trade_ids = itertools.count(1)
        self.feed(rules())

    def feed(self, event: Event) -> list[Event]:
        emitted = [e.event for e in self.core.handle(recorded(event, self.ts))]
        self.out += emitted
        return emitted

    def price(self, price: float, after_ms: int = 1_000) -> list[Event]:
        self.ts += after_ms
        trade = MarketTrade(
            exchange="binance",
            symbol="BTCUSDT",
            trade_id=next(self.trade_ids),
            price=price,
            qty=1.0,
            side="buy",
            exchange_ts_ms=self.ts,
            received_ts_ms=self.ts,
        )
        return self.feed(trade)

    def atr(self, atr: float) -> None:
        self.feed(
            IndicatorsUpdated(
                exchange="binance",
                symbol="BTCUSDT",
                timeframe="5m",
                open_ts_ms=self.ts,
                close_ts_ms=self.ts,
                close=100.0,
                volume=1.0,
                atr=atr,
                obv=0.0,
                reference_symbol="BTCUSDT",
            )
        )

    def fill(
        self, order: OrderSubmitted, qty: str, price: str, *, final: bool = True
    ) -> list[Event]:
        qty_d, price_d = Decimal(qty), Decimal(price)
        quote = qty_d * price_d
        # Binance spot: a buyer pays the fee in base, a seller in quote (0.1 %).
        fee, asset = (qty_d / 1000, "BTC") if order.side == "buy" else (quote / 1000, "USDT")
        out = self.feed(
            OrderFillReceived(
                order_id=order.order_id,
                exchange="binance",
                symbol="BTCUSDT",
                trade_id=f"t{next(self.trade_ids)}",
                side=order.side,
                qty=qty_d,
                price=price_d,
                quote_qty=quote,
                fee=fee,
                fee_asset=asset,
                cum_qty=qty_d,
                ts_ms=self.ts,
            )
        )
        if final:
            out += self.done(order, qty_d, price_d, filled=qty_d == order.qty)
        return out

    def done(
        self, order: OrderSubmitted, qty: Decimal, price: Decimal, *, filled: bool
    ) -> list[Event]:
        if filled:
            end: Event = OrderFilled(
                order_id=order.order_id,
                exchange="binance",
                symbol="BTCUSDT",
                filled_qty=qty,
                avg_price=price,
                ts_ms=self.ts,
            )
        else:
            end = OrderExpired(
                order_id=order.order_id,
                exchange="binance",
                symbol="BTCUSDT",
                filled_qty=qty,
                ts_ms=self.ts,
            )
        return self.feed(end)

    def reject(self, order: OrderSubmitted) -> list[Event]:
        return self.feed(
            OrderRejected(
                order_id=order.order_id,
                exchange="binance",
                symbol="BTCUSDT",
                error="InsufficientFunds",
                message="x",
                ts_ms=self.ts,
            )
        )

    def drop(self) -> list[Event]:
        return self.feed(
            ActivityDropped(
                exchange="binance",
                symbol="BTCUSDT",
                ts_ms=self.ts,
                drop_frac=0.6,
                threshold=0.4,
                tpm=1.0,
                baseline_tpm=10.0,
            )
        )


def only(events: list[Event], cls: type[Any]) -> Any:
    """The single event of `cls` among `events`."""
    found = [e for e in events if isinstance(e, cls)]
    assert len(found) == 1, (cls.__name__, events)
    return found[0]


def opened_harness(
    preset: Preset = PRESET, **signal_overrides: Any
) -> tuple[Harness, OrderIntentApproved]:
    """A harness with an open position: 40 bought at 100 (39.96 held after the base fee)."""
    h = Harness(preset)
    approved = intent(preset, **signal_overrides)
    entry = only(h.feed(approved), OrderSubmitted)
    h.fill(entry, str(entry.qty), "100")
    return h, approved
