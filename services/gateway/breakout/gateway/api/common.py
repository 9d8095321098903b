"""What every route shares: the gateway's parts, auth, msgspec responses and their schemas."""

from __future__ import annotations

import asyncio
import hmac
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import msgspec
from fastapi import Depends, HTTPException, Query, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from breakout.common.clock import Clock, LiveClock
from breakout.common.runtime.health import HealthCheck
from breakout.common.store.port import EventStore
from breakout.gateway.config import GatewaySettings
from breakout.gateway.readmodels.registry import ReadModels

T = TypeVar("T")

SYMBOL_PATTERN = r"^[A-Za-z0-9_\-]{1,40}$"
Symbol = Annotated[str, Query(pattern=SYMBOL_PATTERN, description="e.g. BTCUSDT")]
Limit = Annotated[int, Query(ge=1, le=1000)]


@dataclass
class Gateway:
    """Everything a route needs, built once by the composition root (`app.bootstrap`)."""

    settings: GatewaySettings
    store: EventStore
    models: ReadModels
    clock: Clock = field(default_factory=LiveClock)
    checks: dict[str, HealthCheck] = field(default_factory=dict)
    # Operator commands one at a time: a replay check and its append never interleave.
    ctl_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def gateway(request: Request) -> Gateway:
    """The gateway this request is served by."""
    found: Gateway = request.app.state.gateway
    return found


GatewayDep = Annotated[Gateway, Depends(gateway)]

_bearer = HTTPBearer(auto_error=False, description="BREAKOUT_API_TOKEN")


def token_ok(settings: GatewaySettings, presented: str | None) -> bool:
    """Whether `presented` is the API token (constant-time comparison)."""
    if presented is None or settings.api_token is None:
        return False
    return hmac.compare_digest(presented.encode(), settings.api_token.encode())


def require_token(
    gw: GatewayDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Refuse (401) a request without the right bearer token (503 if none is configured)."""
    if not gw.settings.control_enabled:
        raise HTTPException(
            status_code=503,
            detail="control endpoints are off: no BREAKOUT_API_TOKEN (or GATEWAY_TOKEN) is set",
        )
    if not token_ok(gw.settings, credentials.credentials if credentials else None):
        raise HTTPException(
            status_code=401,
            detail="missing or wrong bearer token (Authorization: Bearer $BREAKOUT_API_TOKEN)",
            headers={"WWW-Authenticate": "Bearer"},
        )


class TokenFirstRoute(APIRoute):
    """A route that checks the bearer token before FastAPI reads and parses the body.

    FastAPI parses a JSON body before it runs any dependency, so a route guarded by
    `require_token` alone answers a caller without the token 422 (with the body's errors) for a
    body that is not JSON, and 401 otherwise. Checking first answers every such caller 401.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler, behind the token check."""
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            require_token(gateway(request), await _bearer(request))
            return await handler(request)

        return checked


def require_read_access(
    gw: GatewayDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """As `require_token`, unless reads are public (asked for, or no token configured)."""
    if not gw.settings.reads_public:
        require_token(gw, credentials)


class MsgspecResponse(Response):
    """JSON encoded by msgspec (events, structs and builtins alike)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Encode `content`."""
        return msgspec.json.encode(content)


def not_found(what: str) -> HTTPException:
    """A 404 whose message says what is missing."""
    return HTTPException(status_code=404, detail=what)


class Envelope(msgspec.Struct, Generic[T], kw_only=True):
    """A recorded event as the API returns it (the same fields as on the bus)."""

    position: int
    stream: str
    version: int
    event_id: uuid.UUID
    type: str
    occurred_at: datetime
    recorded_at: datetime
    producer: str
    causation_id: uuid.UUID | None = None
    correlation_id: uuid.UUID | None = None
    data: T


# -- OpenAPI: response schemas from the msgspec types themselves --------------------------

_components: dict[str, Any] = {}


def schema_of(tp: Any) -> dict[str, Any]:
    """The JSON schema of `tp` for OpenAPI, its named parts kept as components."""
    (schema,), components = msgspec.json.schema_components(
        [tp], ref_template="#/components/schemas/{name}"
    )
    _components.update(components)
    return schema


def ok(tp: Any, description: str = "OK") -> dict[int | str, dict[str, Any]]:
    """A route's `responses=` documenting a 200 of type `tp`."""
    return {
        200: {
            "description": description,
            "content": {"application/json": {"schema": schema_of(tp)}},
        }
    }


def components() -> dict[str, Any]:
    """Every schema component collected so far."""
    return dict(_components)
