"""Risk-service events: every sizing decision (approved or denied) and the kill switch.

Streams: `risk-<preset>` (one per preset, every decision about its signals in one order) and
`risk-kill` (the kill switch and per-symbol quarantines). Subjects:
`risk.approved.<preset>.<SYMBOL>`, `risk.denied.<preset>.<SYMBOL>`, `risk.kill`,
`risk.quarantine.<SYMBOL>`. A decision carries every input it was computed
from (equity, stop rule, depth, regime, multipliers, exchange minimums) and the preset it used
(`preset_ref`), so a reader can redo the arithmetic; a denial names the limit, the value and
the threshold that tripped it, plus every check evaluated before it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import msgspec

from breakout.common.events.base import Event, subject_token
from breakout.common.events.sig import Check, EntryOrder, EntryStrategy, TradeSide

KillLevel = Literal["entries", "flatten"]
KillTrigger = Literal[
    "operator",
    "daily_loss_r",
    "daily_loss_pct",
    "gap_storm",
    "latency",
    "disconnect",
]
KILL_STREAM = "risk-kill"


def risk_stream(preset: str) -> str:
    """The store stream of one preset's risk decisions, e.g. `risk-breakout_v1`."""
    return f"risk-{subject_token(preset)}"


class Sizing(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The inputs and steps of an R-based size: `qty = R / stop distance`, then the caps.

    `risk_quote` is R in quote currency after the regime and confidence multipliers;
    `qty_by_risk` the uncapped size; `capped_by` names the cap that bound (`risk`, `depth`,
    `balance`); `qty` the final size rounded down to the exchange's step.
    """

    equity_quote: float
    free_quote: float
    risk_per_trade: float
    regime: str | None
    regime_multiplier: float
    confidence: float
    confidence_multiplier: float
    risk_quote: float
    stop_distance: float
    qty_by_risk: float
    depth_usd: float
    max_depth_participation: float
    qty_by_depth: float
    qty_by_balance: float
    capped_by: Literal["risk", "depth", "balance"]
    step_size: float
    min_qty: float
    min_notional: float
    qty: Decimal
    notional_quote: float
    risk_r: float
    spread_bps: float
    max_slippage_bps: float


class OrderIntentApproved(Event, frozen=True, kw_only=True, tag="risk.intent_approved.v1"):
    """A signal passed every limit and was sized: execution turns it into an entry order.

    `intent_id` is derived from `signal_id`; the entry's client order id is derived from it.
    `slippage_limit_price` bounds a market entry (it is placed as an IOC limit at that price).
    """

    intent_id: str
    signal_id: str
    preset: str
    preset_ref: str
    exchange: str
    symbol: str
    side: TradeSide
    strategy: EntryStrategy
    entry_order: EntryOrder
    entry_price: float
    limit_price: float | None = None
    slippage_limit_price: float
    stop_price: float
    stop_rule: str
    target_price: float | None = None
    reward_risk: float
    atr_5m: float | None = None
    base_height: float | None = None
    qty: Decimal
    sizing: Sizing
    checks: list[Check]
    ts_ms: int
    expires_ts_ms: int

    def subject(self) -> str:
        """`risk.approved.<preset>.<SYMBOL>`."""
        return f"risk.approved.{subject_token(self.preset)}.{subject_token(self.symbol)}"


class OrderDenied(Event, frozen=True, kw_only=True, tag="risk.order_denied.v1"):
    """A signal refused by a limit: which one, its value and threshold, and every check run."""

    signal_id: str
    preset: str
    preset_ref: str
    exchange: str
    symbol: str
    side: TradeSide
    limit: str
    value: float | None
    threshold: float | None
    reason: str
    checks: list[Check]
    ts_ms: int

    def subject(self) -> str:
        """`risk.denied.<preset>.<SYMBOL>`."""
        return f"risk.denied.{subject_token(self.preset)}.{subject_token(self.symbol)}"


class KillSwitchTripped(Event, frozen=True, kw_only=True, tag="risk.kill_tripped.v1"):
    """The kill switch is on at `level` (see docs/risk.md for what each level stops)."""

    level: KillLevel
    trigger: KillTrigger
    value: float | None = None
    threshold: float | None = None
    reason: str
    requested_by: str | None = None
    ts_ms: int

    def subject(self) -> str:
        """`risk.kill`."""
        return "risk.kill"


class KillSwitchReset(Event, frozen=True, kw_only=True, tag="risk.kill_reset.v1"):
    """The kill switch is off again: entries are allowed."""

    previous_level: KillLevel
    requested_by: str
    reason: str = ""
    ts_ms: int

    def subject(self) -> str:
        """`risk.kill`."""
        return "risk.kill"


class SymbolQuarantined(Event, frozen=True, kw_only=True, tag="risk.symbol_quarantined.v1"):
    """Entries on one symbol are refused until `until_ts_ms`: its market data gapped too often.

    Recorded when `gap_count` gaps of `symbol` fell within `window_s`, and again, with a later
    `until_ts_ms`, for each further gap while it is quarantined. The quarantine ends by itself
    at `until_ts_ms` (the last gap plus the preset's `gap_quarantine_s`); signals on the symbol
    before then are denied with the limit `symbol_gap_storm`.
    """

    symbol: str
    gap_count: int
    threshold: int
    window_s: int
    quiet_s: int
    last_gap_ts_ms: int
    until_ts_ms: int
    ts_ms: int

    def subject(self) -> str:
        """`risk.quarantine.<SYMBOL>`."""
        return f"risk.quarantine.{subject_token(self.symbol)}"
