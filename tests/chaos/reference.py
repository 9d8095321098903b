"""The clean reference for the services whose inputs are the recording alone: the features and
signals cores, under their service names, over the in-memory store, fed slice by slice exactly
as a run feeds the real processes. What they derive is what every run must hold, id for id."""

from __future__ import annotations

import msgspec

from breakout.common.clock import SimulatedClock
from breakout.common.events import RecordedEvent
from breakout.common.runtime.application import ProcessApplication
from breakout.common.store import InMemoryEventStore
from breakout.features.app import consumer_name as features_consumer
from breakout.features.core import FeaturesCore
from breakout.signals.config import SignalsConfig
from breakout.signals.config import consumer_name as signals_consumer
from breakout.signals.core import SignalsCore
from tests.chaos.session import DECIDED, RECORDED_VENUE, Recording


def consumer_names(recording: Recording) -> tuple[str, str]:
    """The durable names the features and signals processes of a run take."""
    features = msgspec.structs.replace(recording.features, symbols=DECIDED)
    signals = SignalsConfig(preset=recording.preset.name, exchange=RECORDED_VENUE, symbols=DECIDED)
    return features_consumer(features, None), signals_consumer(recording.preset, signals)


async def reference_outputs(recording: Recording) -> list[RecordedEvent]:
    """Every event the features and signals cores derive from the recording, in order."""
    store = InMemoryEventStore(SimulatedClock())
    features_name, signals_name = consumer_names(recording)
    config = msgspec.structs.replace(recording.features, symbols=DECIDED)
    features = ProcessApplication(features_name, FeaturesCore(config), store, None)
    signals = ProcessApplication(
        signals_name, SignalsCore(recording.preset, RECORDED_VENUE, DECIDED), store, None
    )
    await store.append_bulk([recording.regime()])
    for appends in recording.slices():
        await store.append_bulk(appends)
        await features.catch_up()
        await signals.catch_up()
    produced = await store.read_all(limit=10_000_000)
    return [e for e in produced if e.producer in (features_name, signals_name)]
