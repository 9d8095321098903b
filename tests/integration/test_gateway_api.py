"""The gateway's REST API, served for real (uvicorn) over Postgres + NATS with the relay running:
reads from the read models, auth failures, 422s naming the field, control commands recorded in
the log and folded back, audit paging, /health aggregation and /metrics."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from breakout.common.config import InfraSettings
from breakout.common.events import KillRequested, feat_stream
from breakout.common.events.ctl_ops import ctl_stream
from breakout.common.events.regime import NEWS_CLASSIFIED_STREAM, REGIME_STREAM
from breakout.common.events.sig import scan_stream, signal_stream
from breakout.common.runtime.health import health_app, serve_health
from tests.integration.gateway_support import TOKEN, GatewayStack, gateway_stack
from tests.unit.gateway import factories as f

pytestmark = pytest.mark.integration
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _key(headers: dict[str, str]) -> dict[str, str]:
    """`headers` with a fresh Idempotency-Key (every control request carries its own)."""
    return {**headers, "Idempotency-Key": uuid.uuid4().hex}


T0 = f.BASE_MS


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
async def service_port() -> AsyncIterator[int]:
    """A real service `/health` endpoint (the runtime's), reporting ok."""
    port = _free_port()
    stopping = asyncio.Event()
    app = health_app("features", {"consumer": lambda: {"ok": True, "checkpoint": 42}})
    task = asyncio.create_task(serve_health(app, "127.0.0.1", port, stopping))
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            try:
                await client.get(f"http://127.0.0.1:{port}/health")
                break
            except httpx.ConnectError:
                await asyncio.sleep(0.02)
    yield port
    stopping.set()
    await task


async def _seed(gw: GatewayStack) -> None:
    density = feat_stream("density", "binance", "BTCUSDT")
    await gw.append(density, f.wall("BTCUSDT", "w1", T0, 100.0), T0)
    await gw.append(density, f.wall("BTCUSDT", "w2", T0 + 1, 104.0, side="ask"), T0 + 1)
    await gw.append(density, f.eaten("BTCUSDT", "w1", T0 + 2, 100.0, 0.25), T0 + 2)
    await gw.append(
        feat_stream("activity", "binance", "BTCUSDT"), f.activity("BTCUSDT", T0 + 3, 101.5), T0 + 3
    )
    await gw.append(
        feat_stream("levels", "binance", "BTCUSDT"), f.levels("BTCUSDT", T0 + 4, 105, 95), T0 + 4
    )
    await gw.append(
        feat_stream("liquidity", "binance", "BTCUSDT"),
        f.liquidity("BTCUSDT", T0 + 4, 106, 94),
        T0 + 4,
    )
    await gw.append(scan_stream("breakout_v1"), f.scan("breakout_v1", T0 + 5, ["BTCUSDT"]), T0 + 5)
    await gw.append(
        signal_stream("breakout_v1", "BTCUSDT"),
        f.rejection("breakout_v1", "BTCUSDT", T0 + 6),
        T0 + 6,
    )
    await gw.append(REGIME_STREAM, f.regime_changed(T0 + 7), T0 + 7)
    await gw.append(NEWS_CLASSIFIED_STREAM, f.classified(T0 + 7, "ETF inflows"), T0 + 7)
    await gw.append("position-p1", f.opened("p1", "BTCUSDT", T0 + 7, 100.0, 95.0), T0 + 7)
    await gw.settled()


async def test_reads_auth_and_validation(infra: InfraSettings, bus_prefix: str) -> None:
    async with (
        gateway_stack(infra, bus_prefix) as gw,
        httpx.AsyncClient(base_url=gw.url, timeout=10) as http,
    ):
        await _seed(gw)

        # Reads need the token by default; a wrong one is refused the same way.
        for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token"}):
            refused = await http.get("/api/features/density?symbol=BTCUSDT", headers=headers)
            assert refused.status_code == 401
            assert "bearer token" in refused.json()["detail"]
            assert refused.headers["www-authenticate"] == "Bearer"

        density = (await http.get("/api/features/density?symbol=BTCUSDT", headers=AUTH)).json()
        assert [w["wall_id"] for w in density["active"]] == ["w1", "w2"]
        assert density["active"][0]["eaten_ratio"] == 0.25
        activity = (await http.get("/api/features/activity?symbol=BTCUSDT", headers=AUTH)).json()
        assert activity["activity"]["data"]["last_price"] == 101.5
        assert activity["dropped"] is False
        levels = (await http.get("/api/features/levels?symbol=BTCUSDT", headers=AUTH)).json()
        assert levels["data"]["resistance"]["price"] == 105
        assert levels["stream"] == "feat.levels-binance.BTCUSDT"
        micro = (await http.get("/api/features/microstructure/BTCUSDT", headers=AUTH)).json()
        assert set(micro["features"]) == {"activity", "levels", "liquidity"}
        liquidity = (await http.get("/api/liquidity/levels?symbol=BTCUSDT", headers=AUTH)).json()
        assert liquidity["data"]["visible_high"] == 106
        assert len(micro["walls"]) == 2

        scan = (await http.get("/api/scan/breakout_v1", headers=AUTH)).json()
        assert scan["data"]["candidates"] == ["BTCUSDT"]
        [rejected] = (await http.get("/api/signals?outcome=rejected", headers=AUTH)).json()
        assert rejected["data"]["failed"] == ["activity_tpm_ratio"]
        assert (await http.get("/api/signals?outcome=generated", headers=AUTH)).json() == []
        [position] = (await http.get("/api/trades/positions", headers=AUTH)).json()
        assert position["fields"]["entry_price"] == "100.0"

        regime = (await http.get("/api/regime/current", headers=AUTH)).json()
        assert (regime["state"], regime["stale"]) == ("RISK_ON", None)
        trends = (await http.get("/api/regime/trends", headers=AUTH)).json()
        assert trends["inputs"]["dxy"]["direction"] == "STRONG_DOWN"
        [news] = (await http.get("/api/news/signals", headers=AUTH)).json()
        assert news["data"]["title"] == "ETF inflows"
        assert (await http.get("/api/news/classified?impact=LOW", headers=AUTH)).json() == []

        # Nothing recorded yet: a 404 that says what is missing.
        missing = await http.get("/api/features/levels?symbol=ETHUSDT", headers=AUTH)
        assert missing.status_code == 404
        assert missing.json()["detail"] == "no levels recorded for ETHUSDT"
        flow = await http.get("/api/capital-flow/current", headers=AUTH)
        assert flow.json()["detail"] == "no capital-flow decision yet"

        # Bad parameters: 422 naming the field.
        for path, field in [
            ("/api/features/density?symbol=BTC%20USDT", "symbol"),
            ("/api/features/density", "symbol"),
            ("/api/news/latest?limit=0", "limit"),
            ("/api/events?after=-1", "after"),
            ("/api/signals?outcome=maybe", "outcome"),
        ]:
            bad = await http.get(path, headers=AUTH)
            assert bad.status_code == 422, path
            assert bad.json()["detail"][0]["loc"][-1] == field


async def test_control_commands_are_recorded_and_folded_back(
    infra: InfraSettings, bus_prefix: str
) -> None:
    async with (
        gateway_stack(infra, bus_prefix, public_reads=True) as gw,
        httpx.AsyncClient(base_url=gw.url, timeout=10) as http,
    ):
        body = {"level": "entries", "reason": "drawdown limit", "requested_by": "alice"}
        # Public reads never open the control endpoints.
        assert (await http.post("/api/ctl/kill", json=body)).status_code == 401
        assert (await http.get("/api/trades/status")).status_code == 200

        bad = await http.post("/api/ctl/kill", json={**body, "level": "maybe"}, headers=AUTH)
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["loc"] == ["body", "level"]
        empty_reason = await http.post("/api/ctl/kill", json={**body, "reason": ""}, headers=AUTH)
        assert empty_reason.status_code == 422
        nul = await http.post("/api/ctl/kill", json={**body, "reason": "a\x00b"}, headers=AUTH)
        assert nul.status_code == 422  # JSONB cannot hold it: refused up front, not a 500

        headers = {**AUTH, "Idempotency-Key": "kill-0001"}
        first = await http.post("/api/ctl/kill", json=body, headers=headers)
        again = await http.post("/api/ctl/kill", json=body, headers=headers)
        assert (first.status_code, again.status_code) == (202, 409)  # a replay writes nothing
        assert first.json()["event_id"] == again.json()["event_id"]
        [recorded] = await gw.stack.store.read_stream(ctl_stream("kill"))
        assert isinstance(recorded.data, KillRequested)
        assert (recorded.data.level, recorded.data.requested_by) == ("entries", "alice")
        assert recorded.data.subject() == "ctl.kill"

        await gw.settled()
        status = (await http.get("/api/trades/status")).json()
        assert status["kill"]["tripped"] is True
        assert status["kill"]["level"] == "entries"
        assert (await http.get("/api/risk/status")).json()["kill"]["requested_by"] == "alice"

        reset = await http.post("/api/ctl/reset", json={"reason": "reviewed"}, headers=_key(AUTH))
        close = await http.post("/api/ctl/close/p1", json={"reason": "manual"}, headers=_key(AUTH))
        pause = await http.post(
            "/api/ctl/pause", json={"preset": "breakout_v1", "reason": "news"}, headers=_key(AUTH)
        )
        assert [r.status_code for r in (reset, close, pause)] == [202, 202, 202]
        await gw.settled()
        status = (await http.get("/api/trades/status")).json()
        assert status["kill"]["tripped"] is False
        assert [p["preset"] for p in status["paused"]] == ["breakout_v1"]

        # The audit view pages through the log.
        page = (await http.get("/api/events?category=ctl&limit=2")).json()
        assert [e["type"] for e in page["events"]] == ["ctl.kill.v1", "ctl.kill_reset.v1"]
        rest = (await http.get(f"/api/events?category=ctl&after={page['next_after']}")).json()
        assert [e["type"] for e in rest["events"]] == ["ctl.close_position.v1", "ctl.pause.v1"]
        one = (await http.get("/api/events?stream=ctl-close_position")).json()
        assert one["events"][0]["data"]["position_id"] == "p1"


async def test_health_aggregates_services_and_metrics_answer(
    infra: InfraSettings, bus_prefix: str, service_port: int
) -> None:
    services = {"features": f"http://127.0.0.1:{service_port}"}
    async with (
        gateway_stack(infra, bus_prefix, services=services) as gw,
        httpx.AsyncClient(base_url=gw.url, timeout=10) as http,
    ):
        health = await http.get("/health")
        assert health.status_code == 200, health.text
        body = health.json()
        assert body["ok"] is True
        assert body["services"]["features"]["components"]["consumer"]["checkpoint"] == 42
        assert body["components"]["bridge"]["ok"] is True
        assert body["components"]["store"]["ok"] is True
        assert {f"readmodel.{n}" for n in ("features", "density", "control", "trading")} <= set(
            body["components"]
        )
        metrics = await http.get("/metrics/")
        assert "breakout_gateway_ws_clients" in metrics.text
        assert "breakout_events_in_total" in metrics.text

    ghost = {**services, "ghost": f"http://127.0.0.1:{_free_port()}"}
    async with (
        gateway_stack(infra, bus_prefix + "b", services=ghost) as gw,
        httpx.AsyncClient(base_url=gw.url, timeout=10) as http,
    ):
        health = await http.get("/health")
        assert health.status_code == 503
        body = health.json()
        assert body["ok"] is False
        assert body["services"]["features"]["ok"] is True
        assert body["services"]["ghost"]["ok"] is False
        assert "ConnectError" in body["services"]["ghost"]["error"]


async def test_without_a_token_control_is_off_and_reads_are_open(
    infra: InfraSettings, bus_prefix: str
) -> None:
    async with (
        gateway_stack(infra, bus_prefix, api_token=None) as gw,
        httpx.AsyncClient(base_url=gw.url, timeout=10) as http,
    ):
        assert (await http.get("/api/trades/status")).status_code == 200
        body = {"level": "flatten", "reason": "anyone?"}
        for headers in ({}, AUTH):
            refused = await http.post("/api/ctl/kill", json=body, headers=headers)
            assert refused.status_code == 503
            assert "BREAKOUT_API_TOKEN" in refused.json()["detail"]
        assert await gw.stack.store.read_stream(ctl_stream("kill")) == []
