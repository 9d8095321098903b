"""`breakout scan`: the ranked table from what a real Postgres store holds."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
import typer
from typer.testing import CliRunner

from breakout.common.cli import mount_plugins
from breakout.common.config import InfraSettings
from breakout.common.events import Event, NewEvent, ScanRequested, feat_stream, md_stream
from breakout.common.store.postgres import PostgresEventStore
from tests.integration.stacks import fresh_database
from tests.unit.signals.factories import T0, activity, book, indicators, ticker

pytestmark = pytest.mark.integration


def _market(symbol: str, tpm: float, spread_bps: float) -> list[tuple[str, Event]]:
    def feat(kind: str) -> str:
        return feat_stream(kind, "binance", symbol)

    return [
        (md_stream("ticker", "binance", symbol), ticker(symbol, 2.0, 500e6)),
        (feat("book"), book(symbol, T0, spread_bps=spread_bps)),
        (feat("activity"), activity(symbol, T0, tpm=tpm)),
        (feat("indicators"), indicators(symbol, "1h", volume_surge=1.5)),
        (feat("indicators"), indicators(symbol, "5m", volume_surge=2.0)),
        (
            feat("indicators"),
            indicators(symbol, "15m", atr_pct=1.0, bb_width_percentile=20.0, corr_reference=0.1),
        ),
    ]


async def _fill(dsn: str) -> None:
    store = await PostgresEventStore.connect(dsn)
    try:
        for symbol, tpm, spread in (
            ("ETHUSDT", 60.0, 1.0),
            ("SOLUSDT", 40.0, 1.0),
            ("ADAUSDT", 50.0, 3.5),
        ):
            for stream, data in _market(symbol, tpm, spread):
                new = NewEvent(
                    event_id=uuid.uuid4(),
                    data=data,
                    occurred_at=datetime.fromtimestamp(T0 / 1000, UTC),
                    producer="test",
                )
                await store.append(stream, [new])
    finally:
        await store.close()


def test_scan_prints_every_filter_and_the_candidates(infra: InfraSettings) -> None:
    app = typer.Typer()
    mount_plugins(app)

    async def scenario() -> str:
        async with fresh_database(infra) as dsn:
            await _fill(dsn)
            # The command runs its own event loop: run it in a thread, as a shell would.
            result = await asyncio.to_thread(
                CliRunner().invoke,
                app,
                ["scan", "--preset", "breakout_v1", "--symbols", "ethusdt,SOLUSDT,ADAUSDT"],
                env={"DATABASE_URL": dsn},
            )
            assert result.exit_code == 0, result.output
            return result.output

    output = asyncio.run(scenario())
    assert "candidates: ETHUSDT, SOLUSDT" in output
    for name in (
        "volume_24h_usd",
        "spread_bps",
        "depth_usd_0_3pct",
        "atr_pct_min",
        "abs_correlation",
    ):
        assert name in output
    ada = next(line for line in output.splitlines() if "ADAUSDT" in line)
    assert "3.5" in ada and ada.split("│")[1].strip() == "-"  # failed the 2 bps spread: unranked


def test_scan_request_records_a_request_for_the_service(infra: InfraSettings) -> None:
    app = typer.Typer()
    mount_plugins(app)

    async def scenario() -> list[object]:
        async with fresh_database(infra) as dsn:
            result = await asyncio.to_thread(
                CliRunner().invoke,
                app,
                ["scan", "--preset", "breakout_v1", "--request"],
                env={"DATABASE_URL": dsn},
            )
            assert result.exit_code == 0, result.output
            store = await PostgresEventStore.connect(dsn)
            try:
                return [e.data for e in await store.read_stream("ctl-scan")]
            finally:
                await store.close()

    (request,) = asyncio.run(scenario())
    assert isinstance(request, ScanRequested) and request.preset == "breakout_v1"
