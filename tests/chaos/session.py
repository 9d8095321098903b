"""The chaos session: recorded market data through the real service processes.

Market data is recorded once (exchange_sim scripted into a compression then a breakout on
ETHUSDT and a fake-out on SOLUSDT, read by the real ingest through ccxt), then written into the
store of each run slice by slice (`Recording.slices`), each slice once the decision services
have handled the one before. Every run therefore decides over the same inputs in the same
order; what the services derive from them carries ids derived from those inputs, so runs (and
the in-memory reference, reference.py) can be compared by id. Live market data still flows
too: an ingest process reads BNBUSDT from the exchange_sim process the orders go to, where
websocket drops and 429 storms hit it and the execution service; that data feeds no decision of
the recorded symbols, because under faults it may differ.
"""

from __future__ import annotations

import gzip
import sys
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import msgspec

from breakout.common.config import InfraSettings
from breakout.common.events import NewEvent, RecordedEvent, StoredEvent, decode_wire, encode_wire
from breakout.common.events.regime import REGIME_STREAM
from breakout.common.presets import Preset
from breakout.common.store.port import StreamAppend
from breakout.common.store.postgres import PostgresEventStore
from breakout.exchange_sim.scenario import breakout, fakeout, quiet
from breakout.exchange_sim.state import wall_clock_ms
from breakout.exchange_sim.testing import running_sim
from breakout.features.config import FeaturesConfig
from tests.integration.ingest_support import ingest_config, running_ingest, wait_until
from tests.integration.stacks import fresh_database
from tests.integration.test_signals_pipeline import itest_preset
from tests.support.short_session import short_features_config
from tests.support.trading import regime

RECORDED_VENUE = "chaosrec"  # the venue name of the recorded market data
LIVE_VENUE = "chaoslive"  # the venue name of the live feed
DECIDED = ("ETHUSDT", "SOLUSDT")  # the recorded symbols the decision services trade
LIVE = ("BNBUSDT",)  # not the features reference symbol (BTCUSDT): no live input reaches a decision
QUIET_S = 600
SCRIPTS = {
    "ETHUSDT": [quiet(QUIET_S), breakout(120, move_bps=60)],
    "SOLUSDT": [quiet(QUIET_S), fakeout(60, move_bps=30)],
}
RECORD_SPEED = 80.0
RECORD_SIM_S = QUIET_S + 180  # past the breakout (about 540 s in), the fake-out and their bars
OURS = ("chaos-ours-key", "chaos-ours-secret")
OPENING = {"USDT": Decimal(100_000)}
RECORDING = Path(__file__).parent / "data" / "session.jsonl.gz"
SLICE_S = 120.0  # market time written between two waits for the decision services


@dataclass(frozen=True)
class Recording:
    """The market data every run starts from, and the configuration that reads it."""

    events: list[RecordedEvent]
    preset: Preset
    features: FeaturesConfig

    def regime(self) -> StreamAppend:
        """A regime allowing the preset, recorded before any market data."""
        allow = NewEvent(
            event_id=uuid.uuid5(uuid.NAMESPACE_URL, "breakout-chaos/regime"),
            data=regime("RISK_ON", presets=(self.preset.name,)),
            occurred_at=self.events[0].occurred_at,
            producer="chaos",
        )
        return StreamAppend(stream=REGIME_STREAM, events=[allow])

    def slices(self, slice_s: float = SLICE_S) -> list[list[StreamAppend]]:
        """The recording cut into slices of `slice_s` of market time, each as appends (same
        ids, same order). A run writes one slice, then waits until every decision service has
        handled everything before writing the next: the services see market data and each
        other's outputs in the same order in every run, as they would live within a slice."""
        slices: list[list[StreamAppend]] = []
        start = self.events[0].occurred_at.timestamp()
        current = -1
        for event in self.events:
            index = int((event.occurred_at.timestamp() - start) // slice_s)
            if index != current:
                slices.append([])
                current = index
            new = event.as_new()
            appends = slices[-1]
            if appends and appends[-1].stream == event.stream:
                last = appends[-1]
                appends[-1] = StreamAppend(stream=last.stream, events=[*last.events, new])
            else:
                appends.append(StreamAppend(stream=event.stream, events=[new]))
        return slices


def load_recording(path: Path = RECORDING) -> Recording:
    """The committed recording (`python -m tests.chaos.record` makes a new one)."""
    with gzip.open(path, "rb") as lines:
        events = [decode_wire(line).decode() for line in lines if line.strip()]
    return Recording(events=events, preset=chaos_preset(), features=short_features_config())


def save_recording(recording: Recording, path: Path = RECORDING) -> None:
    """Write the recording's events as gzipped JSON lines (the bus's wire format)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file, gzip.GzipFile(fileobj=file, mode="wb", mtime=0) as out:
        for event in recording.events:
            raw = StoredEvent(
                position=event.position,
                stream=event.stream,
                version=event.version,
                event_id=event.event_id,
                type=event.type,
                occurred_at=event.occurred_at,
                recorded_at=event.recorded_at,
                producer=event.producer,
                causation_id=event.causation_id,
                correlation_id=event.correlation_id,
                data=msgspec.Raw(msgspec.json.encode(event.data)),
            )
            out.write(encode_wire(raw) + b"\n")


async def record_market(infra: InfraSettings) -> Recording:
    """Record the scripted market through the real ingest (about 20 s of wall time)."""
    start_ms = (wall_clock_ms() // 60_000 + 1) * 60_000  # bars line up with the phases
    async with (
        fresh_database(infra) as dsn,
        running_sim(
            list(DECIDED),
            seed=11,
            speed=RECORD_SPEED,
            trade_rate_multiplier=0.1,
            history_days=0.01,
            start_ms=start_ms,
            scripts=SCRIPTS,
        ) as sim,
    ):
        config = ingest_config(
            sim.base_url,
            RECORDED_VENUE,
            {"pair": DECIDED},
            "pair",
            candle_history_bars=10,
            check_candles=False,
        )
        async with running_ingest(config, dsn):

            async def done() -> bool:
                return sim.exchange.now_ms >= start_ms + RECORD_SIM_S * 1000

            await wait_until(done, timeout_s=180.0, every_s=0.5)
        store = await PostgresEventStore.connect(dsn)
        try:
            events = await store.read_all(limit=1_000_000)
        finally:
            await store.close()
    market = [e for e in events if e.stream.startswith("md.")]
    return Recording(events=market, preset=chaos_preset(), features=short_features_config())


def chaos_preset() -> Preset:
    """The signals pipeline test's preset, with the lowest reward/risk the schema allows, so a
    signal of the scripted breakout becomes an order more often than not (the money checks
    then have something to check)."""
    preset = itest_preset()
    risk = msgspec.structs.replace(preset.risk, min_reward_risk=0.5)
    return msgspec.structs.replace(preset, risk=risk)


def script(name: str) -> str:
    """The console script `name` of this virtualenv."""
    return str(Path(sys.executable).parent / name)


def write_preset(directory: Path, preset: Preset) -> Path:
    """The preset as a file the services load by name."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{preset.name}.json"
    path.write_bytes(msgspec.json.encode(preset))
    return path
