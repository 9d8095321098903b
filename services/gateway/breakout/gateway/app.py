"""`breakout-gateway`: read models, REST API, WebSocket bridge and dashboard in one process.

    breakout-gateway run [--host 127.0.0.1] [--port 8080]

Infrastructure from DATABASE_URL / NATS_URL / BREAKOUT_BUS_PREFIX; the gateway's own settings
from the variables listed in `config`. Everything shares one event loop: the read models'
process applications apply events between requests, so an answer never sees half an event.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import structlog
import typer
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from prometheus_client import make_asgi_app

from breakout.common.bus.nats import NatsBus
from breakout.common.bus.port import Bus
from breakout.common.config import InfraSettings
from breakout.common.logging import configure_logging
from breakout.common.runtime.application import ProcessApplication, RuntimeConfig
from breakout.common.runtime.health import HealthCheck
from breakout.common.runtime.service import run_until_signalled
from breakout.common.store import InMemoryEventStore
from breakout.common.store.port import EventStore
from breakout.common.store.postgres import PostgresEventStore
from breakout.gateway import ui, ws
from breakout.gateway.api import control, events, features, health, regime, trading
from breakout.gateway.api.common import Gateway, components
from breakout.gateway.config import ConfigError, GatewaySettings
from breakout.gateway.hub import Hub
from breakout.gateway.nats_tap import NatsTap
from breakout.gateway.readmodels.registry import ReadModels
from breakout.gateway.server import HttpServer
from breakout.gateway.vendor import VendorCache

log = structlog.get_logger(__name__)
cli = typer.Typer(name="breakout-gateway", no_args_is_help=True, add_completion=False)

DESCRIPTION = """The operator's window into Breakout: read models of the event store, control
commands (recorded as `ctl.*` events), a WebSocket bridge of bus subjects (`/ws`) and the
dashboard (`/ui`). Authenticate with `Authorization: Bearer $BREAKOUT_API_TOKEN`."""


def create_app(gw: Gateway, hub: Hub, vendor: VendorCache) -> FastAPI:
    """The ASGI app over already-built parts (no I/O here)."""
    app = FastAPI(title="Breakout gateway", version="1", description=DESCRIPTION)
    app.state.gateway = gw
    app.state.hub = hub
    app.state.vendor = vendor
    for module in (features, regime, trading, events, control, health, ws, ui):
        app.include_router(module.router)
    app.mount("/metrics", make_asgi_app())
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(Exception, _internal_error)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            schema.setdefault("components", {}).setdefault("schemas", {}).update(components())
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


async def _invalid_request(request: Request, exc: Exception) -> Response:
    # FastAPI's own 422, rendered ASCII-safe: its errors echo the input, and JSON text may hold
    # a lone surrogate ("\ud800") that UTF-8 cannot encode; escaped, the 422 still goes out
    # instead of a 500 from rendering it.
    assert isinstance(exc, RequestValidationError)
    body = json.dumps({"detail": jsonable_encoder(exc.errors())}, ensure_ascii=True)
    return Response(body, status_code=422, media_type="application/json")


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    # A bug or an infrastructure fault: logged with its traceback, answered as JSON.
    log.error("request failed", path=request.url.path, exc_info=exc)
    return JSONResponse({"detail": f"internal error: {type(exc).__name__}"}, status_code=500)


@dataclass
class RunningGateway:
    """A gateway whose parts run on this loop (tests and the CLI use the same wiring)."""

    gateway: Gateway
    hub: Hub
    tap: NatsTap
    apps: list[ProcessApplication]
    server: HttpServer

    @property
    def url(self) -> str:
        """The HTTP base URL."""
        return self.server.url

    @property
    def components(self) -> list[Any]:
        """Everything that runs until stopped."""
        return [*self.apps, self.tap, self.server]


def build(
    settings: GatewaySettings,
    store: EventStore,
    bus: Bus,
    nats_url: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    runtime: RuntimeConfig | None = None,
    nats_user: str | None = None,
    nats_password: str | None = None,
) -> RunningGateway:
    """Wire read models, bridge and HTTP server (nothing started yet)."""
    models = ReadModels()
    apps: list[ProcessApplication] = []
    checks: dict[str, HealthCheck] = {}
    for model in models.all():
        app = ProcessApplication(settings.consumer(model.name), model, store, bus, config=runtime)
        apps.append(app)
        checks[f"readmodel.{model.name}"] = app.health
    hub = Hub(settings.ws_queue_frames)
    tap = NatsTap(
        nats_url, bus.prefix, settings.ws_allow, hub, user=nats_user, password=nats_password
    )
    checks["bridge"] = tap.health
    checks["websockets"] = hub.health
    gw = Gateway(settings=settings, store=store, models=models, checks=checks)
    server = HttpServer(create_app(gw, hub, VendorCache(settings.vendor_dir)), host, port)
    return RunningGateway(gateway=gw, hub=hub, tap=tap, apps=apps, server=server)


@asynccontextmanager
async def running(gateway: RunningGateway) -> AsyncIterator[RunningGateway]:
    """Run every component; yield once the bridge is subscribed and the server listens."""
    await gateway.tap.start()
    tasks = [asyncio.create_task(c.run()) for c in gateway.components]
    for task in tasks:
        task.add_done_callback(_report_failure)
    try:
        await gateway.server.started.wait()
        yield gateway
    finally:
        for component in gateway.components:
            component.stop()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    failures = [r for r in results if isinstance(r, Exception)]
    if failures:
        raise failures[0]


def _report_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("gateway component failed", exc_info=task.exception())


async def serve(settings: GatewaySettings, infra: InfraSettings, host: str, port: int) -> None:
    """Run the gateway until SIGTERM/SIGINT."""
    configure_logging("gateway")
    store = await PostgresEventStore.connect(infra.database_url)
    bus = await NatsBus.connect(
        infra.nats_url, prefix=infra.bus_prefix, user=infra.nats_user, password=infra.nats_password
    )
    try:
        await bus.ensure_stream()
        gateway = build(
            settings,
            store,
            bus,
            infra.nats_url,
            host=host,
            port=port,
            nats_user=infra.nats_user,
            nats_password=infra.nats_password,
        )
        await gateway.tap.start()
        if not settings.control_enabled:
            log.warning("no BREAKOUT_API_TOKEN: control endpoints off, reads open to anyone")
        log.info("gateway listening", url=f"http://{host}:{port}/ui")
        await run_until_signalled("gateway", gateway.components, gateway.gateway.checks)
    finally:
        await bus.close()
        await store.close()


@cli.command()
def run(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP port (API, /ws, /ui, /health, /metrics).")] = 8080,
) -> None:
    """Run the gateway until SIGTERM / Ctrl-C."""
    try:
        settings = GatewaySettings.from_env()
    except (ConfigError, ValueError) as exc:
        typer.echo(f"breakout-gateway: {exc}", err=True)
        raise typer.Exit(2) from exc
    asyncio.run(serve(settings, InfraSettings.from_env(), host, port))


@cli.command("openapi")
def print_openapi() -> None:
    """Print the OpenAPI document (JSON)."""
    gw = Gateway(
        settings=GatewaySettings(api_token=None),
        store=InMemoryEventStore(),
        models=ReadModels(),
    )
    app = create_app(gw, Hub(1), VendorCache(GatewaySettings(api_token=None).vendor_dir))
    typer.echo(json.dumps(app.openapi(), indent=2))


if __name__ == "__main__":
    cli()
