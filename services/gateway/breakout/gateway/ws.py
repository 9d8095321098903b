"""`/ws?subjects=feat.density.BTCUSDT,pos.>`: bus subjects streamed to a browser.

Auth is the API's: the bearer token in an `Authorization` header, or, since browsers cannot set
headers on a WebSocket, as the subprotocol pair `["bearer", <token>]`. A refused connection is
accepted and closed at once with a code a page can read: 4401 (no or wrong token), 4400 (a
malformed or not allow-listed subject), 4008 (dropped: too slow to keep up), 1013 (the bridge
already serves `BREAKOUT_GATEWAY_WS_MAX_CLIENTS` connections).

Frames are JSON text: first `{"type": "subscribed", "subjects": [...]}`, then one per event:
`{"subject", "kind", "type", "position", "event": <the stored envelope>}`; after the gateway
lost and regained NATS, `{"type": "resync", "reason"}` (frames may have been missed: reload).
"""

from __future__ import annotations

import asyncio
import contextlib

import msgspec
import structlog
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from breakout.gateway import metrics
from breakout.gateway.api.common import Gateway, token_ok
from breakout.gateway.hub import CLOSE_TOO_SLOW, Client, Hub
from breakout.gateway.patterns import PatternError, allowed_patterns

log = structlog.get_logger(__name__)
router = APIRouter()

CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_TRY_LATER = 1013  # RFC 6455 "try again later": the bridge is full
CLOSE_TIMEOUT_S = 1.0


def _presented_token(websocket: WebSocket) -> tuple[str | None, str | None]:
    """The token offered (header or subprotocol) and the subprotocol to answer with."""
    protocols = [p.strip() for p in websocket.scope.get("subprotocols", [])]
    if "bearer" in protocols:
        index = protocols.index("bearer")
        token = protocols[index + 1] if index + 1 < len(protocols) else None
        return token, "bearer"
    header = websocket.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return (value.strip() if scheme.lower() == "bearer" else None), None


async def _refuse(websocket: WebSocket, subprotocol: str | None, code: int, reason: str) -> None:
    metrics.WS_REFUSED.labels(str(code)).inc()
    await websocket.accept(subprotocol=subprotocol)
    await websocket.close(code=code, reason=reason.encode()[:120].decode(errors="ignore"))


@router.websocket("/ws")
async def bridge(websocket: WebSocket, subjects: str = "") -> None:
    """Stream the requested subjects until the client leaves or falls too far behind."""
    gw: Gateway = websocket.app.state.gateway
    hub: Hub = websocket.app.state.hub
    token, subprotocol = _presented_token(websocket)
    if not gw.settings.reads_public and not token_ok(gw.settings, token):
        await _refuse(websocket, subprotocol, CLOSE_UNAUTHORIZED, "missing or wrong bearer token")
        return
    try:
        patterns = allowed_patterns(
            subjects.split(","), gw.settings.ws_allow, gw.settings.ws_max_patterns
        )
    except PatternError as exc:
        await _refuse(websocket, subprotocol, CLOSE_BAD_REQUEST, str(exc))
        return
    if len(hub.clients) >= gw.settings.ws_max_clients:
        # Each client may hold a queue of frames: the number of them bounds the memory.
        await _refuse(websocket, subprotocol, CLOSE_TRY_LATER, "too many clients, try later")
        return
    await websocket.accept(subprotocol=subprotocol)
    client = hub.join(patterns)
    try:
        hello = {"type": "subscribed", "subjects": patterns}
        await websocket.send_text(msgspec.json.encode(hello).decode())
        await _serve(websocket, client)
    finally:
        hub.leave(client)


async def _serve(websocket: WebSocket, client: Client) -> None:
    async def write() -> None:
        while True:
            text = await client.queue.get()
            await websocket.send_text(text)
            client.sent += 1
            metrics.WS_FRAMES.inc()

    async def read() -> None:
        # Nothing is expected from the client; reading notices when it goes away.
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass

    tasks = [
        asyncio.create_task(write()),
        asyncio.create_task(read()),
        asyncio.create_task(client.dropped.wait()),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(
                asyncio.CancelledError, WebSocketDisconnect, RuntimeError, OSError
            ):
                await task
    if client.dropped.is_set():
        log.warning("websocket client dropped as too slow", patterns=client.patterns)
        # The client is not reading: its close handshake may never complete. Give it a moment,
        # then let the server abort the connection when this handler returns.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                websocket.close(code=CLOSE_TOO_SLOW, reason="too slow: fell behind, dropped"),
                CLOSE_TIMEOUT_S,
            )
