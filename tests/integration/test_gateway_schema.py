"""Schemathesis against the gateway's OpenAPI document: generated requests (valid and not) to
every operation, against the real app over Postgres + NATS with data in its read models; no
answer may be a 500, and every documented 200 must match its schema."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest

from breakout.common.config import InfraSettings
from tests.integration.gateway_support import TOKEN, gateway_stack
from tests.integration.test_gateway_api import _seed

pytestmark = pytest.mark.integration
REPORTS = Path(__file__).resolve().parents[2] / ".dev" / "artifacts" / "schemathesis"


def _schemathesis() -> str:
    found = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("schemathesis is not installed in this environment")
    return found


async def test_openapi_fuzz_finds_no_server_error(
    infra: InfraSettings, bus_prefix: str, tmp_path: Path
) -> None:
    command = _schemathesis()
    async with gateway_stack(infra, bus_prefix) as gw:
        await _seed(gw)
        process = await asyncio.create_subprocess_exec(
            command,
            "run",
            f"{gw.url}/openapi.json",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--max-examples",
            "8",
            "--seed",
            "20260105",
            "--header",
            f"Authorization: Bearer {TOKEN}",
            "--report",
            "junit",
            "--report-dir",
            str(REPORTS),
            "--request-timeout",
            "10",
            "--max-time",
            "35",
            cwd=tmp_path,  # schemathesis keeps a cache in its working directory
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
    text = output.decode(errors="replace")
    print(text[-6000:])
    assert process.returncode == 0, text[-6000:]
