"""`/api/features/*` and `/api/liquidity/levels`: the latest features of a symbol."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, Path

from breakout.common.events import (
    ActivityDropped,
    ActivityRecovered,
    LevelsUpdated,
    LiquidityLevels,
    TradeActivity,
)
from breakout.gateway.api.common import (
    SYMBOL_PATTERN,
    Envelope,
    GatewayDep,
    MsgspecResponse,
    Symbol,
    not_found,
    ok,
    require_read_access,
)
from breakout.gateway.readmodels.density import Wall

router = APIRouter(tags=["features"], dependencies=[Depends(require_read_access)])


# The `*Out` structs document the answers (OpenAPI); routes encode recorded events directly.


class ActivityOut(msgspec.Struct, kw_only=True):
    """The latest trade statistics and whether activity is currently dropped."""

    symbol: str
    activity: Envelope[TradeActivity] | None
    state: Envelope[ActivityDropped | ActivityRecovered] | None
    dropped: bool


class DensityOut(msgspec.Struct, kw_only=True):
    """Walls standing in the book now, and the last ones that went."""

    symbol: str
    active: list[Wall]
    removed: list[Wall]


class MicrostructureOut(msgspec.Struct, kw_only=True):
    """Everything the features service last said about a symbol, by kind."""

    symbol: str
    as_of_position: int
    features: dict[str, Envelope[Any]]
    walls: list[Wall]


@router.get("/api/features/symbols", responses=ok(list[str]))
async def feature_symbols(gw: GatewayDep) -> MsgspecResponse:
    """Symbols with features."""
    return MsgspecResponse(gw.models.features.symbols())


@router.get("/api/features/levels", responses=ok(Envelope[LevelsUpdated]))
async def levels(gw: GatewayDep, symbol: Symbol) -> MsgspecResponse:
    """The symbol's latest Donchian levels (resistance, support, cascades)."""
    found = gw.models.features.get(symbol, "levels")
    if found is None:
        raise not_found(f"no levels recorded for {symbol}")
    return MsgspecResponse(found)


@router.get("/api/features/activity", responses=ok(ActivityOut))
async def activity(gw: GatewayDep, symbol: Symbol) -> MsgspecResponse:
    """The symbol's latest trade activity and drop state."""
    board = gw.models.features
    latest, state = board.get(symbol, "activity"), board.get(symbol, "activity_state")
    if latest is None and state is None:
        raise not_found(f"no activity recorded for {symbol}")
    dropped = state is not None and isinstance(state.data, ActivityDropped)
    return MsgspecResponse(
        {"symbol": symbol, "activity": latest, "state": state, "dropped": dropped}
    )


@router.get("/api/features/density", responses=ok(DensityOut))
async def density(gw: GatewayDep, symbol: Symbol) -> MsgspecResponse:
    """Walls in the symbol's book (empty lists when none was ever seen)."""
    walls = gw.models.density
    return MsgspecResponse(
        DensityOut(symbol=symbol, active=walls.active(symbol), removed=walls.removed(symbol))
    )


@router.get("/api/features/microstructure/{symbol}", responses=ok(MicrostructureOut))
async def microstructure(
    gw: GatewayDep, symbol: Annotated[str, Path(pattern=SYMBOL_PATTERN)]
) -> MsgspecResponse:
    """Every latest feature of the symbol and its standing walls."""
    features = gw.models.features.all_of(symbol)
    walls = gw.models.density.active(symbol)
    if not features and not gw.models.density.known(symbol):
        raise not_found(f"no features recorded for {symbol}")
    position = max([e.position for e in features.values()] + [w.position for w in walls] + [0])
    return MsgspecResponse(
        {"symbol": symbol, "as_of_position": position, "features": features, "walls": walls}
    )


@router.get("/api/liquidity/levels", responses=ok(Envelope[LiquidityLevels]))
async def liquidity_levels(gw: GatewayDep, symbol: Symbol) -> MsgspecResponse:
    """Session highs/lows, prior day and book zones of the symbol."""
    found = gw.models.features.get(symbol, "liquidity")
    if found is None:
        raise not_found(f"no liquidity levels recorded for {symbol}")
    return MsgspecResponse(found)
