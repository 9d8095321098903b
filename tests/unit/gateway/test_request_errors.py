"""A request the API refuses is answered with a 4xx saying why, whatever its body holds."""

from __future__ import annotations

import httpx

from breakout.common.store import InMemoryEventStore
from breakout.gateway.api.common import Gateway
from breakout.gateway.app import create_app
from breakout.gateway.config import GatewaySettings
from breakout.gateway.hub import Hub
from breakout.gateway.readmodels.registry import ReadModels
from breakout.gateway.vendor import VendorCache

TOKEN = "t" * 20


async def test_a_lone_surrogate_in_the_body_is_a_422_not_a_500() -> None:
    # JSON may escape half a UTF-16 pair; FastAPI's default 422 echoes it and fails to encode.
    store = InMemoryEventStore()
    gw = Gateway(settings=GatewaySettings(api_token=TOKEN), store=store, models=ReadModels())
    app = create_app(gw, Hub(4), VendorCache(gw.settings.vendor_dir))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    headers = {"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": "k" * 16}
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        response = await client.post(
            "/api/ctl/kill",
            headers={**headers, "Content-Type": "application/json"},
            content=b'{"level": "entries", "reason": "half \\ud800 a pair"}',
        )
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"][0] == "body" and error["msg"]
    assert await store.head_position() == 0
