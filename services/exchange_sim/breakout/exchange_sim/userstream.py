"""The websocket API's user data stream (`/ws-api/v3`): our order and balance updates.

ccxt.pro watches spot orders and balances this way: it sends a signed
`userDataStream.subscribe.signature` request, and then receives
`{"subscriptionId": n, "event": {"e": "executionReport", ...}}` for every change of the
account's orders, each followed by an `outboundAccountPosition` with the balances involved.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import msgspec
from aiohttp import WSMsgType, web

from breakout.exchange_sim import order_wire
from breakout.exchange_sim.errors import BinanceError
from breakout.exchange_sim.signing import verify_ws_params
from breakout.exchange_sim.state import SimState, state_of
from breakout.exchange_sim.ws import Connection, UserStreams, encode, write_loop


def publish_user_events(state: SimState) -> None:
    """Send our order changes since the last call to the subscribers of their accounts."""
    matching = state.exchange.matching
    for event in matching.drain_events():
        subscribers = state.user_streams.by_key.get(event.order.api_key)
        if not subscribers:
            continue
        spec = state.exchange.feed(event.order.symbol).spec
        account = matching.accounts.by_key[event.order.api_key]
        report = encode(order_wire.execution_report(spec, event))
        position = order_wire.account_position(account, [spec.base, spec.quote], event.event_ms)
        state.user_streams.send(event.order.api_key, [report, encode(position)])


def _reply(request_id: Any, result: Any = None, error: BinanceError | None = None) -> str:
    if error is not None:
        return encode({"id": request_id, "status": error.status, "error": error.body()})
    return encode({"id": request_id, "status": 200, "result": result if result is not None else {}})


def _handle(state: SimState, streams: UserStreams, conn: Connection, request: Any) -> str:
    if not isinstance(request, dict) or not isinstance(request.get("method"), str):
        return _reply(None, error=BinanceError(-1102, "Mandatory parameter 'method' was not sent."))
    request_id, method = request.get("id"), request["method"]
    params = request.get("params") or {}
    try:
        if method == "userDataStream.subscribe.signature":
            account = verify_ws_params(state.exchange.matching.accounts, params, state.wall_ms())
            return _reply(request_id, {"subscriptionId": streams.subscribe(account.api_key, conn)})
        if method == "userDataStream.unsubscribe":
            streams.unsubscribe(conn, params.get("subscriptionId"))
            return _reply(request_id)
        if method == "ping":
            return _reply(request_id)
        if method == "time":
            return _reply(request_id, {"serverTime": state.exchange.now_ms})
        raise BinanceError(-1100, f"Unknown method '{method}'.")
    except BinanceError as exc:
        return _reply(request_id, error=exc)


async def ws_api_handler(request: web.Request) -> web.WebSocketResponse:
    """`/ws-api/v3`: requests answered by id; the user data stream once subscribed."""
    state = state_of(request)
    streams = state.user_streams
    ws = web.WebSocketResponse(heartbeat=20.0)
    await ws.prepare(request)
    conn = Connection(ws, combined=False)
    state.hub.add(conn)
    writer = asyncio.create_task(write_loop(conn, state.stall_remaining_ms))
    try:
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            try:
                body = msgspec.json.decode(msg.data)
            except msgspec.DecodeError:
                conn.offer(None, _reply(None, error=BinanceError(-1100, "Invalid JSON.")))
                continue
            conn.offer(None, _handle(state, streams, conn, body))
    finally:
        streams.unsubscribe(conn)
        state.hub.remove(conn)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
    return ws
