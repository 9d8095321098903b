"""Each service's own HTTP face: `/health` (liveness with its components' state) and `/metrics`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from prometheus_client import make_asgi_app

HealthCheck = Callable[[], Mapping[str, Any]]
"""A component's report: must include `ok: bool`; anything else is shown as is."""


def health_app(service: str, checks: Mapping[str, HealthCheck]) -> FastAPI:
    """An ASGI app answering `/health` (503 when a component is not ok) and `/metrics`."""
    app = FastAPI(title=f"breakout {service}", docs_url=None, redoc_url=None)

    @app.get("/health")
    def health() -> JSONResponse:
        components = {name: dict(check()) for name, check in checks.items()}
        ok = all(bool(c.get("ok")) for c in components.values())
        body = {"service": service, "ok": ok, "components": components}
        return JSONResponse(body, status_code=200 if ok else 503)

    app.mount("/metrics", make_asgi_app())
    return app


async def serve_health(app: FastAPI, host: str, port: int, stopping: asyncio.Event) -> None:
    """Serve `app` until `stopping` is set."""
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    await stopping.wait()
    server.should_exit = True
    await task
