"""Position events: a position's life from its entry fill to its last exit, P&L in R and quote.

One stream per position, `position-<position_id>` (the position id is the intent id). Subjects:
`pos.<kind>.<SYMBOL>`. Every event says why it happened (`reason`) and the prices and
thresholds behind it. Quote amounts are net of fees; `residual_qty` is base left below the
exchange's step size (dust that cannot be sold), so the log's P&L matches the account's change.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from breakout.common.events.base import Event, subject_token
from breakout.common.events.sig import TradeSide

ExitReason = Literal[
    "tp1",
    "tp2",
    "target",
    "stop",
    "breakeven",
    "trail",
    "time_stop",
    "time_decay",
    "panic",
    "operator",
    "flatten",
    "entry_unfilled",
]
StopReason = Literal["breakeven", "chandelier"]


def position_stream(position_id: str) -> str:
    """The store stream of one position, e.g. `position-3f2a...`."""
    return f"position-{position_id}"


class PositionOpened(Event, frozen=True, kw_only=True, tag="pos.opened.v1"):
    """The entry filled: size (net of base fees), average price, the stop, R and the targets."""

    position_id: str
    preset: str
    exchange: str
    symbol: str
    intent_id: str
    side: TradeSide
    qty: Decimal
    entry_price: Decimal
    entry_cost_quote: Decimal
    stop_price: Decimal
    risk_per_unit: Decimal
    initial_risk_quote: Decimal
    tp1_price: Decimal
    tp2_price: Decimal
    target_price: Decimal | None = None
    ts_ms: int

    def subject(self) -> str:
        """`pos.opened.<SYMBOL>`."""
        return f"pos.opened.{subject_token(self.symbol)}"


class PositionIncreased(Event, frozen=True, kw_only=True, tag="pos.increased.v1"):
    """The add-on filled: what was bought, the new size and average entry; R is unchanged."""

    position_id: str
    preset: str
    exchange: str
    symbol: str
    qty: Decimal
    avg_price: Decimal
    new_qty: Decimal
    new_entry_price: Decimal
    stop_price: Decimal
    risk_quote: Decimal
    initial_risk_quote: Decimal
    ts_ms: int

    def subject(self) -> str:
        """`pos.increased.<SYMBOL>`."""
        return f"pos.increased.{subject_token(self.symbol)}"


class PositionReduced(Event, frozen=True, kw_only=True, tag="pos.reduced.v1"):
    """Part of the position was sold (TP1, TP2, time decay): quantity, price, realised P&L."""

    position_id: str
    preset: str
    exchange: str
    symbol: str
    reason: ExitReason
    qty: Decimal
    avg_price: Decimal
    realized_quote: Decimal
    realized_r: Decimal
    remaining_qty: Decimal
    ts_ms: int

    def subject(self) -> str:
        """`pos.reduced.<SYMBOL>`."""
        return f"pos.reduced.{subject_token(self.symbol)}"


class StopMoved(Event, frozen=True, kw_only=True, tag="pos.stop_moved.v1"):
    """The stop moved (only ever toward profit): to breakeven + fees, or trailing."""

    position_id: str
    preset: str
    exchange: str
    symbol: str
    reason: StopReason
    old_stop: Decimal
    new_stop: Decimal
    reference_price: Decimal
    atr: float | None = None
    ts_ms: int

    def subject(self) -> str:
        """`pos.stop_moved.<SYMBOL>`."""
        return f"pos.stop_moved.{subject_token(self.symbol)}"


class TrailingActivated(Event, frozen=True, kw_only=True, tag="pos.trailing.v1"):
    """The chandelier trail took over the stop: highest price since entry minus k x ATR(5m)."""

    position_id: str
    preset: str
    exchange: str
    symbol: str
    highest_price: Decimal
    atr: float
    atr_mult: float
    stop_price: Decimal
    ts_ms: int

    def subject(self) -> str:
        """`pos.trailing.<SYMBOL>`."""
        return f"pos.trailing.{subject_token(self.symbol)}"


class EntrySliced(Event, frozen=True, kw_only=True, tag="pos.entry_sliced.v1"):
    """A TWAP entry placed a slice (`qty`), or stopped slicing early (`stopped` says why)."""

    position_id: str
    preset: str
    exchange: str
    symbol: str
    slice_index: int
    slices: int
    qty: Decimal
    placed_qty: Decimal
    total_qty: Decimal
    stopped: str = ""
    ts_ms: int

    def subject(self) -> str:
        """`pos.entry_sliced.<SYMBOL>`."""
        return f"pos.entry_sliced.{subject_token(self.symbol)}"


class ExitTriggered(Event, frozen=True, kw_only=True, tag="pos.exit_triggered.v1"):
    """An exit rule fired: which, at what price against what threshold, and the order placed."""

    position_id: str
    preset: str
    exchange: str
    symbol: str
    reason: ExitReason
    price: Decimal | None = None
    threshold: Decimal | None = None
    qty: Decimal
    order_id: str
    ts_ms: int

    def subject(self) -> str:
        """`pos.exit_triggered.<SYMBOL>`."""
        return f"pos.exit_triggered.{subject_token(self.symbol)}"


class PositionClosed(Event, frozen=True, kw_only=True, tag="pos.closed.v1"):
    """The position is flat: why, the P&L in quote (net of fees) and in R, and the dust left."""

    position_id: str
    preset: str
    exchange: str
    symbol: str
    reason: ExitReason
    side: TradeSide
    entry_qty: Decimal
    entry_price: Decimal
    exit_avg_price: Decimal
    realized_quote: Decimal
    realized_r: Decimal
    fees_quote: Decimal
    initial_risk_quote: Decimal
    residual_qty: Decimal
    opened_ts_ms: int
    ts_ms: int

    def subject(self) -> str:
        """`pos.closed.<SYMBOL>`."""
        return f"pos.closed.{subject_token(self.symbol)}"
