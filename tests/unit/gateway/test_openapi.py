"""The OpenAPI document lists every endpoint of the issue, with schemas for its answers."""

from __future__ import annotations

import httpx

from breakout.common.store import InMemoryEventStore
from breakout.gateway.api.common import Gateway
from breakout.gateway.app import create_app
from breakout.gateway.config import GatewaySettings
from breakout.gateway.hub import Hub
from breakout.gateway.readmodels.registry import ReadModels
from breakout.gateway.vendor import VendorCache

EXPECTED = {
    ("get", "/api/features/levels"),
    ("get", "/api/features/activity"),
    ("get", "/api/features/density"),
    ("get", "/api/features/microstructure/{symbol}"),
    ("get", "/api/scan/{preset}"),
    ("get", "/api/signals"),
    ("get", "/api/regime/current"),
    ("get", "/api/regime/status"),
    ("get", "/api/regime/trends"),
    ("get", "/api/news/latest"),
    ("get", "/api/news/classified"),
    ("get", "/api/news/signals"),
    ("get", "/api/capital-flow/current"),
    ("get", "/api/liquidity/levels"),
    ("get", "/api/risk/status"),
    ("get", "/api/trades/positions"),
    ("get", "/api/trades/history"),
    ("get", "/api/trades/status"),
    ("get", "/api/orders"),
    ("get", "/api/events"),
    ("get", "/health"),
    ("post", "/api/ctl/kill"),
    ("post", "/api/ctl/reset"),
    ("post", "/api/ctl/close/{position}"),
    ("post", "/api/ctl/pause"),
}


def _client() -> httpx.AsyncClient:
    settings = GatewaySettings(api_token="t" * 20)
    gw = Gateway(settings=settings, store=InMemoryEventStore(), models=ReadModels())
    app = create_app(gw, Hub(4), VendorCache(settings.vendor_dir))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")


async def test_every_endpoint_is_documented_with_its_schema() -> None:
    async with _client() as client:
        doc = (await client.get("/openapi.json")).json()
    found = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert found >= EXPECTED
    levels = doc["paths"]["/api/features/levels"]["get"]["responses"]["200"]
    ref = levels["content"]["application/json"]["schema"]["$ref"]
    envelope = doc["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert envelope["properties"]["data"]["$ref"] == "#/components/schemas/LevelsUpdated"
    assert "resistance" in doc["components"]["schemas"]["LevelsUpdated"]["properties"]
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


async def test_dashboard_page_and_unknown_vendor_asset() -> None:
    async with _client() as client:
        page = await client.get("/ui")
        script = await client.get("/ui/app.js")
        missing = await client.get("/ui/vendor/jquery.js")
    assert page.status_code == 200
    assert '<div id="chart">' in page.text
    assert script.headers["content-type"].startswith("text/javascript")
    assert missing.status_code == 404
    assert "no vendored asset" in missing.json()["detail"]
