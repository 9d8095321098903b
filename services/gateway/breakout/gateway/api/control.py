"""`POST /api/ctl/*`: operator commands, recorded as `ctl.*` events (bearer token required).

The gateway decides nothing: it appends the command to its `ctl-<kind>` stream and the risk
and execution services act on it.

Replay protection: every command carries an `Idempotency-Key` header, a fresh unique id per
command (a UUID), or is refused (428). The event id derives from the key, so the key is recorded
with the command forever; the same key again, a replayed (captured, or double-sent) request, is
refused with 409 and writes nothing. Two identical requests racing past the check (two
gateway replicas) write one event, since the store skips an event id it already holds, and the
one whose append wrote nothing answers 409 as well.

The token is checked before the body is read: a caller without it learns nothing about the
body's shape (a 401, never a 422).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import msgspec
from fastapi import APIRouter, Depends, Header, HTTPException, Path
from pydantic import BaseModel, Field

from breakout.common.events import Event, NewEvent, RecordedEvent
from breakout.common.events.ctl_ops import (
    KillRequested,
    KillResetRequested,
    PauseRequested,
    PositionCloseRequested,
    ctl_stream,
)
from breakout.common.ids import external_event_id
from breakout.common.store.port import EventStore, StreamAppend
from breakout.gateway import metrics
from breakout.gateway.api.common import (
    Gateway,
    GatewayDep,
    MsgspecResponse,
    TokenFirstRoute,
    ok,
    require_token,
)

# The dependency documents the bearer scheme in OpenAPI; `TokenFirstRoute` enforces it before
# FastAPI reads the body.
router = APIRouter(
    tags=["control"], dependencies=[Depends(require_token)], route_class=TokenFirstRoute
)

PRODUCER = "gateway"
Operator = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@\-]+$")]
# JSONB cannot hold NUL, and control characters have no business in an audit trail.
Reason = Annotated[
    str, Field(min_length=1, max_length=500, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+$")
]
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=8, max_length=128)
]


class KillBody(BaseModel):
    """Trip the kill switch."""

    level: Literal["entries", "flatten"]
    reason: Reason
    requested_by: Operator = "operator"


class ResetBody(BaseModel):
    """Reset the kill switch."""

    reason: Reason
    requested_by: Operator = "operator"


class CloseBody(BaseModel):
    """Close one position at market."""

    reason: Reason
    requested_by: Operator = "operator"


class PauseBody(BaseModel):
    """Pause (or resume) new signals of one preset, or of all when `preset` is null."""

    paused: bool = True
    preset: Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]{1,64}$")] | None = None
    reason: Reason
    requested_by: Operator = "operator"


class Accepted(msgspec.Struct, kw_only=True):
    """The command was recorded; services act on it from the log."""

    event_id: uuid.UUID
    stream: str
    type: str
    stream_version: int


class Replayed(msgspec.Struct, kw_only=True):
    """The request's key was used before: nothing was written."""

    detail: str
    event_id: uuid.UUID
    position: int


async def _recorded(store: EventStore, stream: str, event_id: uuid.UUID) -> RecordedEvent | None:
    # Operator commands are few (a handful a day): reading their stream is cheap.
    after = 0
    while batch := await store.read_stream(stream, after_version=after, limit=1000):
        for event in batch:
            if event.event_id == event_id:
                return event
        after = batch[-1].version
    return None


async def _record(gw: Gateway, kind: str, command: Event, key: str | None) -> MsgspecResponse:
    # A command is an outside input to the system, like a market-data tick: its time is the
    # gateway's clock and its id derives from the caller's key, recorded with it for good.
    if key is None:
        raise HTTPException(
            status_code=428,
            detail="send an Idempotency-Key header: a fresh unique id (a UUID) per command",
        )
    event_id = external_event_id(PRODUCER, kind, key)
    stream = ctl_stream(kind)
    new = NewEvent(event_id=event_id, data=command, occurred_at=gw.clock.now(), producer=PRODUCER)
    async with gw.ctl_lock:
        earlier = await _recorded(gw.store, stream, event_id)
        # Rows written, not the stream's version: 0 when another gateway replica recorded the
        # same key between the check above and this append (the store skips a stored id).
        written = 0
        if earlier is None:
            written = await gw.store.append_bulk([StreamAppend(stream=stream, events=[new])])
        recorded = earlier or await _recorded(gw.store, stream, event_id)
    if recorded is None:  # the store acknowledged an append it does not hold
        raise HTTPException(status_code=500, detail="the command was not recorded")
    if not written:
        metrics.CTL_REPLAYS.labels(kind).inc()
        refused = Replayed(
            detail=f"Idempotency-Key already used: recorded at position {recorded.position}",
            event_id=event_id,
            position=recorded.position,
        )
        return MsgspecResponse(refused, status_code=409)
    metrics.CTL_COMMANDS.labels(kind).inc()
    body = Accepted(
        event_id=event_id, stream=stream, type=command.type_tag(), stream_version=recorded.version
    )
    return MsgspecResponse(body, status_code=202)


ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: ok(Accepted, "Recorded")[200],
    409: ok(Replayed, "Replayed: this Idempotency-Key was used before; nothing written")[200],
    428: {"description": "No Idempotency-Key header"},
}


@router.post("/api/ctl/kill", status_code=202, responses=ACCEPTED)
async def kill(gw: GatewayDep, body: KillBody, key: IdempotencyKey = None) -> MsgspecResponse:
    """Trip the kill switch: `entries` stops new entries, `flatten` also closes everything."""
    command = KillRequested(level=body.level, requested_by=body.requested_by, reason=body.reason)
    return await _record(gw, "kill", command, key)


@router.post("/api/ctl/reset", status_code=202, responses=ACCEPTED)
async def reset(gw: GatewayDep, body: ResetBody, key: IdempotencyKey = None) -> MsgspecResponse:
    """Reset a tripped kill switch."""
    command = KillResetRequested(requested_by=body.requested_by, reason=body.reason)
    return await _record(gw, "kill_reset", command, key)


@router.post("/api/ctl/close/{position}", status_code=202, responses=ACCEPTED)
async def close_position(
    gw: GatewayDep,
    position: Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:\-]{1,128}$")],
    body: CloseBody,
    key: IdempotencyKey = None,
) -> MsgspecResponse:
    """Close one position at market."""
    command = PositionCloseRequested(
        position_id=position, requested_by=body.requested_by, reason=body.reason
    )
    return await _record(gw, "close_position", command, key)


@router.post("/api/ctl/pause", status_code=202, responses=ACCEPTED)
async def pause(gw: GatewayDep, body: PauseBody, key: IdempotencyKey = None) -> MsgspecResponse:
    """Pause or resume new signals."""
    command = PauseRequested(
        paused=body.paused, preset=body.preset, requested_by=body.requested_by, reason=body.reason
    )
    return await _record(gw, "pause", command, key)
