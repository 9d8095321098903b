"""`/api/events`: browse the log itself (audit), one stream or the global order, by page."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, Query

from breakout.common.store.port import EventFilter
from breakout.gateway.api.common import (
    Envelope,
    GatewayDep,
    MsgspecResponse,
    ok,
    require_read_access,
)

router = APIRouter(tags=["audit"], dependencies=[Depends(require_read_access)])

MAX_POSITION = 2**62  # bigint, with room


class EventsPage(msgspec.Struct, kw_only=True):
    """A page of events; pass `next_after` as `after` for the next one."""

    events: list[Envelope[Any]]
    next_after: int


@router.get("/api/events", responses=ok(EventsPage))
async def events(
    gw: GatewayDep,
    *,
    stream: Annotated[
        str | None,
        Query(pattern=r"^[A-Za-z0-9_.:\-]{1,200}$", description="one stream (after = version)"),
    ] = None,
    after: Annotated[int, Query(ge=0, le=MAX_POSITION, description="position or version")] = 0,
    category: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_.\-]{1,100}$")] = None,
    type: Annotated[str | None, Query(pattern=r"^[a-z0-9_.]{1,100}$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> MsgspecResponse:
    """Events of `stream` after a version, or of the whole log after a position (filtered by
    stream category and type tag), oldest first."""
    if stream is not None:
        found = await gw.store.read_stream(stream, after_version=after, limit=limit)
        next_after = found[-1].version if found else after
    else:
        filter = EventFilter(
            categories=(category,) if category else None, types=(type,) if type else None
        )
        found = await gw.store.read_all(after=after, limit=limit, filter=filter)
        next_after = found[-1].position if found else after
    return MsgspecResponse({"events": found, "next_after": next_after})
