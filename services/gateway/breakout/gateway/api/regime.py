"""`/api/regime/*`, `/api/capital-flow/current` and `/api/news/*`."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from fastapi import APIRouter, Depends, Query

from breakout.common.events import (
    CapitalFlowChanged,
    MacroFeedFailed,
    MacroFeedRecovered,
    MacroObserved,
    NewsClassified,
    NewsObserved,
    RegimeChanged,
    RegimeFreshnessChanged,
    RegimeHeld,
)
from breakout.common.events.regime import RegimeInputs, RegimeState
from breakout.gateway.api.common import (
    Envelope,
    GatewayDep,
    Limit,
    MsgspecResponse,
    not_found,
    ok,
    require_read_access,
)

router = APIRouter(dependencies=[Depends(require_read_access)])

# The `*Out` structs document the answers (OpenAPI); routes encode recorded events directly.


class RegimeCurrentOut(msgspec.Struct, kw_only=True):
    """The regime in force, whether it is stale, and the decision that set it."""

    state: RegimeState
    stale: bool | None
    decision: Envelope[RegimeChanged]
    freshness: Envelope[RegimeFreshnessChanged] | None


class RegimeStatusOut(msgspec.Struct, kw_only=True):
    """The last decision, hold and freshness; each macro series' last value and feed health."""

    changed: Envelope[RegimeChanged] | None
    held: Envelope[RegimeHeld] | None
    freshness: Envelope[RegimeFreshnessChanged] | None
    macro: dict[str, Envelope[MacroObserved]]
    feeds: dict[str, Envelope[MacroFeedFailed | MacroFeedRecovered]]


class RegimeTrendsOut(msgspec.Struct, kw_only=True):
    """The trends and news score of the latest regime decision (changed or held)."""

    decided_ts_ms: int
    inputs: RegimeInputs


@router.get("/api/regime/current", tags=["regime"], responses=ok(RegimeCurrentOut))
async def regime_current(gw: GatewayDep) -> MsgspecResponse:
    """The regime in force."""
    board = gw.models.regime
    if board.changed is None:
        raise not_found("no regime decided yet")
    data = board.changed.data
    assert isinstance(data, RegimeChanged)
    return MsgspecResponse(
        {
            "state": data.state,
            "stale": board.stale(),
            "decision": board.changed,
            "freshness": board.freshness,
        }
    )


@router.get("/api/regime/status", tags=["regime"], responses=ok(RegimeStatusOut))
async def regime_status(gw: GatewayDep) -> MsgspecResponse:
    """Decisions, holds, freshness and the feeds behind them."""
    board = gw.models.regime
    return MsgspecResponse(
        {
            "changed": board.changed,
            "held": board.held,
            "freshness": board.freshness,
            "macro": board.macro,
            "feeds": board.feeds,
        }
    )


@router.get("/api/regime/trends", tags=["regime"], responses=ok(RegimeTrendsOut))
async def regime_trends(gw: GatewayDep) -> MsgspecResponse:
    """DXY and BTC dominance trends and the news score, as of the latest decision."""
    decision = gw.models.regime.last_decision
    if decision is None:
        raise not_found("no regime decision yet")
    data = decision.data
    assert isinstance(data, RegimeChanged | RegimeHeld)
    return MsgspecResponse({"decided_ts_ms": data.decided_ts_ms, "inputs": data.inputs})


@router.get(
    "/api/capital-flow/current", tags=["regime"], responses=ok(Envelope[CapitalFlowChanged])
)
async def capital_flow(gw: GatewayDep) -> MsgspecResponse:
    """Where capital is rotating (from BTC dominance momentum)."""
    flow = gw.models.regime.flow
    if flow is None:
        raise not_found("no capital-flow decision yet")
    return MsgspecResponse(flow)


@router.get("/api/news/latest", tags=["news"], responses=ok(list[Envelope[NewsObserved]]))
async def news_latest(gw: GatewayDep, limit: Limit = 50) -> MsgspecResponse:
    """Articles as delivered, newest first."""
    return MsgspecResponse(list(gw.models.news.observed)[:limit])


@router.get("/api/news/classified", tags=["news"], responses=ok(list[Envelope[NewsClassified]]))
async def news_classified(
    gw: GatewayDep,
    limit: Limit = 50,
    impact: Annotated[Literal["HIGH", "MEDIUM", "LOW"] | None, Query()] = None,
) -> MsgspecResponse:
    """How the classifier read each article, newest first (optionally one impact)."""
    found = [
        e
        for e in gw.models.news.classified
        if impact is None or (isinstance(e.data, NewsClassified) and e.data.impact == impact)
    ]
    return MsgspecResponse(found[:limit])


@router.get("/api/news/signals", tags=["news"], responses=ok(list[Envelope[NewsClassified]]))
async def news_signals(gw: GatewayDep) -> MsgspecResponse:
    """Classified news that still counts for the regime (not expired), newest first."""
    return MsgspecResponse(gw.models.news.active())
