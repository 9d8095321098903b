"""Websocket connections and their subscriptions, Binance style.

Each connection has a bounded outbound queue drained by its own writer task, so one slow
client never holds up the market clock; a client whose queue overflows is disconnected, as
Binance disconnects slow consumers. Control requests (SUBSCRIBE, UNSUBSCRIBE,
LIST_SUBSCRIPTIONS, SET_PROPERTY, GET_PROPERTY) are answered on the same queue, so an
acknowledgement never overtakes data sent before it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import msgspec
from aiohttp import WSCloseCode, web

QUEUE_LIMIT = 50_000
_encoder = msgspec.json.Encoder()


class Connection:
    """One websocket client: its streams and outbound queue."""

    def __init__(self, ws: web.WebSocketResponse, *, combined: bool) -> None:
        self.ws = ws
        self.combined = combined
        self.streams: set[str] = set()
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=QUEUE_LIMIT)
        self.overflowed = False

    def offer(self, stream: str | None, text: str) -> None:
        """Queue a message; on overflow mark the connection for closing."""
        if self.overflowed:
            return
        if stream is not None and self.combined:
            text = f'{{"stream":"{stream}","data":{text}}}'
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.overflowed = True


class WsHub:
    """Every open connection, indexed by the streams it listens to."""

    def __init__(self) -> None:
        self.connections: set[Connection] = set()
        self.by_stream: dict[str, set[Connection]] = {}
        self.accepted = 0

    def wanted(self) -> set[str]:
        """Streams with at least one listener."""
        return set(self.by_stream)

    def add(self, conn: Connection) -> None:
        """Register a new connection."""
        self.connections.add(conn)
        self.accepted += 1

    def remove(self, conn: Connection) -> None:
        """Forget a closed connection."""
        self.connections.discard(conn)
        self.unsubscribe(conn, list(conn.streams))

    def subscribe(self, conn: Connection, streams: list[str]) -> None:
        """Add streams to a connection."""
        for stream in streams:
            conn.streams.add(stream)
            self.by_stream.setdefault(stream, set()).add(conn)

    def unsubscribe(self, conn: Connection, streams: list[str]) -> None:
        """Remove streams from a connection."""
        for stream in streams:
            conn.streams.discard(stream)
            listeners = self.by_stream.get(stream)
            if listeners is not None:
                listeners.discard(conn)
                if not listeners:
                    del self.by_stream[stream]

    def publish(self, messages: list[tuple[str, str]]) -> None:
        """Queue market data to every listener of each message's stream."""
        for stream, text in messages:
            for conn in self.by_stream.get(stream, ()):
                conn.offer(stream, text)

    async def drop_all(self) -> int:
        """Close every connection (clients see the socket go away); returns how many."""
        conns = list(self.connections)
        for conn in conns:
            with contextlib.suppress(Exception):
                await conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"dropped by fault")
        return len(conns)


class UserStreams:
    """Subscriptions of the user data stream: per API key, the connections and their ids."""

    def __init__(self) -> None:
        self.by_key: dict[str, dict[Connection, int]] = {}
        self._next_id = 0

    def subscribe(self, api_key: str, conn: Connection) -> int:
        """Subscribe a connection to an account's updates; returns the subscription id."""
        subscription_id = self._next_id
        self._next_id += 1
        self.by_key.setdefault(api_key, {})[conn] = subscription_id
        return subscription_id

    def unsubscribe(self, conn: Connection, subscription_id: int | None = None) -> None:
        """Drop a connection's subscription (one id, or all of them)."""
        for subscribers in self.by_key.values():
            if conn in subscribers and subscription_id in (None, subscribers[conn]):
                del subscribers[conn]

    def send(self, api_key: str, events: list[str]) -> None:
        """Queue JSON events to every subscription of an account, wrapped with its id."""
        for conn, subscription_id in self.by_key.get(api_key, {}).items():
            for event in events:
                conn.offer(None, f'{{"subscriptionId":{subscription_id},"event":{event}}}')


async def write_loop(conn: Connection, stall_remaining_ms: Callable[[], int]) -> None:
    """Drain a connection's queue; hold while a stall fault is in force (replies too)."""
    with contextlib.suppress(ConnectionError, RuntimeError):
        while not conn.ws.closed:
            text = await conn.queue.get()
            stall_ms = stall_remaining_ms()
            if stall_ms > 0:  # a stall only ends with time
                await asyncio.sleep(stall_ms / 1000)
            await conn.ws.send_str(text)


def control_reply(
    hub: WsHub, conn: Connection, request: Any, resolve: Callable[[str], str | None]
) -> dict[str, Any]:
    """Answer one control request (`resolve` maps a stream name to its canonical form)."""
    if not isinstance(request, dict) or "method" not in request:
        return {"error": {"code": 2, "msg": "Invalid request: method is required"}, "id": None}
    request_id = request.get("id")
    method = request["method"]
    params = request.get("params", [])
    if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
        if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
            return {
                "error": {"code": 2, "msg": "Invalid request: params must be strings"},
                "id": request_id,
            }
        names = [resolve(p) for p in params]
        if any(n is None for n in names):
            bad = [p for p, n in zip(params, names, strict=True) if n is None]
            return {
                "error": {"code": 2, "msg": f"Invalid request: unknown stream {bad[0]}"},
                "id": request_id,
            }
        streams = [n for n in names if n is not None]
        if method == "SUBSCRIBE":
            hub.subscribe(conn, streams)
        else:
            hub.unsubscribe(conn, streams)
        return {"result": None, "id": request_id}
    if method == "LIST_SUBSCRIPTIONS":
        return {"result": sorted(conn.streams), "id": request_id}
    if method == "SET_PROPERTY":
        if isinstance(params, list) and params[:1] == ["combined"] and len(params) == 2:
            conn.combined = bool(params[1])
            return {"result": None, "id": request_id}
        return {"error": {"code": 0, "msg": "Unknown property"}, "id": request_id}
    if method == "GET_PROPERTY":
        if params == ["combined"]:
            return {"result": conn.combined, "id": request_id}
        return {"error": {"code": 0, "msg": "Unknown property"}, "id": request_id}
    return {
        "error": {"code": 2, "msg": f"Invalid request: unknown method {method}"},
        "id": request_id,
    }


def encode(payload: dict[str, Any]) -> str:
    """JSON text of a control reply."""
    return _encoder.encode(payload).decode()
