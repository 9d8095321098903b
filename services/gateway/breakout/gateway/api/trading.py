"""`/api/scan`, `/api/signals`, `/api/orders`, `/api/trades/*` and `/api/risk/status`.

Scans and signals have their own read model. Orders, positions and risk are served by the
generic `trading` read model (recent events and per-stream views of `exec`, `pos`, `risk`,
`recon`), so they answer as soon as those events are recorded.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from fastapi import APIRouter, Depends, Path, Query

from breakout.common.events.sig import ScanCompleted, SignalGenerated, SignalRejected
from breakout.gateway.api.common import (
    SYMBOL_PATTERN,
    Envelope,
    GatewayDep,
    Limit,
    MsgspecResponse,
    not_found,
    ok,
    require_read_access,
)
from breakout.gateway.readmodels.control import KillState, PauseState
from breakout.gateway.readmodels.recent import StreamView

router = APIRouter(dependencies=[Depends(require_read_access)])

PRESET_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"
Preset = Annotated[str, Path(pattern=PRESET_PATTERN)]
OptionalSymbol = Annotated[str | None, Query(pattern=SYMBOL_PATTERN)]
CLOSED = ("pos.closed.",)


class ScanSummary(msgspec.Struct, kw_only=True):
    """A preset's latest scan in brief."""

    preset: str
    ts_ms: int
    candidates: list[str]
    position: int


class TradesStatusOut(msgspec.Struct, kw_only=True):
    """Kill switch and pauses as requested, open positions and the last trading events."""

    kill: KillState
    paused: list[PauseState]
    open_positions: int
    last_events: list[Envelope[Any]]


class RiskStatusOut(msgspec.Struct, kw_only=True):
    """The kill switch as requested and the risk service's latest event per subject."""

    kill: KillState
    paused: list[PauseState]
    risk: dict[str, Envelope[Any]]


@router.get("/api/scan", tags=["signals"], responses=ok(list[ScanSummary]))
async def scans(gw: GatewayDep) -> MsgspecResponse:
    """Each preset's latest scan, in brief."""
    found = []
    for preset, event in sorted(gw.models.signals.scans.items()):
        data = event.data
        assert isinstance(data, ScanCompleted)
        found.append(
            ScanSummary(
                preset=preset, ts_ms=data.ts_ms, candidates=data.candidates, position=event.position
            )
        )
    return MsgspecResponse(found)


@router.get("/api/scan/{preset}", tags=["signals"], responses=ok(Envelope[ScanCompleted]))
async def scan(gw: GatewayDep, preset: Preset) -> MsgspecResponse:
    """The preset's latest scan: every symbol's checks, score and rank."""
    found = gw.models.signals.scans.get(preset)
    if found is None:
        raise not_found(f"no scan recorded for preset {preset}")
    return MsgspecResponse(found)


@router.get(
    "/api/signals", tags=["signals"], responses=ok(list[Envelope[SignalGenerated | SignalRejected]])
)
async def signals(
    gw: GatewayDep,
    preset: Annotated[str | None, Query(pattern=PRESET_PATTERN)] = None,
    symbol: OptionalSymbol = None,
    outcome: Annotated[Literal["generated", "rejected"] | None, Query()] = None,
    limit: Limit = 100,
) -> MsgspecResponse:
    """Entry signals and rejections (with their checks and reasons), newest first."""
    return MsgspecResponse(
        gw.models.signals.recent(preset=preset, symbol=symbol, outcome=outcome, limit=limit)
    )


@router.get("/api/orders", tags=["trading"], responses=ok(list[Envelope[Any]]))
async def orders(
    gw: GatewayDep, symbol: OptionalSymbol = None, limit: Limit = 100
) -> MsgspecResponse:
    """Order events (`exec.order.*`), newest first."""
    pattern = f"exec.order.*.{symbol}" if symbol else "exec.order.>"
    return MsgspecResponse(gw.models.trading.recent(pattern, limit=limit))


@router.get("/api/trades/positions", tags=["trading"], responses=ok(list[StreamView]))
async def positions(gw: GatewayDep) -> MsgspecResponse:
    """Open positions: each `position-*` stream whose last event is not `pos.closed`."""
    return MsgspecResponse(gw.models.trading.streams("position", exclude_types=CLOSED))


@router.get("/api/trades/history", tags=["trading"], responses=ok(list[Envelope[Any]]))
async def history(gw: GatewayDep, limit: Limit = 100) -> MsgspecResponse:
    """Closed positions (`pos.closed.*` events), newest first."""
    return MsgspecResponse(gw.models.trading.recent("pos.>", type_prefix=CLOSED[0], limit=limit))


@router.get("/api/trades/status", tags=["trading"], responses=ok(TradesStatusOut))
async def trades_status(gw: GatewayDep) -> MsgspecResponse:
    """Kill switch, pauses, the count of open positions, the last trading events."""
    models = gw.models
    return MsgspecResponse(
        {
            "kill": models.control.kill,
            "paused": models.control.paused(),
            "open_positions": len(models.trading.streams("position", exclude_types=CLOSED)),
            "last_events": models.trading.recent(limit=20),
        }
    )


@router.get("/api/risk/status", tags=["trading"], responses=ok(RiskStatusOut))
async def risk_status(gw: GatewayDep) -> MsgspecResponse:
    """The kill switch as requested and the risk service's latest event per subject."""
    models = gw.models
    return MsgspecResponse(
        {
            "kill": models.control.kill,
            "paused": models.control.paused(),
            "risk": models.trading.latest_by_subject("risk.>"),
        }
    )
