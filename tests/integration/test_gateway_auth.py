"""The control API against the real gateway and store: no token, a wrong token, a missing
request id and a replayed request are each refused, and none of them writes anything.

(The WebSocket bridge's refusals without a token and with a wrong one are in
test_gateway_ws.py::test_refusals.)"""

from __future__ import annotations

import uuid

import httpx
import pytest

from breakout.common.config import InfraSettings
from breakout.common.events import KillRequested, PauseRequested
from breakout.common.events.ctl_ops import ctl_stream
from tests.integration.gateway_support import TOKEN, gateway_stack

pytestmark = pytest.mark.integration
KILL = {"level": "entries", "reason": "drawdown", "requested_by": "alice"}


async def test_control_refuses_no_token_a_wrong_one_and_a_replay(
    infra: InfraSettings, bus_prefix: str
) -> None:
    async with (
        gateway_stack(infra, bus_prefix) as gw,
        httpx.AsyncClient(base_url=gw.url, timeout=10) as http,
    ):
        store = gw.stack.store
        key = {"Idempotency-Key": uuid.uuid4().hex}
        for auth in (
            {},
            {"Authorization": "Bearer wrong-token-wrong-token"},
            {"Authorization": TOKEN},
        ):
            refused = await http.post("/api/ctl/kill", json=KILL, headers={**auth, **key})
            assert refused.status_code == 401, auth
            assert refused.headers["www-authenticate"] == "Bearer"
        good = {"Authorization": f"Bearer {TOKEN}"}
        # No request id: refused before anything is looked at or written.
        missing = await http.post("/api/ctl/kill", json=KILL, headers=good)
        assert missing.status_code == 428 and "Idempotency-Key" in missing.json()["detail"]
        assert await store.read_stream(ctl_stream("kill")) == []

        first = await http.post("/api/ctl/kill", json=KILL, headers={**good, **key})
        assert first.status_code == 202
        head = await store.head_position()
        # The same request again (captured and replayed, or sent twice): 409, nothing written.
        replayed = await http.post("/api/ctl/kill", json=KILL, headers={**good, **key})
        assert replayed.status_code == 409
        assert replayed.json()["event_id"] == first.json()["event_id"]
        assert "already used" in replayed.json()["detail"]
        # A replay with another body under the same key is the same replay.
        changed = {**KILL, "level": "flatten"}
        assert (
            await http.post("/api/ctl/kill", json=changed, headers={**good, **key})
        ).status_code == 409
        assert await store.head_position() == head
        [recorded] = await store.read_stream(ctl_stream("kill"))
        assert isinstance(recorded.data, KillRequested) and recorded.data.level == "entries"

        # A fresh key is a new command, and keys are per command kind's stream.
        again = await http.post(
            "/api/ctl/kill", json=KILL, headers={**good, "Idempotency-Key": uuid.uuid4().hex}
        )
        assert again.status_code == 202
        pause = await http.post("/api/ctl/pause", json={"reason": "news"}, headers={**good, **key})
        assert pause.status_code == 202
        assert len(await store.read_stream(ctl_stream("kill"))) == 2
        [paused] = await store.read_stream(ctl_stream("pause"))
        assert isinstance(paused.data, PauseRequested)
