"""`/health`: the gateway's own components and every configured service's `/health`."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx
import msgspec
from fastapi import APIRouter

from breakout.gateway.api.common import GatewayDep, MsgspecResponse, ok

router = APIRouter(tags=["health"])


class HealthOut(msgspec.Struct, kw_only=True):
    """`ok` is true when every component and every service is ok."""

    service: str
    ok: bool
    components: dict[str, dict[str, Any]]
    services: dict[str, dict[str, Any]]


async def _probe(client: httpx.AsyncClient, name: str, base: str) -> tuple[str, dict[str, Any]]:
    # A service's /health answers 503 with its body when a component is down: keep the body.
    try:
        response = await client.get(f"{base}/health")
    except httpx.HTTPError as exc:
        return name, {"ok": False, "url": base, "error": f"{type(exc).__name__}: {exc}"[:300]}
    try:
        body: Any = response.json()
    except ValueError:
        body = {"raw": response.text[:300]}
    report = body if isinstance(body, dict) else {"body": body}
    ok_ = response.status_code == 200 and bool(report.get("ok", True))
    return name, {**report, "ok": ok_, "url": base, "status": response.status_code}


async def probe_services(services: Mapping[str, str], timeout_s: float) -> dict[str, Any]:
    """Every service's `/health`, concurrently; an unreachable one is reported, not raised."""
    if not services:
        return {}
    async with httpx.AsyncClient(timeout=timeout_s) as client:
        found = await asyncio.gather(*(_probe(client, n, u) for n, u in services.items()))
    return dict(found)


@router.get(
    "/health",
    responses={**ok(HealthOut), 503: {"description": "something is not ok (same body)"}},
)
async def health(gw: GatewayDep) -> MsgspecResponse:
    """The gateway's read models, bridge and store, and each service's own `/health`."""
    components = {name: dict(check()) for name, check in gw.checks.items()}
    try:
        head = await asyncio.wait_for(gw.store.head_position(), gw.settings.health_timeout_s)
        components["store"] = {"ok": True, "head": head}
    except Exception as exc:  # reported as the store being down, not raised
        components["store"] = {"ok": False, "error": repr(exc)}
    services = await probe_services(gw.settings.services, gw.settings.health_timeout_s)
    all_ok = all(bool(c.get("ok")) for c in [*components.values(), *services.values()])
    body = {"service": "gateway", "ok": all_ok, "components": components, "services": services}
    return MsgspecResponse(body, status_code=200 if all_ok else 503)
