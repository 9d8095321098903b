"""One position's state and its money arithmetic (pure; the core drives it from events).

Phases: `entering` (entry order working) -> `open` -> `closed`. While open, one exit order at a
time is in flight (`exit_order_id`); exit rules fire again only once it is resolved. Quantities
are Decimal and net of base-asset fees (Binance charges a buyer's fee in the base asset), so the
quantity we sell is the quantity we hold; `cash_quote` is the quote balance's change (entry cost
out, exit proceeds less quote fees in), which is what the position's P&L in quote is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Literal

from breakout.common.events import MarketRulesObserved, OrderFillReceived, OrderIntentApproved

Phase = Literal["entering", "open", "closed"]
ZERO = Decimal(0)


def dec(value: float) -> Decimal:
    """A float price as the Decimal of its shortest repr (what the exchange printed)."""
    return Decimal(repr(value))


def floor_step(value: Decimal, step: Decimal) -> Decimal:
    """`value` rounded down to a multiple of `step`."""
    return (value / step).to_integral_value(rounding=ROUND_DOWN) * step


def ceil_step(value: Decimal, step: Decimal) -> Decimal:
    """`value` rounded up to a multiple of `step`."""
    return (value / step).to_integral_value(rounding=ROUND_UP) * step


@dataclass
class Fills:
    """What the fills of one order added up to."""

    base_qty: Decimal = ZERO
    quote_qty: Decimal = ZERO
    base_fee: Decimal = ZERO
    quote_fee: Decimal = ZERO
    trade_ids: set[str] = field(default_factory=set)

    def add(self, fill: OrderFillReceived, base: str, quote: str) -> bool:
        """Count a fill once (by trade id); False if it was already counted."""
        if fill.trade_id in self.trade_ids:
            return False
        self.trade_ids.add(fill.trade_id)
        self.base_qty += fill.qty
        self.quote_qty += fill.quote_qty
        if fill.fee_asset == base:
            self.base_fee += fill.fee
        elif fill.fee_asset == quote:
            self.quote_fee += fill.fee
        # A fee in a third asset (BNB) changes neither leg; it is out of this P&L.
        return True

    def avg_price(self) -> Decimal:
        """Volume-weighted price of the fills (0 without fills)."""
        return self.quote_qty / self.base_qty if self.base_qty else ZERO


@dataclass
class TwapPlan:
    """The slicing of one entry."""

    total_qty: Decimal
    slice_qty: Decimal
    slices: int
    interval_ms: int
    placed: int = 0
    placed_qty: Decimal = ZERO
    next_ms: int = 0
    stopped: str = ""

    def done(self) -> bool:
        """No further slice will be placed."""
        return bool(self.stopped) or self.placed >= self.slices or self.placed_qty >= self.total_qty


@dataclass
class Position:
    """A position from its intent to its close."""

    intent: OrderIntentApproved
    rules: MarketRulesObserved
    phase: Phase = "entering"
    entry_order_id: str = ""
    entry_type: str = "limit"
    entry_limit: Decimal | None = None
    cancel_requested: bool = False
    entry_in_flight: bool = False
    twap: TwapPlan | None = None
    last_price: Decimal = ZERO
    entry: Fills = field(default_factory=Fills)
    qty: Decimal = ZERO
    entry_price: Decimal = ZERO
    stop: Decimal = ZERO
    risk_per_unit: Decimal = ZERO
    initial_risk_quote: Decimal = ZERO
    tp1: Decimal = ZERO
    tp2: Decimal = ZERO
    target: Decimal | None = None
    tp1_done: bool = False
    add_on_done: bool = False
    tp2_done: bool = False
    decayed: bool = False
    trailing: bool = False
    highest: Decimal = ZERO
    cash_quote: Decimal = ZERO
    fees_quote: Decimal = ZERO
    exit_proceeds: Decimal = ZERO
    exit_qty: Decimal = ZERO
    exit_order_id: str | None = None
    exit_purpose: str = ""
    exit_fills: Fills = field(default_factory=Fills)
    exit_seq: int = 0
    retry_after_ms: int = 0
    opened_ts_ms: int = 0
    # Prints at or before this time were printed before the position's last change (its open,
    # a fill of its own exit): they may arrive later than that change, from another writer,
    # and must not trigger rules set after them (our own TP1 sale prints below breakeven).
    act_after_ms: int = 0
    close_reason: str = ""

    @property
    def position_id(self) -> str:
        """The position's id (its intent's)."""
        return self.intent.intent_id

    @property
    def symbol(self) -> str:
        """The market traded."""
        return self.intent.symbol

    def open_from_entry(self, tp1_r: Decimal, tp2_r: Decimal) -> None:
        """Enter the `open` phase from the entry's fills: size, price, stop, R and targets."""
        self.qty = self.entry.base_qty - self.entry.base_fee
        self.entry_price = self.entry.avg_price()
        self.cash_quote = -self.entry.quote_qty - self.entry.quote_fee
        self.fees_quote = self.entry.quote_fee + self.entry.base_fee * self.entry_price
        self.stop = dec(self.intent.stop_price)
        self.risk_per_unit = self.entry_price - self.stop
        self.initial_risk_quote = self.risk_per_unit * self.qty
        self.tp1 = self.entry_price + tp1_r * self.risk_per_unit
        self.tp2 = self.entry_price + tp2_r * self.risk_per_unit
        target = self.intent.target_price
        self.target = dec(target) if target is not None else None
        self.highest = self.entry_price
        self.phase = "open"

    def sellable(self, qty: Decimal, price: Decimal) -> Decimal:
        """`qty` rounded down to the step, or 0 if below the exchange's minimums."""
        rounded = floor_step(min(qty, self.qty), self.rules.step_size)
        if rounded < self.rules.min_qty or rounded * price < self.rules.min_notional:
            return ZERO
        return rounded

    def r_of(self, quote: Decimal) -> Decimal:
        """A quote amount in R (0 when the initial risk is 0)."""
        return quote / self.initial_risk_quote if self.initial_risk_quote else ZERO

    def book_exit_fill(self, fill: OrderFillReceived) -> None:
        """Count an exit fill: base leaves, quote (less its fee) comes in."""
        if not self.exit_fills.add(fill, self.rules.base, self.rules.quote):
            return
        quote_fee = fill.fee if fill.fee_asset == self.rules.quote else ZERO
        base_fee = fill.fee if fill.fee_asset == self.rules.base else ZERO
        self.qty -= fill.qty + base_fee
        self.cash_quote += fill.quote_qty - quote_fee
        self.fees_quote += quote_fee + base_fee * fill.price
        self.exit_proceeds += fill.quote_qty
        self.exit_qty += fill.qty

    def book_add_fill(self, fill: OrderFillReceived) -> None:
        """Count an add-on fill: base comes in (less a base fee), quote goes out."""
        if not self.exit_fills.add(fill, self.rules.base, self.rules.quote):
            return
        base_fee = fill.fee if fill.fee_asset == self.rules.base else ZERO
        quote_fee = fill.fee if fill.fee_asset == self.rules.quote else ZERO
        held_cost = self.entry_price * self.qty
        self.qty += fill.qty - base_fee
        self.cash_quote -= fill.quote_qty + quote_fee
        self.fees_quote += quote_fee + base_fee * fill.price
        # The average entry blends in the add-on; R (initial risk, TP prices) stays the entry's.
        self.entry_price = (held_cost + fill.quote_qty) / self.qty if self.qty else self.entry_price

    def breakeven_stop(self, fee_buffer_bps: Decimal) -> Decimal:
        """Entry plus the fee buffer, on the tick grid (rounded up: never below breakeven)."""
        raw = self.entry_price * (1 + fee_buffer_bps / Decimal(10_000))
        return ceil_step(raw, self.rules.tick_size)
