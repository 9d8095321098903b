"""Control events: commands to services, written by operators or by other services."""

from __future__ import annotations

from typing import Literal

from breakout.common.events.base import Event


class SubscriptionRequested(Event, frozen=True, kw_only=True, tag="ctl.subscribe.v1"):
    """Ask ingestion to stream symbols (`add`), stop (`remove`), or keep only them (`replace`).

    Every ingest process sees it and acts on the symbols its symbol group owns, so a request
    never makes two processes ingest the same symbol.
    """

    exchange: str
    symbols: list[str]
    action: Literal["add", "remove", "replace"] = "add"
    requested_by: str
    reason: str = ""

    def subject(self) -> str:
        """`ctl.subscribe`."""
        return "ctl.subscribe"
