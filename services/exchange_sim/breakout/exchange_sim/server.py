"""The exchange simulator's HTTP and websocket server (aiohttp): the shell around SimExchange.

It owns the only clock: a background task advances the simulated exchange in fixed steps to
`sim_start + (wall - wall_start) * speed`, catching up when it falls behind, and hands each
step's messages to the websocket hub. REST answers read the exchange as it stands.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import msgspec
import structlog
from aiohttp import WSMsgType, web

from breakout.exchange_sim import control, rest_private, rest_public
from breakout.exchange_sim.errors import BinanceError
from breakout.exchange_sim.exchange import SimExchange
from breakout.exchange_sim.state import STATE, SimState, state_of, wall_clock_ms
from breakout.exchange_sim.streams import StreamPublisher, parse_stream
from breakout.exchange_sim.userstream import publish_user_events, ws_api_handler
from breakout.exchange_sim.weights import WeightMeter, request_weight
from breakout.exchange_sim.ws import Connection, control_reply, encode, write_loop

log = structlog.get_logger("exchange_sim")

MAX_CATCH_UP_STEPS = 50
HEARTBEAT_S = 20.0


@web.middleware
async def binance_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Rate limits (faults and request weight) before the handler, Binance errors after it."""
    state = state_of(request)
    if not request.path.startswith("/api/v3/"):
        return await _answer(request, handler)
    limited = state.faults.rate_limited(state.wall_ms())
    if limited is not None:
        msg = (
            "Way too much request weight used; IP banned until later."
            if limited.status == 418
            else "Too many requests; current limit is 6000 requests per minute."
        )
        return web.json_response(
            {"code": -1003, "msg": msg},
            status=limited.status,
            headers={"Retry-After": str(limited.retry_after_s)},
        )
    weight = request_weight(request.method, request.path[len("/api/v3/") :], request.query)
    used, retry_after_s = state.weights.charge(request.remote or "local", weight, state.wall_ms())
    used_header = {"X-MBX-USED-WEIGHT-1M": str(used)}
    if retry_after_s is not None:
        limit = state.weights.limit_per_minute
        msg = f"Too much request weight used; current limit is {limit} request weight per 1 MINUTE."
        return web.json_response(
            {"code": -1003, "msg": msg},
            status=429,
            headers={"Retry-After": str(retry_after_s), **used_header},
        )
    response = await _answer(request, handler)
    response.headers.update(used_header)
    return response


async def _answer(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except BinanceError as exc:
        return web.json_response(exc.body(), status=exc.status)
    except web.HTTPException:
        raise
    except Exception:
        # A bug, not a client error: logged with its traceback, answered as Binance does.
        log.exception("exchange_sim.handler_failed", path=request.path, method=request.method)
        return web.json_response(
            {"code": -1000, "msg": "An unknown error occurred while processing the request."},
            status=500,
        )


async def _advance(state: SimState) -> None:
    """Run due steps (at most MAX_CATCH_UP_STEPS), one at a time, and publish their messages.

    The loop is given back between steps: with hundreds of symbols one step takes tens of
    milliseconds, and a catch-up of many steps run in one go held every REST answer (ccxt's
    `exchangeInfo` and klines timed out) for seconds.
    """
    for _ in range(MAX_CATCH_UP_STEPS):
        if not await _advance_one(state):
            return
        await asyncio.sleep(0)


async def _advance_one(state: SimState) -> bool:
    """Run one due step and publish its messages; False when no step was due."""
    assert state.publisher is not None
    updates = state.exchange.advance_to(state.sim_target_ms(), max_steps=1)
    if not updates:
        return False
    publish_user_events(state)  # our resting orders filled by the flow
    state.steps_run += len(updates) // max(1, len(state.exchange.feeds))
    if state.faults.stalled(state.wall_ms()):
        return True  # a stalled feed sends nothing: the data of these steps is lost to clients
    wanted = state.hub.wanted()
    if wanted:
        state.hub.publish(state.publisher.messages(updates, wanted))
    for conn in [c for c in state.hub.connections if c.overflowed]:
        with contextlib.suppress(Exception):
            await conn.ws.close(code=1008, message=b"slow consumer")
    return True


async def _run_clock(state: SimState) -> None:
    exchange = state.exchange
    while True:
        await _advance(state)
        behind_ms = state.sim_target_ms() - exchange.now_ms
        wait_sim_ms = exchange.step_ms - behind_ms
        await asyncio.sleep(max(0.0, wait_sim_ms / state.speed / 1000))


async def _clock_context(app: web.Application) -> AsyncIterator[None]:
    state = app[STATE]
    state.clock_task = asyncio.create_task(_run_clock(state), name="exchange-sim-clock")
    yield
    state.clock_task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await state.clock_task
    await state.hub.drop_all()


def _initial_streams(request: web.Request, state: SimState) -> tuple[list[str], bool]:
    """Streams named in the URL (`/ws/a@trade/b@depth`, `/stream?streams=a/b`) and combined."""
    listed = set(state.exchange.feeds)
    tail = request.match_info.get("tail", "")
    combined = request.path.startswith("/stream") and "streams" in request.query
    names = request.query.get("streams", "") if combined else tail
    found = [parse_stream(n, listed) for n in names.split("/") if n and "@" in n]
    return [n for n in found if n is not None], combined


async def ws_handler(request: web.Request) -> web.WebSocketResponse:
    """A Binance market-stream websocket (raw or combined)."""
    state = state_of(request)
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=1 << 20)
    try:
        await ws.prepare(request)
    except ConnectionResetError:  # aiohttp's ClientConnectionResetError is one
        # The client gave up before the handshake was answered (a busy server): not a bug.
        log.info("exchange_sim.ws_client_gone", path=request.path)
        return ws
    streams, combined = _initial_streams(request, state)
    conn = Connection(ws, combined=combined)
    state.hub.add(conn)
    state.hub.subscribe(conn, streams)
    writer = asyncio.create_task(write_loop(conn, state.stall_remaining_ms))
    listed = set(state.exchange.feeds)
    try:
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            try:
                request_body = msgspec.json.decode(msg.data)
            except msgspec.DecodeError:
                reply = {"error": {"code": 3, "msg": "Invalid JSON"}, "id": None}
            else:
                reply = control_reply(
                    state.hub, conn, request_body, lambda n: parse_stream(n, listed)
                )
            conn.offer(None, encode(reply))
    finally:
        state.hub.remove(conn)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
    return ws


def build_app(
    exchange: SimExchange,
    *,
    speed: float = 1.0,
    wall_ms: Callable[[], int] = wall_clock_ms,
    run_clock: bool = True,
    configure: Callable[[web.Application], None] | None = None,
    weight_limit: int | None = None,
) -> web.Application:
    """The aiohttp application serving `exchange` (Binance REST + websockets + /_sim control).

    `configure` may mount more routes on the same server (the macro and news feeds).
    `weight_limit` enforces Binance's request weight per minute (None: count, never refuse).
    """
    if speed <= 0:
        raise ValueError("speed must be positive")
    state = SimState(
        exchange=exchange,
        speed=speed,
        wall_ms=wall_ms,
        wall_start_ms=wall_ms(),
        sim_start_ms=exchange.now_ms,
    )
    state.publisher = StreamPublisher(exchange)
    state.weights = WeightMeter(limit_per_minute=weight_limit)
    app = web.Application(middlewares=[binance_errors])
    app[STATE] = state
    rest_public.add_routes(app)
    rest_private.add_routes(app)
    control.add_routes(app)
    for path in ("/ws", "/ws/{tail:.*}", "/stream", "/stream/ws", "/stream/ws/{tail:.*}"):
        app.router.add_get(path, ws_handler)
    app.router.add_get("/ws-api/v3", ws_api_handler)
    if run_clock:
        app.cleanup_ctx.append(_clock_context)
    if configure is not None:
        configure(app)
    return app


async def serve(
    exchange: SimExchange,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    speed: float = 1.0,
    run_clock: bool = True,
    configure: Callable[[web.Application], None] | None = None,
    weight_limit: int | None = None,
) -> tuple[web.AppRunner, int]:
    """Start serving on host:port (0 picks a free port); returns the runner and the port.

    With `run_clock=False` the market stands still (tests that need a quiet exchange).
    """
    app = build_app(
        exchange, speed=speed, run_clock=run_clock, configure=configure, weight_limit=weight_limit
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        await runner.cleanup()
        raise
    site = web.SockSite(runner, sock)
    await site.start()
    bound = int(sock.getsockname()[1])
    log.info(
        "exchange_sim.listening", host=host, port=bound, symbols=len(exchange.feeds), speed=speed
    )
    return runner, bound
