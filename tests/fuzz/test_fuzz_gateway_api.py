"""Fuzz: the gateway's inputs. Whatever a client sends (bodies, headers, path params, query
strings, WebSocket subjects and frames), the gateway answers: never a 5xx; a 2xx control
command recorded exactly one event, decodable by its consumers, under the id its key derives;
a refused request (4xx) wrote nothing and its body says what was wrong.

The app is the real one (`create_app`) over the in-memory store, driven in process through
httpx's ASGI transport (and starlette's TestClient for the WebSocket).
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from fastapi import FastAPI
from hypothesis import event as note_event
from hypothesis import example, given
from hypothesis import strategies as st

from breakout.common.events import (
    KillRequested,
    NewEvent,
    RecordedEvent,
    decode_event,
    encode_event,
)
from breakout.common.events.ctl_ops import ctl_stream
from breakout.common.ids import external_event_id
from breakout.common.store import InMemoryEventStore
from breakout.gateway.api.common import Gateway
from breakout.gateway.app import create_app
from breakout.gateway.config import GatewaySettings
from breakout.gateway.hub import Hub
from breakout.gateway.readmodels.registry import ReadModels
from breakout.gateway.vendor import VendorCache
from tests.fuzz.strategies import FUZZ, json_values, mutated

TOKEN = "fuzz-token-0123456789"
AUTH = f"Bearer {TOKEN}"
SEEDED_KEY = "seeded-key-0001"  # a key already used for a kill: sending it again is a replay
KINDS = {"kill": "kill", "reset": "kill_reset", "pause": "pause", "close": "close_position"}
BODIES: dict[str, dict[str, Any]] = {
    "kill": {"level": "entries", "reason": "fuzz", "requested_by": "op"},
    "reset": {"reason": "fuzz", "requested_by": "op"},
    "pause": {"paused": True, "preset": "breakout_v1", "reason": "fuzz", "requested_by": "op"},
    "close": {"reason": "fuzz", "requested_by": "op"},
}
# Header values as a server would pass them on: printable latin-1 (a real server refuses CR/LF).
header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=40
)


def _gateway() -> tuple[FastAPI, InMemoryEventStore]:
    settings = GatewaySettings(api_token=TOKEN)
    store = InMemoryEventStore()
    gw = Gateway(settings=settings, store=store, models=ReadModels())
    return create_app(gw, Hub(4), VendorCache(settings.vendor_dir)), store


async def _seed(store: InMemoryEventStore) -> None:
    kill = KillRequested(level="entries", requested_by="op", reason="seeded")
    new = NewEvent(
        event_id=external_event_id("gateway", "kill", SEEDED_KEY),
        data=kill,
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        producer="gateway",
    )
    await store.append(ctl_stream("kill"), [new])


# One gateway for every example (building it is most of a request's cost); each request's
# writes are what the store holds past its head before the request.
APP, STORE = _gateway()
asyncio.run(_seed(STORE))


def _send(
    method: str, url: str, headers: dict[str, bytes], content: bytes | None = None
) -> tuple[httpx.Response, list[RecordedEvent]]:
    """The answer to one request, and the events it added to the store."""

    async def run() -> tuple[httpx.Response, list[RecordedEvent]]:
        head = await STORE.head_position()
        # A raised exception becomes the app's own 500 answer (asserted against), not a raise.
        transport = httpx.ASGITransport(app=APP, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            response = await client.request(method, url, headers=headers, content=content)
        return response, await STORE.read_all(after=head, limit=10)

    return asyncio.run(run())


def _assert_refusal_explained(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    detail = response.json()["detail"]
    assert detail, response.text
    if response.status_code == 422:  # pydantic's validation errors: where, and what
        assert all(item["loc"] and item["msg"] for item in detail), detail


# -- POST /api/ctl/* ------------------------------------------------------------------------


TYPED = {
    "reason": st.text(st.characters(exclude_categories=["Cc"]), min_size=1, max_size=70),
    "requested_by": st.from_regex(r"[A-Za-z0-9_.@\-]{1,64}", fullmatch=True),
}


def _any_text(body: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """`body` with its text fields as an operator might type them (valid or nearly)."""
    return st.fixed_dictionaries(
        {k: TYPED[k] | st.text(max_size=70) if k in TYPED else st.just(v) for k, v in body.items()}
    )


@st.composite
def control_requests(draw: st.DrawFn) -> tuple[str, str, dict[str, bytes], bytes]:
    endpoint = draw(st.sampled_from(sorted(KINDS)))
    path = f"/api/ctl/{endpoint}"
    if endpoint == "close":
        position = draw(st.one_of(st.just("pos-1"), st.text(max_size=140)))
        path += "/" + quote(position, safe="")
    # Mostly near-valid, so that enough requests get past auth and validation to be recorded.
    doc = draw(st.one_of(mutated(BODIES[endpoint]), _any_text(BODIES[endpoint]), json_values))
    raw = json.dumps(doc, allow_nan=True).encode()
    content = draw(st.one_of(st.just(raw), st.just(raw), st.binary(max_size=60)))
    headers = {"content-type": b"application/json"}
    auth = draw(
        st.one_of(st.just(AUTH), st.just(AUTH), header_text, header_text.map("Bearer ".__add__))
    )
    if auth:
        headers["authorization"] = auth.encode("latin-1")
    key = draw(
        st.one_of(st.uuids().map(str), st.uuids().map(str), st.just(SEEDED_KEY), header_text)
        | st.none()
    )
    if key is not None:
        headers["idempotency-key"] = key.encode("latin-1")
    return endpoint, path, headers, content


@FUZZ
@given(control_requests())
@example(("kill", "/api/ctl/kill", {"authorization": AUTH.encode(),
          "idempotency-key": b"k" * 20, "content-type": b"application/json"},
          json.dumps(BODIES["kill"]).encode()))  # fmt: skip
def test_control_commands(request: tuple[str, str, dict[str, bytes], bytes]) -> None:
    endpoint, path, headers, content = request
    response, written = _send("POST", path, headers, content)
    note_event(f"HTTP {response.status_code}")  # (--hypothesis-show-statistics: how deep it went)
    assert response.status_code < 500, (response.status_code, response.text)
    if response.status_code >= 300:  # (a 307: a path ending in "/", redirected without it)
        assert written == [], response.text
        if response.status_code >= 400:
            _assert_refusal_explained(response)
        if headers.get("authorization") != AUTH.encode():
            # The token is checked before the body is read; routing comes before both (a 404,
            # or a 307 that only drops a trailing "/").
            assert response.status_code in (307, 401, 404), response.text
        return
    assert response.status_code == 202
    assert headers["authorization"] == AUTH.encode()
    (event,) = written
    key = headers["idempotency-key"].decode("latin-1")
    assert event.event_id == external_event_id("gateway", KINDS[endpoint], key)
    assert event.stream == ctl_stream(KINDS[endpoint]) == response.json()["stream"]
    # What was recorded is what a consumer decodes (and Postgres JSONB holds: no NUL).
    recorded = encode_event(event.data)
    assert b"\\u0000" not in recorded
    assert decode_event(event.type, recorded) == event.data


# -- every GET --------------------------------------------------------------------------------

# Every documented GET with its query parameters, and the dashboard's own pages (the vendored
# assets are left out: the first fetch of one goes to the npm registry).
GETS = sorted(
    (path, sorted(p["name"] for p in op.get("parameters", []) if p["in"] == "query"))
    for path, ops in APP.openapi()["paths"].items()
    for method, op in ops.items()
    if method == "get"
)
GETS += [("/", []), ("/ui", []), ("/ui/app.js", [])]
NEAR_VALID = ["BTCUSDT", "breakout_v1", "1", "0", "-1", "1000", "1001", "HIGH", "rejected", "x.y"]
query_values = st.one_of(st.sampled_from(NEAR_VALID), st.text(max_size=30), st.integers())


@st.composite
def read_requests(draw: st.DrawFn) -> tuple[str, dict[str, bytes]]:
    path, params = draw(st.sampled_from(GETS))
    for name in re.findall(r"\{(\w+)\}", path):
        value = draw(st.one_of(st.sampled_from(NEAR_VALID), st.text(max_size=50)))
        path = path.replace("{" + name + "}", quote(value, safe="") or "x")
    names = st.one_of(st.sampled_from(params or [""]), st.text(max_size=8))
    query = draw(st.lists(st.tuples(names, query_values.map(str)), max_size=4))
    url = f"{path}?{urlencode(query)}" if query else path
    auth = draw(st.one_of(st.just(AUTH), header_text))
    return url, {"authorization": auth.encode("latin-1")} if auth else {}


@FUZZ
@given(read_requests())
def test_reads(request: tuple[str, dict[str, bytes]]) -> None:
    url, headers = request
    response, written = _send("GET", url, headers)
    assert response.status_code < 500, (url, response.status_code, response.text)
    assert written == []
    if response.status_code >= 400:
        _assert_refusal_explained(response)
    if headers.get("authorization") != AUTH.encode() and url.startswith("/api/"):
        assert response.status_code in (401, 404)  # (404: a path param that matched no route)


# -- the WebSocket bridge ---------------------------------------------------------------------

SUBJECTS = ["feat.density.BTCUSDT", "pos.>", "md.trade.binance.BTCUSDT", "*", ">", "", "a..b"]


async def _websocket(
    query: bytes, protocols: list[str], frames: list[str | bytes]
) -> list[dict[str, Any]]:
    """What the bridge sends to a client that connects, sends `frames` and leaves (ASGI)."""
    inbox: list[dict[str, Any]] = [{"type": "websocket.connect"}]
    inbox += [{"type": "websocket.receive", "bytes" if isinstance(f, bytes) else "text": f}
              for f in frames]  # fmt: skip
    inbox.append({"type": "websocket.disconnect", "code": 1000})
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if len(inbox) > 1 and not sent:  # the client speaks once the server has answered
            await asyncio.sleep(0)
        return inbox.pop(0) if inbox else {"type": "websocket.disconnect", "code": 1000}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "websocket", "path": "/ws", "raw_path": b"/ws", "query_string": query,
        "headers": [], "subprotocols": protocols, "scheme": "ws", "root_path": "",
        "server": ("gw", 80), "client": ("fuzz", 1), "asgi": {"version": "3.0"},
    }  # fmt: skip
    await asyncio.wait_for(APP(scope, receive, send), 10)
    return sent


@FUZZ
@given(
    subjects=st.lists(st.one_of(st.sampled_from(SUBJECTS), st.text(max_size=20)), max_size=4),
    token=st.one_of(st.just(TOKEN), header_text),
    frames=st.lists(st.one_of(st.text(max_size=50), st.binary(max_size=50)), max_size=3),
)
@example(subjects=["pos.>"], token=TOKEN, frames=["{}"])
def test_websocket_clients(subjects: list[str], token: str, frames: list[str | bytes]) -> None:
    query = urlencode({"subjects": ",".join(subjects)}).encode()
    sent = asyncio.run(_websocket(query, ["bearer", token] if token else [], frames))
    assert sent[0]["type"] == "websocket.accept"
    if sent[1]["type"] == "websocket.close":
        # Refused with a code a page can read and a reason saying why.
        assert sent[1]["code"] in (4400, 4401) and sent[1]["reason"], sent
        assert sent[1]["code"] == 4401 or token == TOKEN
        return
    # Accepted: the hello names the subjects; whatever the client sent was ignored.
    assert token == TOKEN
    hello = json.loads(sent[1]["text"])
    assert hello["type"] == "subscribed" and hello["subjects"]
    assert all(m["type"] == "websocket.send" for m in sent[1:])
