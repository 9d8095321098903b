"""`python -m bench`: measure the store, bus and relay; write bench/results.json.

Runs in its own database and its own subject prefix on the NATS/Postgres the environment points
at (`make bench` starts them when they are absent). Targets are ratios to baselines measured in
the same run, never absolute times.
"""

from __future__ import annotations

import asyncio
import json
import platform
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from bench import (
    backtest_bench,
    features_bench,
    ingest_bench,
    memory_bench,
    relay_bench,
    signals_bench,
    store_bench,
)
from breakout.common.config import InfraSettings
from breakout.common.store.migrate import migrate
from breakout.common.store.postgres import PostgresEventStore

RESULTS = Path(__file__).parent / "results.json"
N_APPEND = 100_000
N_SINGLE = 2_000
N_RELAY = 50_000


async def main() -> dict[str, object]:
    """Run every benchmark once; return the figures."""
    infra = InfraSettings.from_env()
    run = uuid.uuid4().hex[:8]
    database = f"bk_bench_{run}"
    admin_dsn = infra.database_url.rpartition("/")[0] + "/postgres"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{database}"')
    dsn = infra.database_url.rpartition("/")[0] + f"/{database}"
    prefix = f"bench{run}"
    figures: dict[str, object] = features_bench.run()
    figures.update(signals_bench.run())
    figures.update(memory_bench.run())
    figures.update(await backtest_bench.run())
    try:
        await migrate(dsn)
        store = await PostgresEventStore.connect(dsn)
        try:
            figures.update(await store_bench.append_vs_copy(store, dsn, N_APPEND))
            await asyncpg_vacuum(dsn)
            per_event, payload = await store_bench.md_bytes_per_event(dsn)
            figures["store.md_bytes_per_event"] = per_event
            figures["store.md_payload_bytes_per_event"] = payload
            p50, p99 = await store_bench.single_append_latency_ms(store, N_SINGLE)
            figures["store.append_single_p50_ms"] = p50
            figures["store.append_single_p99_ms"] = p99
            figures["store.read_all_eps"] = await store_bench.read_all_eps(store, N_APPEND)
            figures.update(await relay_bench.relay_vs_raw(store, infra.nats_url, prefix, N_RELAY))
            figures.update(await ingest_bench.saturation(dsn))
            figures.update(await ingest_bench.realistic(dsn))
        finally:
            await store.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
    figures["ratio.append_batch_vs_copy"] = (
        float(figures["store.append_batch_eps"]) / float(figures["store.copy_baseline_eps"])  # type: ignore[arg-type]
    )
    figures["ratio.append_batch_vs_copy_temp"] = (
        float(figures["store.append_batch_eps"])  # type: ignore[arg-type]
        / float(figures["store.copy_temp_baseline_eps"])  # type: ignore[arg-type]
    )
    figures["ratio.relay_vs_raw_publish"] = (
        float(figures["relay.eps"]) / float(figures["bus.raw_publish_eps"])  # type: ignore[arg-type]
    )
    return figures


async def asyncpg_vacuum(dsn: str) -> None:
    """VACUUM ANALYZE so sizes are measured as a settled table holds them."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("VACUUM ANALYZE events")
    finally:
        await conn.close()


def write(figures: dict[str, object]) -> None:
    """Merge `figures` into bench/results.json (other benchmarks keep their keys)."""
    existing = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    existing.update({k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()})
    existing["meta"] = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": f"{platform.machine()} {platform.system()}",
        "targets": {
            "ratio.append_batch_vs_copy": ">= 0.5",
            "ratio.relay_vs_raw_publish": ">= 0.5",
            "store.append_single_p50_ms": "<= 2.0",
            "ratio.backtest_candles_vs_reference": "> 1.0",
        },
    }
    RESULTS.write_text(json.dumps(existing, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    results = asyncio.run(main())
    write(results)
    print(json.dumps(results, indent=2))
