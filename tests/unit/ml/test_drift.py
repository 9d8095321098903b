"""Population stability index on known distributions."""

from __future__ import annotations

import math

import msgspec
import numpy as np
import pytest

from breakout.ml.artifact import reference_bins
from breakout.ml.drift import PSI_ALERT, drift, psi, shares
from breakout.signals.mlfeatures import FEATURE_NAMES, signal_features
from breakout.signals.mlmodel import Bins, Manifest
from tests.unit.ml.factories import samples


def test_psi_of_known_shares() -> None:
    assert psi([0.25] * 4, [0.25] * 4) == 0.0
    # (0.9 - 0.5) ln(0.9 / 0.5) + (0.1 - 0.5) ln(0.1 / 0.5)
    expected = 0.4 * math.log(1.8) + 0.4 * math.log(5.0)
    assert psi([0.5, 0.5], [0.9, 0.1]) == pytest.approx(expected)
    # An empty bin is floored at 1e-4, not infinite.
    assert math.isfinite(psi([0.5, 0.5], [1.0, 0.0]))
    with pytest.raises(ValueError, match="bins"):
        psi([0.5, 0.5], [1.0])


def test_reference_deciles_and_shares_of_the_same_population() -> None:
    values = np.arange(1000, dtype=np.float64)
    bins = reference_bins(values)
    assert len(bins.edges) == 9 and bins.fractions == pytest.approx([0.1] * 10, abs=0.002)
    assert psi(bins.fractions, shares(bins, values)) == pytest.approx(0.0, abs=1e-9)
    shifted = shares(bins, values + 300)  # 30 % of the mass moves past the top edge
    assert psi(bins.fractions, shifted) > 0.25
    constant = reference_bins(np.full(50, 2.0))
    assert constant.edges == [2.0] and constant.fractions == [0.0, 1.0]


def manifest_of(reference: dict[str, Bins]) -> Manifest:
    return Manifest(
        name="m",
        version=1,
        created_at="",
        features=list(FEATURE_NAMES),
        label="",
        data_hash="",
        samples=0,
        positives=0,
        model_sha256="",
        libraries={},
        models=[],
        reference=reference,
    )


def test_drift_flags_the_features_that_moved() -> None:
    train = [s.signal for s in samples(80)]
    x = np.asarray([signal_features(s) for s in train])
    manifest = manifest_of({n: reference_bins(x[:, i]) for i, n in enumerate(FEATURE_NAMES)})
    same = drift(manifest, train)
    assert all(not row.alert for row in same) and all(row.count == 80 for row in same)
    moved = [msgspec.structs.replace(s, confidence=0.99) for s in train]
    rows = {r.feature: r for r in drift(manifest, moved)}
    assert rows["confidence"].alert and rows["confidence"].psi > PSI_ALERT
    assert not rows["risk_pct"].alert
    with pytest.raises(ValueError, match="no live signals"):
        drift(manifest, [])
