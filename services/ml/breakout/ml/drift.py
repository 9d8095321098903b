"""Feature drift: the population stability index (PSI) of live signals against training.

For one feature, with the training shares `e_i` of the manifest's reference bins and the live
shares `a_i` of the same bins:

    PSI = Σ (a_i - e_i) · ln(a_i / e_i)        (shares floored at 1e-4, so an empty bin counts)

The alert threshold is 0.15 (the integration guide's): by the usual reading, below 0.1 the
population is stable, 0.1 to 0.25 it moved, above 0.25 it is another population; 0.15 asks for
a look (retraining) before the shift is large. Live features are computed by the same
`signal_features` from the `SignalGenerated` events recorded in the store.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import msgspec
import numpy as np

from breakout.common.events.sig import SignalGenerated
from breakout.common.store.port import EventFilter
from breakout.common.store.postgres import PostgresEventStore
from breakout.ml.artifact import bin_index
from breakout.signals.mlfeatures import FEATURE_NAMES, signal_features
from breakout.signals.mlmodel import Bins, Manifest

PSI_ALERT = 0.15
FLOOR = 1e-4


class FeatureDrift(msgspec.Struct, frozen=True, kw_only=True):
    """One feature's PSI over `count` live signals, and whether it is above the alert."""

    feature: str
    psi: float
    count: int
    alert: bool


def psi(expected: Sequence[float], actual: Sequence[float]) -> float:
    """The PSI of two share vectors over the same bins (module docstring)."""
    if len(expected) != len(actual):
        raise ValueError(f"{len(expected)} expected bins vs {len(actual)} actual bins")
    total = 0.0
    for raw_e, raw_a in zip(expected, actual, strict=True):
        e, a = max(raw_e, FLOOR), max(raw_a, FLOOR)
        total += (a - e) * math.log(a / e)
    return total


def shares(bins: Bins, values: np.ndarray) -> list[float]:
    """The share of `values` in each of the reference's bins."""
    counts = np.bincount(bin_index(bins.edges, values), minlength=len(bins.edges) + 1)
    return [float(c) / max(1, len(values)) for c in counts]


def drift(
    manifest: Manifest, signals: Sequence[SignalGenerated], threshold: float = PSI_ALERT
) -> list[FeatureDrift]:
    """Every feature's PSI, live signals against the manifest's reference, largest first."""
    if not signals:
        raise ValueError("no live signals in the window: nothing to compare")
    x = np.asarray([signal_features(s) for s in signals], dtype=np.float64)
    rows = []
    for i, name in enumerate(FEATURE_NAMES):
        bins = manifest.reference.get(name)
        if bins is None:
            raise ValueError(f"the manifest has no reference distribution for {name!r}")
        value = psi(bins.fractions, shares(bins, x[:, i]))
        rows.append(FeatureDrift(feature=name, psi=value, count=len(x), alert=value > threshold))
    return sorted(rows, key=lambda r: (-r.psi, r.feature))


async def stored_signals(
    dsn: str, since_ms: int, until_ms: int | None = None, preset: str | None = None
) -> list[SignalGenerated]:
    """The `SignalGenerated` events in the store with `since_ms <= ts_ms < until_ms`."""
    store = await PostgresEventStore.connect(dsn)
    found: list[SignalGenerated] = []
    wanted = EventFilter(types=(SignalGenerated.type_tag(),))
    try:
        cursor = 0
        while True:
            batch = await store.read_all(after=cursor, limit=5000, filter=wanted)
            for event in batch:
                cursor = event.position
                item = event.data
                if not isinstance(item, SignalGenerated) or item.ts_ms < since_ms:
                    continue
                if until_ms is not None and item.ts_ms >= until_ms:
                    continue
                if preset is None or item.preset == preset:
                    found.append(item)
            if len(batch) < 5000:
                return found
    finally:
        await store.close()
