"""The WebSocket bridge over the real stack: auth and allow-list refusals, and 100 concurrent
clients of which one never reads: it is dropped, the gateway goes on, and the 99 others receive
every event, in store order."""

from __future__ import annotations

import asyncio
import json
import socket
from urllib.parse import quote

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from breakout.common.config import InfraSettings
from breakout.common.events import NewEvent, feat_stream
from breakout.gateway.hub import CLOSE_TOO_SLOW
from breakout.gateway.ws import CLOSE_BAD_REQUEST, CLOSE_TRY_LATER, CLOSE_UNAUTHORIZED
from tests.integration.gateway_support import TOKEN, GatewayStack, gateway_stack, until
from tests.unit.gateway import factories as f

pytestmark = pytest.mark.integration
SYMBOL = "WSUSDT"
CLIENTS = 100
BATCH = 50


def _ws_url(gw: GatewayStack, subjects: str) -> str:
    return gw.url.replace("http://", "ws://") + "/ws?subjects=" + quote(subjects)


async def _close_code(ws: ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed):
        while True:
            await ws.recv()
    return ws.close_code


async def test_refusals(infra: InfraSettings, bus_prefix: str) -> None:
    async with gateway_stack(infra, bus_prefix, ws_max_clients=1) as gw:
        url = _ws_url(gw, "feat.>")
        async with connect(url) as ws:
            assert await _close_code(ws) == CLOSE_UNAUTHORIZED
        async with connect(url, subprotocols=["bearer", "wrong-token-wrong-token"]) as ws:  # type: ignore[list-item]
            assert await _close_code(ws) == CLOSE_UNAUTHORIZED
        for subjects in ("md.trade.binance.BTCUSDT", ">", "feat..x", ""):
            async with connect(
                _ws_url(gw, subjects), additional_headers={"Authorization": f"Bearer {TOKEN}"}
            ) as ws:
                assert await _close_code(ws) == CLOSE_BAD_REQUEST, subjects
                assert ws.close_reason
        # Both ways of presenting the token work; the first frame confirms the subscription.
        async with connect(url, subprotocols=["bearer", TOKEN]) as ws:  # type: ignore[list-item]
            assert ws.subprotocol == "bearer"
            hello = json.loads(await ws.recv())
            assert hello == {"type": "subscribed", "subjects": ["feat.>"]}
            # The bridge is full (one client here): the next one is told to come back later.
            async with connect(url, subprotocols=["bearer", TOKEN]) as extra:  # type: ignore[list-item]
                assert await _close_code(extra) == CLOSE_TRY_LATER


def _slow_socket(port: int) -> socket.socket:
    # A tiny receive buffer and nobody reading: the server's writes back up quickly.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


async def _reader(ws: ClientConnection, received: list[int]) -> None:
    async for message in ws:  # ends when the test closes the connection
        frame = json.loads(message)
        if frame.get("kind") == "ACTIVITY":
            received.append(frame["position"])


async def _append_batch(gw: GatewayStack, start: int) -> list[int]:
    stream = feat_stream("activity", "binance", SYMBOL)
    events: list[NewEvent] = []
    for i in range(start, start + BATCH):
        ts = f.BASE_MS + i
        events.append(f.new(f.activity(SYMBOL, ts, 100.0 + i, windows=12), ts, i))
    await gw.stack.store.append(stream, events)
    recorded = await gw.stack.store.read_stream(stream, after_version=start)
    return [e.position for e in recorded]


async def test_hundred_clients_one_slow(infra: InfraSettings, bus_prefix: str) -> None:
    async with gateway_stack(infra, bus_prefix, ws_queue_frames=64) as gw:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        patterns = ["feat.activity.WSUSDT", "feat.>", "feat.*.WSUSDT", "feat.activity.>"]
        fast: list[ClientConnection] = []
        for i in range(CLIENTS - 1):
            ws = await connect(
                _ws_url(gw, patterns[i % len(patterns)]), additional_headers=auth, compression=None
            )
            assert json.loads(await ws.recv())["type"] == "subscribed"
            fast.append(ws)
        slow = await connect(
            _ws_url(gw, "feat.activity.WSUSDT"),
            additional_headers=auth,
            compression=None,
            sock=_slow_socket(gw.gateway.server.port),
            max_queue=1,
        )
        assert json.loads(await slow.recv())["type"] == "subscribed"
        assert len(gw.gateway.hub.clients) == CLIENTS

        received: list[list[int]] = [[] for _ in fast]
        readers = [
            asyncio.create_task(_reader(ws, r)) for ws, r in zip(fast, received, strict=True)
        ]
        appended: list[int] = []

        # Keep the market moving until the slow client has fallen too far behind, then a bit
        # more: the others must go on receiving everything after the drop too.
        # The readers share this process with the gateway: each batch is let through to them
        # before the next, so only the client that never reads can fall behind.
        def readers_have_all() -> bool:
            return all(len(r) >= len(appended) for r in received)

        while gw.gateway.hub.dropped_total == 0:
            appended += await _append_batch(gw, len(appended))
            await until(readers_have_all, timeout_s=120)
            assert len(appended) < 20_000, "the slow client was never dropped"
        for _ in range(3):
            appended += await _append_batch(gw, len(appended))

        await until(readers_have_all, timeout_s=120)
        for got in received:
            assert got == appended  # every event, once, in store order
        assert gw.gateway.hub.dropped_total == 1
        assert len(gw.gateway.hub.clients) == CLIENTS - 1
        assert all(ws.close_code is None for ws in fast)  # nobody else was closed

        # The slow client finds its connection closed when it finally reads.
        frames = 0
        with pytest.raises(ConnectionClosed):
            while True:
                await asyncio.wait_for(slow.recv(), 30)
                frames += 1
        assert frames < len(appended)
        assert slow.close_code in (CLOSE_TOO_SLOW, 1006)
        print(f"appended={len(appended)} slow client got {frames} frames before the drop")

        for ws in fast:
            await ws.close()
        await asyncio.gather(*readers)
