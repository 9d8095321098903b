"""Operational events of the runtime and the store (dead letters, archived market data)."""

from __future__ import annotations

import uuid

import msgspec

from breakout.common.events.base import Event, subject_token


class MessageDeadLettered(Event, frozen=True, kw_only=True, tag="ops.dead_lettered.v1"):
    """A consumer could not decode or handle a message; it is parked here with the reason."""

    consumer: str
    reason: str
    bus_subject: str
    bus_sequence: int | None = None
    input_event_id: uuid.UUID | None = None
    input_position: int | None = None
    input_type: str | None = None
    payload_b64: str = ""

    def subject(self) -> str:
        """`dlq.<consumer>`."""
        return f"dlq.{subject_token(self.consumer)}"


def dead_letter_stream(consumer: str) -> str:
    """The store stream that holds a consumer's dead letters."""
    return f"dlq-{consumer}"


class ArchivedFile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One Parquet file of an archived partition, with its row count and content hash."""

    name: str
    rows: int
    sha256: str


class MarketDataArchived(Event, frozen=True, kw_only=True, tag="ops.md_archived.v1"):
    """A market-data day partition was exported to Parquet, verified, and detached.

    Its events are no longer in the database: backtests and audits read them from `location`
    (`breakout.common.store.archive.read_archive`), in the same global order (`position`).
    """

    day: str
    partition: str
    rows: int
    first_position: int
    last_position: int
    location: str
    files: list[ArchivedFile]

    def subject(self) -> str:
        """`ops.md_archived`."""
        return "ops.md_archived"
