"""A request the API refuses is answered with a 4xx saying why, whatever its body holds."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
import pytest

from breakout.common.store import InMemoryEventStore
from breakout.common.store.port import StreamAppend
from breakout.gateway.api.common import Gateway
from breakout.gateway.app import create_app
from breakout.gateway.config import GatewaySettings
from breakout.gateway.hub import Hub
from breakout.gateway.readmodels.registry import ReadModels
from breakout.gateway.vendor import VendorCache

TOKEN = "t" * 20


KILL = b'{"level": "entries", "reason": "test"}'


def _client(store: InMemoryEventStore) -> httpx.AsyncClient:
    gw = Gateway(settings=GatewaySettings(api_token=TOKEN), store=store, models=ReadModels())
    app = create_app(gw, Hub(4), VendorCache(gw.settings.vendor_dir))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://gw")


def _headers(token: str | None = TOKEN, key: str = "k" * 16) -> dict[str, str]:
    headers = {"Idempotency-Key": key, "Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return headers


async def test_a_lone_surrogate_in_the_body_is_a_422_not_a_500() -> None:
    # JSON may escape half a UTF-16 pair; FastAPI's default 422 echoes it and fails to encode.
    store = InMemoryEventStore()
    async with _client(store) as client:
        response = await client.post(
            "/api/ctl/kill",
            headers=_headers(),
            content=b'{"level": "entries", "reason": "half \\ud800 a pair"}',
        )
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"][0] == "body" and error["msg"]
    assert await store.head_position() == 0


@pytest.mark.parametrize("token", [None, "wrong" * 4])
@pytest.mark.parametrize("body", [b"not json", b'{"level": 3}', KILL])
async def test_without_the_token_every_body_is_a_401(token: str | None, body: bytes) -> None:
    # FastAPI parses the body before dependencies run: the token is checked before that, so a
    # caller without it learns nothing about what the body should hold.
    store = InMemoryEventStore()
    async with _client(store) as client:
        response = await client.post("/api/ctl/kill", headers=_headers(token), content=body)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert await store.head_position() == 0


class _RacedStore(InMemoryEventStore):
    """A store another gateway replica writes the same command to just before this one."""

    async def append_bulk(self, appends: Sequence[StreamAppend]) -> int:
        for append in appends:  # the other replica's append lands between check and append
            await self.append(append.stream, append.events)
        return await super().append_bulk(appends)


async def test_a_key_raced_by_another_replica_is_a_409_and_one_event() -> None:
    store = _RacedStore()
    async with _client(store) as client:
        response = await client.post("/api/ctl/kill", headers=_headers(), content=KILL)
    assert response.status_code == 409, response.text
    (event,) = await store.read_all(after=0, limit=10)
    assert response.json()["event_id"] == str(event.event_id)
    assert response.json()["position"] == event.position


async def test_a_fresh_key_is_recorded_once_and_its_replay_refused() -> None:
    store = InMemoryEventStore()
    async with _client(store) as client:
        first = await client.post("/api/ctl/kill", headers=_headers(), content=KILL)
        again = await client.post("/api/ctl/kill", headers=_headers(), content=KILL)
    assert (first.status_code, again.status_code) == (202, 409)
    (event,) = await store.read_all(after=0, limit=10)
    assert first.json()["stream_version"] == event.version == 1
    assert again.json()["position"] == event.position
