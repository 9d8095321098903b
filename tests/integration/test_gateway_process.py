"""`breakout-gateway run` as a real process: it serves /health and the API over the real stack,
and SIGTERM stops it cleanly (exit code 0)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest

from breakout.common.config import InfraSettings
from tests.integration.gateway_support import TOKEN
from tests.integration.stacks import fresh_database

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_process_serves_and_stops_on_sigterm(
    infra: InfraSettings, bus_prefix: str, tmp_path: Path
) -> None:
    port = _free_port()
    async with fresh_database(infra) as dsn:
        env = {
            **os.environ,
            "DATABASE_URL": dsn,
            "NATS_URL": infra.nats_url,
            "BREAKOUT_BUS_PREFIX": bus_prefix,
            "BREAKOUT_API_TOKEN": TOKEN,
            "BREAKOUT_GATEWAY_VENDOR_DIR": str(tmp_path),
        }
        script = Path(sys.executable).parent / "breakout-gateway"
        process = await asyncio.create_subprocess_exec(
            str(script), "run", "--port", str(port), env=env, stderr=asyncio.subprocess.PIPE
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
                for _ in range(500):
                    try:
                        health = await http.get("/health")
                        if health.status_code == 200:
                            break
                    except httpx.ConnectError:
                        pass
                    await asyncio.sleep(0.05)
                assert health.json()["ok"] is True, health.text
                kill = await http.post(
                    "/api/ctl/kill",
                    json={"level": "entries", "reason": "smoke"},
                    headers={"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": "smoke-0001"},
                )
                assert kill.status_code == 202
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = await process.communicate()
        assert process.returncode == 0, stderr.decode()[-3000:]
