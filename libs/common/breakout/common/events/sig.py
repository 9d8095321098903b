"""Signal events: what the scanner ranked and which entries the signals service took or refused.

Subjects follow ARCHITECTURE.md: `scan.ranked.<preset>` and `sig.<preset>.<SYMBOL>`. Streams:
`scan-<preset>` (one per preset) and `signal-<preset>.<SYMBOL>`. Every decision names the preset
it used (`preset_ref` = `name@vN#hash`) and carries each check's value, threshold and outcome,
so an auditor sees why a signal fired or which filter refused it and by how much. Times are
exchange times (`*_ts_ms`) of the market data that produced the decision.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from breakout.common.events.base import Event, subject_token

TradeSide = Literal["long", "short"]
EntryStrategy = Literal["momentum", "retest", "prelevel", "density_eaten", "structure"]
EntryOrder = Literal["market", "limit", "stop_limit"]
Comparison = Literal[">=", "<=", ">", "<", "==", "in", "not"]
InputValue = float | int | bool | str | None


def scan_stream(preset: str) -> str:
    """The store stream of one preset's scans, e.g. `scan-breakout_v1`."""
    return f"scan-{subject_token(preset)}"


def signal_stream(preset: str, symbol: str) -> str:
    """The store stream of one preset's signals on one symbol, e.g. `signal-breakout_v1.BTCUSDT`."""
    return f"signal-{subject_token(preset)}.{subject_token(symbol)}"


class Check(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One filter or condition: `value <op> threshold` and whether it held.

    `margin` is how far the value is past the threshold, in the value's units, positive when
    the check passes and negative by how much it failed. A check whose input is missing has
    `value=None`, `passed=False` and says so in `note`.
    """

    name: str
    value: float | None
    threshold: float | None
    op: Comparison
    passed: bool
    margin: float | None = None
    note: str = ""


class ScanRow(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One symbol in a scan: every filter's check, its z-score components and its score."""

    symbol: str
    passed: bool
    checks: list[Check]
    score: float | None = None
    rank: int | None = None
    components: dict[str, float] = msgspec.field(default_factory=dict)


class ScanCompleted(Event, frozen=True, kw_only=True, tag="scan.completed.v1"):
    """A scan of one preset's universe: every symbol, ranked candidates first."""

    preset: str
    preset_ref: str
    exchange: str
    ts_ms: int
    rows: list[ScanRow]
    candidates: list[str]
    trigger: Literal["schedule", "on_demand"] = "schedule"

    def subject(self) -> str:
        """`scan.ranked.<preset>`."""
        return f"scan.ranked.{subject_token(self.preset)}"


class ScanRequested(Event, frozen=True, kw_only=True, tag="scan.requested.v1"):
    """Ask the signals service to scan now (`preset` None: every preset), besides its cadence.

    Recorded on the stream `ctl-scan`; the scan that answers it has `trigger="on_demand"`.
    """

    preset: str | None = None
    requested_by: str
    reason: str = ""

    def subject(self) -> str:
        """`ctl.scan`."""
        return "ctl.scan"


class SignalGenerated(Event, frozen=True, kw_only=True, tag="sig.signal_generated.v1"):
    """An entry the signals service wants: side, prices, the level, the stop inputs, and why.

    `stop_price` is the signal's suggestion; the risk service recomputes the stop by the
    preset's rules from `atr_5m` and `swing_price` (the 10-minute swing low for a long, high
    for a short) and sizes on the wider of the two. `base_height` feeds the projection target.
    """

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
    level_price: float
    stop_price: float
    atr_5m: float | None = None
    swing_price: float | None = None
    base_height: float | None = None
    confidence: float
    reason: str
    ts_ms: int
    expires_ts_ms: int
    checks: list[Check]
    inputs: dict[str, InputValue] = msgspec.field(default_factory=dict)
    ml_probability: float | None = None

    def subject(self) -> str:
        """`sig.<preset>.<SYMBOL>`."""
        return f"sig.{subject_token(self.preset)}.{subject_token(self.symbol)}"


class SignalRejected(Event, frozen=True, kw_only=True, tag="sig.signal_rejected.v1"):
    """An entry that was set up but refused: the failed checks (with margins) and all others."""

    preset: str
    preset_ref: str
    exchange: str
    symbol: str
    side: TradeSide
    strategy: EntryStrategy
    level_price: float | None = None
    ts_ms: int
    failed: list[str]
    checks: list[Check]
    inputs: dict[str, InputValue] = msgspec.field(default_factory=dict)

    def subject(self) -> str:
        """`sig.<preset>.<SYMBOL>`."""
        return f"sig.{subject_token(self.preset)}.{subject_token(self.symbol)}"


SignalState = Literal["scanning", "level_building", "signal_wait", "retest_wait"]


class SignalStateChanged(Event, frozen=True, kw_only=True, tag="sig.state_changed.v1"):
    """One symbol's entry state machine moved (per preset and side), and why.

    `scanning` (not a candidate) -> `level_building` (a candidate, no usable level yet) ->
    `signal_wait` (a level armed; entries evaluated on each closed bar) -> `retest_wait` (broken;
    a retest awaited) -> back, on a signal, a failure or the signal timeout.
    """

    preset: str
    preset_ref: str
    exchange: str
    symbol: str
    side: TradeSide
    state: SignalState
    previous_state: SignalState
    reason: str
    level_price: float | None = None
    ts_ms: int

    def subject(self) -> str:
        """`sig.<preset>.<SYMBOL>`."""
        return f"sig.{subject_token(self.preset)}.{subject_token(self.symbol)}"
