"""Reconciliation events: where the exchange and the log disagreed, and what was done about it.

Stream `recon-<exchange>`; subjects `recon.drift.<exchange>`, `recon.external.<exchange>`. Ids
are derived from what was found (the order, the trade, the exchange order id), so a drift seen
twice is recorded once and its correction is never applied twice.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from breakout.common.events.base import Event, subject_token

DriftKind = Literal["missing_fill", "missing_ack", "status", "unplaced", "balance"]


def recon_stream(exchange: str) -> str:
    """The store stream of one exchange's reconciliation audit, e.g. `recon-binance`."""
    return f"recon-{subject_token(exchange)}"


class DriftDetected(Event, frozen=True, kw_only=True, tag="recon.drift_detected.v1"):
    """The log and the exchange disagree about one order (or a balance)."""

    drift_id: str
    exchange: str
    kind: DriftKind
    symbol: str | None = None
    order_id: str | None = None
    log_value: str
    exchange_value: str
    ts_ms: int

    def subject(self) -> str:
        """`recon.drift.<exchange>`."""
        return f"recon.drift.{subject_token(self.exchange)}"


class DriftResolved(Event, frozen=True, kw_only=True, tag="recon.drift_resolved.v1"):
    """A drift was repaired: the events appended to the order's stream (by type), or why not."""

    drift_id: str
    exchange: str
    action: Literal["appended", "none"]
    appended: list[str]
    note: str = ""
    ts_ms: int

    def subject(self) -> str:
        """`recon.drift.<exchange>`."""
        return f"recon.drift.{subject_token(self.exchange)}"


class ExternalOrderDetected(Event, frozen=True, kw_only=True, tag="recon.external_order.v1"):
    """An order at the exchange that no intent in the log claims (placed by hand, another bot)."""

    exchange: str
    symbol: str
    exchange_order_id: str
    client_order_id: str | None = None
    side: str
    order_type: str
    qty: Decimal
    price: Decimal | None = None
    status: str
    ts_ms: int

    def subject(self) -> str:
        """`recon.external.<exchange>`."""
        return f"recon.external.{subject_token(self.exchange)}"
